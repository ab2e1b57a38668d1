"""Coupons at checkout: one per shop's order, priced by the server, given back when unpaid."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError
from shoploop.coupons.models import CouponClaim
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import Checkout, Order
from shoploop.orders.tests.conftest import claim_fixed_coupon

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(shop, buyer):
    return claim_fixed_coupon(
        shop,
        buyer,
        amount_off_fen=1000,
        min_spend_fen=5000,
        name="满50减10",
        total_quantity=10,
        days=3,
    )


def test_coupon_discounts_its_shops_order_only(buyer, sku, other_sku, shop, claim, place, pay):
    checkout = place((sku, 1), (other_sku, 1), coupons={shop.public_id: claim.public_id})
    first, second = checkout.orders.order_by("pk")
    assert (first.subtotal_fen, first.discount_fen, first.total_fen) == (5900, 1000, 4900)
    assert second.discount_fen == 0
    assert checkout.total_fen == 4900 + 1999
    assert sum(line.paid_fen for line in first.lines.all()) == 4900
    pay(checkout)
    assert verify_ledger().ok


def test_unpaid_expiry_gives_the_coupon_back(buyer, sku, shop, claim, place):
    start = clock.now()
    with clock.frozen_at(start):
        place((sku, 1), coupons={shop.public_id: claim.public_id})
    assert CouponClaim.objects.get(pk=claim.pk).order_ref
    settle_due(start + timedelta(minutes=20))
    assert not CouponClaim.objects.get(pk=claim.pk).order_ref
    assert Order.objects.get().state == Order.State.CANCELLED


def test_cancelling_an_unpaid_order_gives_the_coupon_back(buyer, sku, shop, claim, place):
    checkout = place((sku, 1), coupons={shop.public_id: claim.public_id})
    services.cancel_order(order=checkout.orders.get(), actor=buyer)
    assert not CouponClaim.objects.get(pk=claim.pk).order_ref


def test_coupon_below_minimum_fails_the_whole_checkout(buyer, make_sku, shop, claim, place):
    cheap = make_sku(shop=shop, price_fen=100, title="便宜货")
    with pytest.raises(DomainError) as caught:
        place((cheap, 1), coupons={shop.public_id: claim.public_id})
    assert caught.value.code == "coupon_below_minimum"
    assert not Checkout.objects.exists()
    cheap.refresh_from_db()
    assert cheap.stock == 10


def test_a_used_coupon_cannot_be_used_again(buyer, sku, shop, claim, place):
    place((sku, 1), coupons={shop.public_id: claim.public_id})
    with pytest.raises(DomainError):
        place((sku, 1), coupons={shop.public_id: claim.public_id})
    assert Checkout.objects.count() == 1


def test_someone_elses_coupon_is_refused(other_user, sku, shop, claim, place):
    with pytest.raises(DomainError) as caught:
        place((sku, 1), user=other_user, coupons={shop.public_id: claim.public_id})
    assert caught.value.status == 403
    assert not Checkout.objects.exists()


@pytest.mark.parametrize("coupon_map", ["x", {"shop": 5}, {"nope": "abc"}])
def test_malformed_coupon_choice_is_refused(buyer, sku, place, coupon_map):
    with pytest.raises(DomainError):
        place((sku, 1), coupons=coupon_map)
    assert not Checkout.objects.exists()


def test_confirm_page_offers_usable_coupons_and_checkout_applies_the_choice(
    client, buyer, sku, claim, ship_to
):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)
    client.force_login(buyer)
    html = client.get("/cart/confirm/").content.decode()
    assert f'value="{claim.public_id}"' in html and "满50减10" in html
    field = f"coupon_{sku.product.shop.public_id}"
    client.post(
        "/cart/checkout/",
        {"token": "t-1", "chosen": "1", "address": address, field: claim.public_id},
    )
    assert Order.objects.get().discount_fen == 1000


def test_confirm_page_total_includes_the_selected_coupon(client, buyer, sku, claim, ship_to):
    """The defect "the cart total ignores the selected coupon": the amount to pay is after it."""
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    ship_to(buyer)
    client.force_login(buyer)
    preselected = client.get("/cart/confirm/")
    assert preselected.context["quote"].total_fen == 4900
    assert "¥49.00" in preselected.content.decode()
    field = f"coupon_{sku.product.shop.public_id}"
    without = client.get("/cart/confirm/", {"chosen": "1", field: ""})
    assert without.context["quote"].total_fen == 5900
    chosen = client.get("/cart/confirm/", {"chosen": "1", field: claim.public_id})
    assert chosen.context["quote"].total_fen == 4900
    assert not Checkout.objects.exists()
