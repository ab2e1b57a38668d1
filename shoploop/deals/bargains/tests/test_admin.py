"""The operators' bargain pages, and ending a campaign from the admin through the service."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from shoploop.catalog.models import SKU
from shoploop.deals.bargains.models import BargainCampaign


@pytest.fixture(autouse=True)
def _english(english):
    """Read English labels."""


def test_every_bargain_page_renders(client, operator, finished):
    client.force_login(operator)
    for name in ("bargaincampaign", "bargain", "help"):
        url = reverse(f"admin:deals_bargains_{name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": finished.public_id}).status_code == 200
    page = client.get(reverse("admin:deals_bargains_bargain_change", args=[finished.pk]))
    assert page.status_code == 200 and "¥10.00" in page.content.decode()  # at the floor
    assert finished.seed not in page.content.decode()
    help_row = finished.helps.first()
    help_page = client.get(reverse("admin:deals_bargains_help_change", args=[help_row.pk]))
    assert help_page.status_code == 200


def test_ending_campaigns_from_the_admin_gives_unsold_units_back_once(client, operator, campaign):
    client.force_login(operator)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    url = reverse("admin:deals_bargains_bargaincampaign_changelist")
    action = {"action": "end_now", ACTION_CHECKBOX_NAME: [campaign.pk]}
    response = client.post(url, action, follow=True)
    assert "1 done." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == BargainCampaign.State.ENDED and campaign.stock_left == 0
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + campaign.stock_total
    client.post(url, action)  # again: already ended, nothing moves twice
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + campaign.stock_total


def test_the_operator_who_ended_a_campaign_is_recorded(client, operator, campaign):
    from django.contrib.admin.models import LogEntry

    from shoploop.core.events import recorded_events

    client.force_login(operator)
    url = reverse("admin:deals_bargains_bargaincampaign_changelist")
    with recorded_events() as events:
        client.post(url, {"action": "end_now", ACTION_CHECKBOX_NAME: [campaign.pk]})
    entry = LogEntry.objects.get(object_id=str(campaign.pk))
    assert entry.user_id == operator.pk and entry.change_message == "Ended by an operator."
    ended = [e.payload for e in events if e.name == "bargains.campaign.ended"]
    assert [payload["ended_by"] for payload in ended] == [operator.public_id]


def test_a_stranger_who_is_not_staff_cannot_end_a_campaign(campaign, make_user):
    from shoploop.core.errors import PermissionDenied
    from shoploop.deals.bargains import services

    with pytest.raises(PermissionDenied):
        services.end_campaign(campaign=campaign, actor=make_user())
    campaign.refresh_from_db()
    assert campaign.state != BargainCampaign.State.ENDED
