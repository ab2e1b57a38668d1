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
