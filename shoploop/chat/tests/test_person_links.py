"""Chat participants are shown as links to their profiles (``{% person %}``): the person a
private conversation is with, and every message's sender."""

import pytest
from django.urls import reverse

from shoploop.chat.models import Conversation

pytestmark = pytest.mark.django_db


def test_a_private_conversation_links_the_other_person_and_the_senders(client, friends):
    a, b = friends
    client.force_login(a)
    client.post(reverse("chat:start_direct", args=[b.public_id]))
    chat = Conversation.objects.get(kind="direct")
    client.post(reverse("chat:conversation", args=[chat.public_id]), {"text": "你好"})
    html = client.get(reverse("chat:conversation", args=[chat.public_id])).content.decode()
    for person in (a, b):
        profile = reverse("accounts:profile", args=[person.public_id])
        assert f'<a class="person" href="{profile}">' in html
