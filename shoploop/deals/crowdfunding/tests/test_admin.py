"""The operators' crowdfunding pages, and settling a project past its deadline from the admin
(through ``decide_outcome`` and ``settle_pledges_of``)."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from shoploop.core import clock
from shoploop.deals.crowdfunding.models import Pledge, Project
from shoploop.ledger.verification import verify_ledger


@pytest.fixture(autouse=True)
def _english(english):
    """Read English labels."""


def test_every_crowdfunding_page_renders(client, operator, project, backers, back_and_pay):
    pledge = back_and_pay(project.tiers.first(), backers[0])
    client.force_login(operator)
    for name in ("project", "pledge"):
        url = reverse(f"admin:deals_crowdfunding_{name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": project.public_id}).status_code == 200
    listing = client.get(reverse("admin:deals_crowdfunding_pledge_changelist"), {"state": "active"})
    assert pledge.public_id in listing.content.decode()
    page = client.get(reverse("admin:deals_crowdfunding_project_change", args=[project.pk]))
    assert page.status_code == 200 and "¥99.00" in page.content.decode()
    pledge_page = client.get(reverse("admin:deals_crowdfunding_pledge_change", args=[pledge.pk]))
    assert pledge_page.status_code == 200


def test_settling_from_the_admin_refunds_a_failed_project_and_leaves_a_live_one(
    client, operator, make_project, backers, back_and_pay
):
    failing = make_project(target_value=10_000_000, days=3)
    live = make_project(days=30)
    pledge = back_and_pay(failing.tiers.first(), backers[0])
    client.force_login(operator)
    url = reverse("admin:deals_crowdfunding_project_changelist")
    with clock.frozen_at(clock.now() + timedelta(days=4)):
        response = client.post(
            url, {"action": "settle_now", ACTION_CHECKBOX_NAME: [failing.pk, live.pk]}, follow=True
        )
    assert "1 done." in response.content.decode()
    failing.refresh_from_db()
    live.refresh_from_db()
    pledge.refresh_from_db()
    assert failing.state == Project.State.FAILED and failing.settled_at is not None
    assert pledge.state == Pledge.State.REFUNDED
    assert live.state == Project.State.LIVE and live.settled_at is None
    assert verify_ledger().ok
    # Who settled it is in the project's admin history; the live one has none.
    from django.contrib.admin.models import LogEntry

    assert [(e.object_id, e.user_id) for e in LogEntry.objects.all()] == [
        (str(failing.pk), operator.pk)
    ]
