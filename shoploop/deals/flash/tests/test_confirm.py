"""A flash buy goes through the confirm step: the buyer's address is required (a missing or
foreign one takes nothing: no quota, no unit, no order) and copied onto the order; the page and
POST /api/v1/deals/quote show the units, the flash price, the address and the amount to pay."""

import pytest
from django.urls import reverse

from shoploop.core.errors import Conflict, NotFound, ValidationFailed
from shoploop.core.money import format_fen
from shoploop.deals.flash import services
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


def _nothing_taken(sale) -> None:
    fresh = FlashSale.objects.get(pk=sale.pk)
    assert fresh.available == fresh.stock
    assert not FlashPurchase.objects.filter(sale=sale).exists()
    assert not FlashQuota.objects.filter(sale=sale, bought__gt=0).exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize("whose", ["none", "unknown", "someone_else"])
def test_buying_without_an_own_address_takes_nothing(sale, buyer, other_user, whose):
    address_id = {"none": "", "unknown": "x", "someone_else": address_id_for(other_user)}[whose]
    with pytest.raises((ValidationFailed, NotFound)) as refused:
        services.buy(sale=sale, user=buyer, address_id=address_id)
    assert refused.value.code == ("address_required" if whose == "none" else "address_not_found")
    _nothing_taken(sale)


def test_the_order_ships_to_the_chosen_address(make_sale, buyer, make_address):
    sale = make_sale(limit=2)
    chosen = make_address(buyer, recipient_name="赵六")
    purchase = services.buy(sale=sale, user=buyer, address_id=chosen.public_id, quantity=2)
    order = Order.objects.get(pk=purchase.order_id)
    assert order.ship_recipient == "赵六" and order.total_fen == 2 * sale.price_fen


def test_the_idempotency_key_covers_the_address(sale, buyer, make_address):
    first = make_address(buyer)
    second = make_address(buyer, recipient_name="另一位")
    kept, _replayed = services.buy_idempotently(
        sale=sale, user=buyer, key="k1", address_id=first.public_id
    )
    again, replayed = services.buy_idempotently(
        sale=sale, user=buyer, key="k1", address_id=first.public_id
    )
    assert replayed and again.pk == kept.pk
    with pytest.raises(Conflict) as other_body:
        services.buy_idempotently(sale=sale, user=buyer, key="k1", address_id=second.public_id)
    assert other_body.value.code == "idempotency_key_reused"


def test_the_confirm_page_shows_units_price_and_address(client, make_sale, buyer, english):
    sale = make_sale(limit=3)
    address_id_for(buyer)
    client.force_login(buyer)
    url = reverse("deals_flash:buy", args=[sale.public_id])
    html = client.get(url, {"quantity": 2}).content.decode()
    assert 'data-testid="amount-to-pay">' + format_fen(2 * sale.price_fen) in html
    assert 'name="quantity" value="2"' in html and "收件人" in html
    _nothing_taken(sale)


def test_a_sold_out_sale_says_so_on_the_confirm_page(client, make_sale, buyer, other_user, english):
    sale = make_sale(stock=1)
    services.buy(sale=sale, user=other_user, address_id=address_id_for(other_user))
    client.force_login(buyer)
    address_id_for(buyer)
    html = client.get(reverse("deals_flash:buy", args=[sale.public_id])).content.decode()
    assert 'data-testid="deal-refusal">Sold out.' in html
    assert 'data-testid="confirm-and-pay" disabled' in html


def test_posting_without_an_address_shows_the_error_and_takes_nothing(client, sale, buyer, english):
    client.force_login(buyer)
    url = reverse("deals_flash:buy", args=[sale.public_id])
    page = client.post(url + "?quantity=1", {"quantity": "1"}, follow=True)
    assert page.redirect_chain[-1][0] == url + "?quantity=1"
    assert "Choose a delivery address." in page.content.decode()
    _nothing_taken(sale)


def test_the_sale_page_buy_form_asks_for_the_confirm_page(client, sale, buyer):
    client.force_login(buyer)
    html = client.get(reverse("deals_flash:detail", args=[sale.public_id])).content.decode()
    assert f'method="get" action="{reverse("deals_flash:buy", args=[sale.public_id])}"' in html


def test_quote_and_buy_through_the_api(api, make_sale, buyer):
    sale = make_sale(limit=2)
    address_id = address_id_for(buyer)
    body = {"kind": "flash_buy", "id": sale.public_id, "quantity": 2}
    quote = api.post("/deals/quote", body, user=buyer).json()
    assert (quote["quantity"], quote["total_fen"]) == (2, 2 * sale.price_fen)
    assert quote["address"]["id"] == address_id and quote["refusal"] == ""
    too_many = api.post("/deals/quote", {**body, "quantity": 3}, user=buyer)
    assert too_many.status_code == 422

    path = f"/deals/flash-sales/{sale.public_id}/buy"
    missing = api.post(path, {"quantity": 1}, user=buyer)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "address_required"
    _nothing_taken(sale)
    bought = api.post(path, {"quantity": 1, "address_id": address_id}, user=buyer)
    assert bought.status_code == 201, bought.content
