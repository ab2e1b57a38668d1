"""A bargain's starter and its helpers are shown as links to their profiles (``{% person %}``)."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_bargain_page_links_the_starter_and_every_helper(client, finished, buyer, friends):
    html = client.get(reverse("deals_bargains:detail", args=[finished.public_id])).content.decode()
    for person in [buyer, *friends[:3]]:
        profile = reverse("accounts:profile", args=[person.public_id])
        assert f'<a class="person" href="{profile}">' in html
