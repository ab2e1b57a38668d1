"""Buying a bargain goes through the confirm step: the initiator's address is required (a
missing or foreign one takes nothing: the bargain stays active, no unit, no order) and copied
onto the order; the page and POST /api/v1/deals/quote show the current price and the address."""

import pytest
from django.urls import reverse

from shoploop.core.errors import NotFound, PermissionDenied, ValidationFailed
from shoploop.core.money import format_fen
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Bargain, BargainCampaign
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


def _nothing_taken(bargain) -> None:
    row = Bargain.objects.get(pk=bargain.pk)
    assert row.state == Bargain.State.ACTIVE and row.order_id is None
    campaign = BargainCampaign.objects.get(pk=bargain.campaign_id)
    assert campaign.stock_left == campaign.stock_total
    assert not Order.objects.filter(buyer=bargain.initiator).exists()


@pytest.mark.parametrize("whose", ["none", "unknown", "someone_else"])
def test_buying_without_an_own_address_takes_nothing(finished, buyer, friends, whose):
    address_id = {
        "none": "",
        "unknown": "nosuchaddress",
        "someone_else": address_id_for(friends[0]),
    }[whose]
    error = ValidationFailed if whose == "none" else NotFound
    with pytest.raises(error) as refused:
        services.buy(bargain=finished, user=buyer, address_id=address_id)
    assert refused.value.code == ("address_required" if whose == "none" else "address_not_found")
    _nothing_taken(finished)


def test_the_order_ships_to_the_chosen_address(finished, buyer, make_address):
    chosen = make_address(buyer, recipient_name="王五")
    order = services.buy(bargain=finished, user=buyer, address_id=chosen.public_id)
    assert order.ship_recipient == "王五" and order.ship_district_code == chosen.district_code
    assert order.total_fen == finished.campaign.floor_price_fen


def test_the_confirm_page_shows_the_current_price_and_the_address(client, finished, buyer, english):
    address_id_for(buyer)
    client.force_login(buyer)
    html = client.get(reverse("deals_bargains:buy", args=[finished.public_id])).content.decode()
    assert 'data-testid="amount-to-pay">' + format_fen(finished.current_price_fen) in html
    assert "收件人" in html and 'data-testid="confirm-and-pay"' in html
    assert "disabled" not in html.split('data-testid="confirm-and-pay"')[1].split(">")[0]
    _nothing_taken(finished)


def test_only_the_initiator_sees_the_confirm_page(client, finished, friends):
    client.force_login(friends[0])
    assert client.get(reverse("deals_bargains:buy", args=[finished.public_id])).status_code == 403


def test_posting_without_an_address_shows_the_error_and_takes_nothing(
    client, finished, buyer, english
):
    client.force_login(buyer)
    url = reverse("deals_bargains:buy", args=[finished.public_id])
    page = client.post(url, follow=True)
    assert page.redirect_chain[-1][0] == url
    assert "Choose a delivery address." in page.content.decode()
    _nothing_taken(finished)


def test_the_bargain_page_buy_button_leads_to_the_confirm_page(client, finished, buyer):
    client.force_login(buyer)
    html = client.get(reverse("deals_bargains:detail", args=[finished.public_id])).content.decode()
    assert f'href="{reverse("deals_bargains:buy", args=[finished.public_id])}"' in html


def test_quote_and_buy_through_the_api(api, finished, buyer, friends):
    address_id = address_id_for(buyer)
    body = {"kind": "bargain_buy", "id": finished.public_id}
    quote = api.post("/deals/quote", body, user=buyer).json()
    assert quote["total_fen"] == finished.current_price_fen
    assert quote["address"]["id"] == address_id and quote["can_confirm"] is True
    assert api.post("/deals/quote", body, user=friends[0]).status_code == 403

    path = f"/deals/bargains/{finished.public_id}/buy"
    missing = api.post(path, {}, user=buyer)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "address_required"
    _nothing_taken(finished)
    bought = api.post(path, {"address_id": address_id}, user=buyer)
    assert bought.status_code == 201, bought.content
    assert Order.objects.get(public_id=bought.json()["order_id"]).ship_recipient == "收件人"


def test_a_stranger_cannot_buy_even_with_an_address(finished, friends):
    with pytest.raises(PermissionDenied):
        services.buy(bargain=finished, user=friends[0], address_id=address_id_for(friends[0]))
    _nothing_taken(finished)
