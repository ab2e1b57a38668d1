"""Checkout (orders/services/placement.py), pinned where mutation testing showed that a changed
line passed the suite (docs/mutation.md): each refusal's code, message and field, the edges of
the coupon map, the order and payment rows a checkout writes, its events, and what a refused
checkout leaves behind."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.core.idempotency import IdempotencyKeyReused
from shoploop.ledger.models import Payment
from shoploop.orders import services
from shoploop.orders.models import CartLine, Checkout, Order, OrderEvent, OrderLine
from shoploop.orders.services import placement
from shoploop.orders.tests.conftest import claim_fixed_coupon

# The messages are pinned in English (the msgids), whatever the default language.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refusal(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


# --- the coupon map ----------------------------------------------------------------------------


def test_no_coupons_is_an_empty_map():
    assert placement.clean_coupons(None) == {}
    assert placement.clean_coupons({}) == {}


def test_coupon_map_keeps_chosen_claims_and_drops_empty_ones():
    assert placement.clean_coupons({"shopA": "c1", "shopB": ""}) == {"shopA": "c1"}


@pytest.mark.parametrize("value", [["c1"], "c1", 3])
def test_a_coupon_choice_that_is_not_a_map_is_refused(value):
    error = _refusal(placement.clean_coupons, coupons=value)
    assert (error.code, error.fields) == ("invalid", {"coupons": "invalid"})
    assert str(error.message) == "Choose at most one coupon per shop."


def test_at_most_one_coupon_per_shop_up_to_the_limit():
    limit = placement.MAX_COUPONS_PER_CHECKOUT
    at_limit = {f"shop{i}": f"c{i}" for i in range(limit)}
    assert placement.clean_coupons(at_limit) == at_limit
    error = _refusal(placement.clean_coupons, coupons={**at_limit, "one_more": "c"})
    assert (error.code, error.fields) == ("invalid", {"coupons": "invalid"})


@pytest.mark.parametrize("value", [{1: "c1"}, {"shopA": 1}, {"shopA": None}, {"shopA": "c" * 41}])
def test_a_malformed_coupon_entry_is_unknown(value):
    error = _refusal(placement.clean_coupons, coupons=value)
    assert (error.code, error.fields) == ("invalid", {"coupons": "invalid"})
    assert str(error.message) == "Unknown coupon."


def test_a_claim_id_of_forty_characters_is_accepted():
    assert placement.clean_coupons({"shopA": "c" * 40}) == {"shopA": "c" * 40}


# --- discounts ---------------------------------------------------------------------------------


def test_discount_is_split_in_proportion_with_the_leftover_to_the_first_lines():
    # floor shares 1, 2, 3 of 7 (6), the leftover fen to the first line
    assert placement._allocate_discount([100, 200, 301], 7) == [2, 2, 3]
    assert placement._allocate_discount([500], 499) == [499]
    assert placement._allocate_discount([300, 300], 0) == [0, 0]


def test_leftover_goes_one_fen_at_a_time_in_line_order():
    # floor shares 1, 0, 0 of 3: the two fen left go to the first two lines, one each
    assert placement._allocate_discount([2, 1, 1], 3) == [2, 1, 0]
    assert placement._allocate_discount([1, 1, 1], 2) == [1, 1, 0]


@pytest.mark.parametrize(
    ("discount", "subtotal", "expected"),
    [(0, 100, 0), (99, 100, 99), (100, 100, 99), (500, 100, 99), (-5, 100, 0), (1, 1, 0)],
)
def test_discount_leaves_at_least_one_fen(discount, subtotal, expected):
    assert placement.capped_discount(discount=discount, subtotal=subtotal) == expected


def test_a_coupon_larger_than_the_order_leaves_one_fen(buyer, shop, make_sku, place):
    cheap = make_sku(shop=shop, price_fen=500)
    claim = claim_fixed_coupon(shop, buyer, amount_off_fen=2000, name="大额券")
    checkout = place((cheap, 1), coupons={shop.public_id: claim.public_id})
    order = checkout.orders.get()
    assert (order.subtotal_fen, order.discount_fen, order.total_fen) == (500, 499, 1)
    assert order.coupon_claim_public_id == claim.public_id
    assert OrderLine.objects.get(order=order).paid_fen == 1
    assert checkout.total_fen == 1


# --- delivery and address ----------------------------------------------------------------------


def test_an_unknown_delivery_method_is_refused():
    error = _refusal(placement.clean_delivery_method, value="teleport")
    assert (error.code, error.fields) == ("delivery_method_invalid", {"delivery_method": "invalid"})
    assert str(error.message) == "Choose a delivery method."


def test_every_delivery_method_is_kept():
    for value in Order.DeliveryMethod.values:
        assert placement.clean_delivery_method(value) == value


def test_checkout_without_an_address_is_refused_and_changes_nothing(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    error = _refusal(services.checkout, buyer=buyer, address_public_id="")
    assert (error.code, error.fields) == ("address_required", {"address_id": "required"})
    assert str(error.message) == "Choose a delivery address."
    assert CartLine.objects.get().quantity == 2
    assert SKU.objects.get(pk=sku.pk).stock == 10 and not Checkout.objects.exists()


def test_checkout_with_a_bad_delivery_method_changes_nothing(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(
        services.checkout,
        buyer=buyer,
        address_public_id=ship_to(buyer),
        delivery_method="teleport",
    )
    assert error.code == "delivery_method_invalid"
    assert CartLine.objects.exists() and not Order.objects.exists()


# --- the cart and its shops --------------------------------------------------------------------


def test_a_buyer_without_a_cart_has_an_empty_cart(buyer, ship_to):
    error = _refusal(services.checkout, buyer=buyer, address_public_id=ship_to(buyer))
    assert (error.code, str(error.message)) == ("cart_empty", "Your cart is empty.")


def test_an_emptied_cart_is_empty(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.remove_from_cart(user=buyer, sku_public_id=sku.public_id)
    error = _refusal(services.checkout, buyer=buyer, address_public_id=ship_to(buyer))
    assert (error.code, str(error.message)) == ("cart_empty", "Your cart is empty.")


def test_one_own_product_in_the_cart_refuses_the_checkout(buyer, sku, merchant, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    CartLine.objects.update(cart=services.cart_for(user=merchant))  # lines moved to the owner
    error = _refusal(services.checkout, buyer=merchant, address_public_id=ship_to(merchant))
    assert (error.code, str(error.message)) == ("own_shop", "You cannot buy from your own shop.")
    assert SKU.objects.get(pk=sku.pk).stock == 10 and not Order.objects.exists()


def test_a_coupon_for_a_shop_not_in_the_cart_is_refused(buyer, sku, other_shop, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(
        services.checkout,
        buyer=buyer,
        coupons={other_shop.public_id: "claim1"},
        address_public_id=ship_to(buyer),
    )
    assert (error.code, error.fields) == ("coupon_shop_not_in_cart", {"coupons": "unknown_shop"})
    assert str(error.message) == "A coupon was chosen for a shop that is not in your cart."
    assert CartLine.objects.exists() and not Order.objects.exists()


def test_sold_out_names_the_sku_and_reserves_nothing(buyer, sku, other_sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=2)
    SKU.objects.filter(pk=other_sku.pk).update(stock=1)
    error = _refusal(services.checkout, buyer=buyer, address_public_id=ship_to(buyer))
    assert (error.code, error.fields) == ("out_of_stock", {"sku_id": other_sku.public_id})
    assert error.status == 409
    assert str(error.message) == "Sorry, “手工皂” is sold out or has fewer left than you want."
    assert SKU.objects.get(pk=sku.pk).stock == 10
    assert CartLine.objects.count() == 2


def test_exactly_the_stock_left_can_be_bought(buyer, other_sku, place):
    place((other_sku, 5))
    assert SKU.objects.get(pk=other_sku.pk).stock == 0


def test_a_reservation_refused_for_another_reason_is_not_sold_out(buyer, sku, ship_to, monkeypatch):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)

    def refuse(**kwargs):
        raise DomainError("nope", code="sku_not_found")

    monkeypatch.setattr(placement.catalog_services, "reserve_stock", refuse)
    error = _refusal(services.checkout, buyer=buyer, address_public_id=ship_to(buyer))
    assert error.code == "sku_not_found"


def test_a_line_changed_during_the_checkout_refuses_it(buyer, sku, ship_to, monkeypatch):
    """The lines are deleted only as they were read: a line changed meanwhile (by a request that
    did not wait for the cart's lock) makes the delete remove fewer rows, and the checkout is
    refused and rolled back whole."""
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    original = placement._claimable_lines

    def read_then_changed(who):
        lines = original(who)
        CartLine.objects.update(quantity=3)
        return lines

    monkeypatch.setattr(placement, "_claimable_lines", read_then_changed)
    with pytest.raises(DomainError) as caught:
        services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    error = caught.value
    assert (error.code, error.status) == ("checkout_in_progress", 409)
    assert str(error.message) == "This cart is already being checked out; see your orders."


def test_claiming_deletes_exactly_the_lines_read(buyer, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    lines = list(CartLine.objects.order_by("pk"))
    placement._claim_lines(lines)
    assert not CartLine.objects.exists()


def test_claiming_a_line_already_gone_is_refused(buyer, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    lines = list(CartLine.objects.order_by("pk"))
    lines[1].delete()
    with pytest.raises(DomainError) as caught:
        placement._claim_lines(lines)
    assert caught.value.code == "checkout_in_progress"


# --- what a checkout writes --------------------------------------------------------------------


def test_checkout_rows_and_events(buyer, sku, other_sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    start = clock.now()
    with clock.frozen_at(start), recorded_events() as events:
        checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    checkout.refresh_from_db()
    assert checkout.buyer == buyer and checkout.created_at == start
    assert checkout.expires_at == start + timedelta(minutes=placement.reservation_minutes())
    orders = list(checkout.orders.order_by("pk"))
    # one order per shop, in shop order
    assert [o.shop_id for o in orders] == sorted(o.shop_id for o in orders)
    assert {o.shop_id: o.total_fen for o in orders} == {
        sku.product.shop_id: 11800,
        other_sku.product.shop_id: 1999,
    }
    for order in orders:
        assert order.buyer == buyer and order.created_at == start
        assert order.reservation_expires_at == checkout.expires_at
        assert order.discount_fen == 0 and order.subtotal_fen == order.total_fen
        assert order.coupon_claim_public_id == ""
        assert order.delivery_method == Order.DeliveryMethod.DELIVERY
        assert order.ship_recipient and order.ship_street
        placed = OrderEvent.objects.get(order=order)
        assert (placed.kind, placed.actor) == ("placed", buyer)
    line = OrderLine.objects.get(sku=sku)
    assert (line.product_public_id, line.title, line.options) == (
        sku.product.public_id,
        "手冲咖啡豆",
        {"重量": "250g"},
    )
    assert (line.unit_price_fen, line.quantity, line.paid_fen) == (5900, 2, 11800)
    payment = Payment.objects.get(public_id=checkout.payment_public_id)
    assert (payment.payer, payment.amount) == (buyer, 13799)
    assert payment.reference == f"checkout:{checkout.public_id}"
    assert payment.description == "Shoploop order " + ", ".join(o.public_id for o in orders)
    placed_events = [e for e in events if e.name == "orders.order.placed"]
    assert [e.payload for e in placed_events] == [
        {
            "order_public_id": o.public_id,
            "buyer_public_id": buyer.public_id,
            "shop_public_id": o.shop.public_id,
            "total_fen": o.total_fen,
            "checkout_public_id": checkout.public_id,
        }
        for o in orders
    ]


def test_a_replayed_checkout_returns_the_first(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)
    first, replayed = services.checkout_idempotently(
        buyer=buyer, key="k-1", address_public_id=address
    )
    assert not replayed and isinstance(first, Checkout)
    again, replayed = services.checkout_idempotently(
        buyer=buyer, key="k-1", address_public_id=address
    )
    assert replayed and again.pk == first.pk
    # the same key by another buyer is another checkout scope
    assert Checkout.objects.count() == 1


def test_a_key_replays_with_the_delivery_method_it_was_sent_with(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)
    first, _ = services.checkout_idempotently(
        buyer=buyer, key="k-2", address_public_id=address, delivery_method="delivery"
    )
    again, replayed = services.checkout_idempotently(
        buyer=buyer, key="k-2", address_public_id=address
    )
    assert replayed and again.pk == first.pk
    # a method that is not the default counts in the body: a new one refuses the replay
    with pytest.raises(IdempotencyKeyReused):
        services.checkout_idempotently(
            buyer=buyer, key="k-2", address_public_id=address, delivery_method="pickup"
        )


def test_an_idempotent_checkout_passes_coupons_on(buyer, sku, shop, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(
        services.checkout_idempotently,
        buyer=buyer,
        key="k-3",
        coupons={"not-a-shop-in-the-cart": "c1"},
        address_public_id=ship_to(buyer),
    )
    assert error.code == "coupon_shop_not_in_cart"


def test_anonymous_cannot_check_out_idempotently():
    from django.contrib.auth.models import AnonymousUser

    error = _refusal(services.checkout_idempotently, buyer=AnonymousUser(), key="k")
    assert error.status == 401 and not Checkout.objects.exists()


def test_the_stored_fingerprint_is_of_the_fields_sent(buyer, sku, ship_to):
    """A key is remembered with the fingerprint of what was sent (``coupons``, and
    ``address_id`` / ``delivery_method`` only when sent), so a replay after a deployment that
    added a field still matches: the names are part of the contract."""
    from shoploop.core.idempotency import fingerprint_of
    from shoploop.core.models import IdempotencyRecord

    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)
    created, _ = services.checkout_idempotently(buyer=buyer, key="k-4", address_public_id=address)
    record = IdempotencyRecord.objects.get(key="k-4")
    assert (record.response_status, record.response_body) == (
        201,
        {"checkout_id": created.public_id},
    )
    assert record.scope == f"orders.checkout:{buyer.pk}"
    assert record.fingerprint == fingerprint_of({"coupons": {}, "address_id": address})


def test_the_fingerprint_names_a_delivery_method_other_than_the_default(buyer, monkeypatch):
    from shoploop.core.idempotency import fingerprint_of

    seen = []

    def remember(**kwargs):
        seen.append((kwargs["scope"], kwargs["fingerprint"]))
        raise DomainError("stop here")

    monkeypatch.setattr(placement, "run_idempotent", remember)
    with pytest.raises(DomainError):
        services.checkout_idempotently(
            buyer=buyer, key="k-5", address_public_id="a1", delivery_method="pickup"
        )
    body = {"coupons": {}, "address_id": "a1", "delivery_method": "pickup"}
    assert seen == [(f"orders.checkout:{buyer.pk}", fingerprint_of(body))]


def test_an_idempotent_checkout_passes_the_delivery_method_on(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(
        services.checkout_idempotently,
        buyer=buyer,
        key="k-6",
        address_public_id=ship_to(buyer),
        delivery_method="pickup",
    )
    # Passed on: a delivery checkout with this address would succeed; pickup needs a point.
    assert error.code == "pickup_point_required"
    assert not Order.objects.exists()


def test_an_idempotent_checkout_without_an_address_needs_one(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(services.checkout_idempotently, buyer=buyer, key="k-7")
    assert error.code == "address_required"


def test_claiming_leaves_other_carts_lines_of_the_same_quantity(buyer, other_user, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=2)
    mine = list(CartLine.objects.filter(cart__user=buyer))
    placement._claim_lines(mine)
    assert list(CartLine.objects.values_list("cart__user", "quantity")) == [(other_user.pk, 2)]


# --- the checkout's own defaults and reads -------------------------------------------------------


def test_a_checkout_that_names_no_address_needs_one(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    error = _refusal(services.checkout, buyer=buyer)
    assert (error.code, error.fields) == ("address_required", {"address_id": "required"})


def test_a_pickup_that_names_no_point_needs_one(member_buyer, point):
    error = _refusal(
        placement.shipping_fields,
        buyer=member_buyer,
        address_public_id="",
        delivery_method="pickup",
    )
    assert (error.code, error.fields) == ("pickup_point_required", {"pickup_point_id": "required"})


def test_a_deal_confirm_may_name_a_pickup_point_in_place_of_an_address(member_buyer, point):
    chosen = placement.buyer_address(
        buyer=member_buyer, address_public_id=f"pickup:{point.public_id}"
    )
    assert chosen == point


def test_a_pickup_point_of_a_community_one_is_not_in_is_not_found(point, make_user):
    outsider = make_user()
    error = _refusal(
        placement.buyer_address, buyer=outsider, address_public_id=f"pickup:{point.public_id}"
    )
    assert error.code == "pickup_point_not_found"


def test_the_reservation_lasts_exactly_its_minutes_from_the_checkout(buyer, sku, ship_to, settings):
    settings.ORDER_RESERVATION_MINUTES = 20
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    checkout.refresh_from_db()
    assert checkout.expires_at - checkout.created_at == timedelta(minutes=20)


def test_the_cart_lines_are_read_with_their_shops(buyer, sku, other_sku, ship_to):
    """One read of the lines with their SKUs, products and shops: none is fetched per line."""
    for item in (sku, other_sku):
        services.add_to_cart(user=buyer, sku_public_id=item.public_id, quantity=1)
    address = ship_to(buyer)
    with CaptureQueriesContext(connection) as queries:
        services.checkout(buyer=buyer, address_public_id=address)
    reads_of_one_shop = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "catalog_shop" WHERE' in query["sql"]
    ]
    assert reads_of_one_shop == []


def test_the_orders_are_created_at_their_checkouts_moment(buyer, sku, other_sku, ship_to):
    for item in (sku, other_sku):
        services.add_to_cart(user=buyer, sku_public_id=item.public_id, quantity=1)
    checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    checkout.refresh_from_db()
    assert {order.created_at for order in checkout.orders.all()} == {checkout.created_at}


def test_a_leaders_commission_is_capped_at_the_order_after_its_discount(
    member_buyer, point, shop, merchant, make_sku
):
    services.update_shop_pickup_settings(
        actor=merchant, shop=shop, offers_pickup=True, leader_commission_fen=500
    )
    cheap = make_sku(shop=shop, price_fen=600, title="一袋米")
    claim = claim_fixed_coupon(shop, member_buyer, amount_off_fen=200, name="立减两元")
    services.add_to_cart(user=member_buyer, sku_public_id=cheap.public_id, quantity=1)
    checkout = services.checkout(
        buyer=member_buyer,
        coupons={shop.public_id: claim.public_id},
        delivery_method="pickup",
        pickup_point_public_id=point.public_id,
    )
    order = checkout.orders.get()
    assert (order.total_fen, order.leader_commission_fen) == (400, 400)


def test_a_pickup_checkouts_fingerprint_names_its_point(buyer, monkeypatch):
    from shoploop.core.idempotency import fingerprint_of

    seen = []

    def remember(**kwargs):
        seen.append(kwargs["fingerprint"])
        raise DomainError("stop here")

    monkeypatch.setattr(placement, "run_idempotent", remember)
    with pytest.raises(DomainError):
        services.checkout_idempotently(
            buyer=buyer, key="k-8", delivery_method="pickup", pickup_point_public_id="p1"
        )
    body = {"coupons": {}, "delivery_method": "pickup", "pickup_point_id": "p1"}
    assert seen == [fingerprint_of(body)]
