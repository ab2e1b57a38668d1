"""Operators deal with reported messages in the admin."""

import pytest
from django.urls import reverse

from shoploop.chat import services
from shoploop.chat.models import MessageReport

pytestmark = pytest.mark.django_db


def test_an_operator_removes_a_reported_message(
    client, operator, member, another_member, community
):
    room = services.open_room(actor=member, community=community)
    message = services.send_message(actor=member, conversation=room, text="骗子链接")
    report = services.report_message(actor=another_member, message=message, reason="fraud")
    client.force_login(operator)
    listing = client.get(reverse("admin:chat_messagereport_changelist"))
    assert listing.status_code == 200 and "骗子链接" in listing.content.decode()
    client.post(
        reverse("admin:chat_messagereport_changelist"),
        {"action": "remove_messages", "_selected_action": [report.pk]},
    )
    message.refresh_from_db()
    assert message.is_removed
    assert MessageReport.objects.get().resolved_at is not None
