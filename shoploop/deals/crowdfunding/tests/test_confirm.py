"""Backing a tier goes through the confirm step: every reward is a physical good, so the
backer's address is required (a missing or foreign one takes nothing: no pledge, no place in
the tier, no order) and copied onto the pledge's order; the page and POST /api/v1/deals/quote
show the tier, its price and the address."""

import pytest
from django.urls import reverse

from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.core.money import format_fen
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, RewardTier
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


def _limited_tier(project) -> RewardTier:
    return project.tiers.get(limit__isnull=False)


def _nothing_taken(project) -> None:
    assert not Pledge.objects.filter(project=project).exists()
    assert _limited_tier(project).claimed == 0
    assert not Order.objects.exists()


@pytest.mark.parametrize("whose", ["none", "unknown", "someone_else"])
def test_backing_without_an_own_address_takes_nothing(project, buyer, other_user, whose):
    address_id = {"none": "", "unknown": "x", "someone_else": address_id_for(other_user)}[whose]
    with pytest.raises((ValidationFailed, NotFound)) as refused:
        services.back(tier=_limited_tier(project), user=buyer, address_id=address_id)
    assert refused.value.code == ("address_required" if whose == "none" else "address_not_found")
    _nothing_taken(project)


def test_the_reward_ships_to_the_chosen_address(project, buyer, make_address):
    chosen = make_address(buyer, recipient_name="钱七")
    pledge = services.back(tier=_limited_tier(project), user=buyer, address_id=chosen.public_id)
    order = Order.objects.get(pk=pledge.order_id)
    assert order.ship_recipient == "钱七" and order.ship_street == chosen.street


def test_the_confirm_page_shows_the_tier_price_and_address(client, project, buyer, english):
    tier = _limited_tier(project)
    address_id_for(buyer)
    client.force_login(buyer)
    html = client.get(reverse("deals_crowdfunding:back", args=[tier.public_id])).content.decode()
    assert 'data-testid="amount-to-pay">' + format_fen(tier.price_fen) in html
    assert tier.title in html and project.title in html and "收件人" in html
    _nothing_taken(project)


def test_posting_without_an_address_shows_the_error_and_takes_nothing(
    client, project, buyer, english
):
    client.force_login(buyer)
    url = reverse("deals_crowdfunding:back", args=[_limited_tier(project).public_id])
    page = client.post(url, follow=True)
    assert page.redirect_chain[-1][0] == url
    assert "Choose a delivery address." in page.content.decode()
    _nothing_taken(project)


def test_the_project_page_back_buttons_lead_to_the_confirm_page(client, project, buyer):
    client.force_login(buyer)
    html = client.get(reverse("deals_crowdfunding:project", args=[project.public_id]))
    tier = _limited_tier(project)
    assert f'href="{reverse("deals_crowdfunding:back", args=[tier.public_id])}"' in (
        html.content.decode()
    )


def test_quote_and_back_through_the_api(api, project, buyer):
    tier = _limited_tier(project)
    address_id = address_id_for(buyer)
    quote = api.post("/deals/quote", {"kind": "pledge", "id": tier.public_id}, user=buyer)
    body = quote.json()
    assert body["total_fen"] == tier.price_fen and body["options"] == {"tier": tier.title}
    assert body["address"]["id"] == address_id
    unknown = api.post("/deals/quote", {"kind": "pledge", "id": "nope"}, user=buyer)
    assert unknown.status_code == 404

    path = f"/deals/crowdfunding/tiers/{tier.public_id}/back"
    missing = api.post(path, {}, user=buyer)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "address_required"
    _nothing_taken(project)
    backed = api.post(path, {"address_id": address_id}, user=buyer)
    assert backed.status_code == 201, backed.content
