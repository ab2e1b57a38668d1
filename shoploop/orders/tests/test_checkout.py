"""Checkout: an order per shop, one payment, stock reserved with an expiry, idempotency."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import DomainError
from shoploop.core.idempotency import IdempotencyKeyReused
from shoploop.ledger.models import Payment
from shoploop.ledger.services import payments
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import CartLine, Checkout, Order, OrderLine

pytestmark = pytest.mark.django_db


def _stock(sku):
    return SKU.objects.get(pk=sku.pk).stock


def test_checkout_makes_an_order_per_shop_and_one_payment(buyer, sku, other_sku, place):
    checkout = place((sku, 2), (other_sku, 1))
    orders = list(checkout.orders.order_by("pk"))
    assert [order.shop for order in orders] == [sku.product.shop, other_sku.product.shop]
    assert [order.total_fen for order in orders] == [11800, 1999]
    assert checkout.total_fen == 13799
    payment = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    assert payment.amount == 13799 and payment.reference == f"checkout:{checkout.public_id}"
    assert all(order.state == Order.State.PENDING_PAYMENT for order in orders)
    assert (_stock(sku), _stock(other_sku)) == (8, 4)
    assert not CartLine.objects.exists()


def test_order_lines_snapshot_title_options_and_price(buyer, sku, place):
    checkout = place((sku, 3))
    line = OrderLine.objects.get(order__checkout=checkout)
    assert (line.title, line.options, line.unit_price_fen, line.quantity) == (
        "手冲咖啡豆",
        {"重量": "250g"},
        5900,
        3,
    )
    SKU.objects.filter(pk=sku.pk).update(price_fen=1)  # later price changes do not touch it
    line.refresh_from_db()
    assert line.unit_price_fen == 5900 and line.paid_fen == 17700


def test_reservation_expires_after_the_configured_minutes(buyer, sku, place, settings):
    settings.ORDER_RESERVATION_MINUTES = 15
    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 2))
    assert checkout.expires_at == start + timedelta(minutes=15)
    settle_due(start + timedelta(minutes=14))
    assert Order.objects.get(checkout=checkout).state == Order.State.PENDING_PAYMENT
    assert _stock(sku) == 8
    settle_due(start + timedelta(minutes=15))
    order = Order.objects.get(checkout=checkout)
    assert order.state == Order.State.CANCELLED and order.cancel_reason == "expired"
    assert _stock(sku) == 10
    payment = Payment.objects.get(public_id=checkout.payment_public_id)
    assert payment.state == Payment.State.CANCELED
    settle_due(start + timedelta(minutes=30))  # idempotent
    assert _stock(sku) == 10


def test_out_of_stock_reserves_nothing(buyer, sku, other_sku, place, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=5)
    SKU.objects.filter(pk=other_sku.pk).update(stock=4)  # someone else bought one meanwhile
    address = ship_to(buyer)
    with pytest.raises(DomainError) as caught:
        services.checkout(buyer=buyer, address_public_id=address)
    assert caught.value.code == "out_of_stock" and "手工皂" in str(caught.value.message)
    assert (_stock(sku), _stock(other_sku)) == (10, 4)
    assert not Checkout.objects.exists() and not Payment.objects.exists()
    assert CartLine.objects.count() == 2


def test_empty_cart_cannot_check_out(buyer, ship_to):
    with pytest.raises(DomainError) as caught:
        services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    assert caught.value.code == "cart_empty"


def test_product_taken_off_sale_blocks_checkout(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    SKU.objects.filter(pk=sku.pk).update(is_active=False)
    with pytest.raises(DomainError) as caught:
        services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    assert caught.value.code == "not_on_sale"
    assert _stock(sku) == 10 and not Order.objects.exists()


def test_anonymous_cannot_check_out():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(DomainError) as caught:
        services.checkout(buyer=AnonymousUser())
    assert caught.value.status == 401


def test_idempotent_checkout_same_key_same_body(buyer, sku, ship_to):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    address = ship_to(buyer)
    first, replayed_first = services.checkout_idempotently(
        buyer=buyer, key="k-1", address_public_id=address
    )
    second, replayed_second = services.checkout_idempotently(
        buyer=buyer, key="k-1", address_public_id=address
    )
    assert first == second and not replayed_first and replayed_second
    assert Checkout.objects.count() == 1 and _stock(sku) == 9


def test_idempotent_checkout_other_body_is_409(buyer, sku, ship_to, make_address):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.checkout_idempotently(buyer=buyer, key="k-1", address_public_id=ship_to(buyer))
    with pytest.raises(IdempotencyKeyReused):
        services.checkout_idempotently(
            buyer=buyer, key="k-1", coupons={"x": "y"}, address_public_id=ship_to(buyer)
        )
    with pytest.raises(IdempotencyKeyReused):
        services.checkout_idempotently(
            buyer=buyer, key="k-1", address_public_id=make_address(buyer).public_id
        )
    assert Checkout.objects.count() == 1


def test_payment_success_pays_orders_and_holds_money_per_shop(buyer, sku, other_sku, place, pay):
    checkout = place((sku, 1), (other_sku, 1))
    pay(checkout)
    orders = list(checkout.orders.order_by("pk"))
    assert all(order.state == Order.State.PAID and order.has_hold for order in orders)
    from shoploop.ledger.models import Account

    pending = Account.objects.get(code=f"merchant_pending:shop:{sku.product.shop.public_id}")
    assert pending.credits_pending == 5900
    assert _stock(sku) == 9  # the reservation became the sale
    assert verify_ledger().ok


def test_replayed_success_changes_nothing(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)
    replay = services.record_payment_success(
        reference=checkout.reference, payment_public_id=checkout.payment_public_id
    )
    assert replay == 0
    assert Order.objects.get(checkout=checkout).hold_version == 0
    assert verify_ledger().ok


def test_wrong_amount_is_refused_by_payments_and_nothing_is_paid(buyer, sku, place, pay):
    checkout = place((sku, 1))
    payment = pay(checkout, amount=1)
    assert payment.captured_fen == 0
    assert Order.objects.get(checkout=checkout).state == Order.State.PENDING_PAYMENT
    assert verify_ledger().ok


def test_payment_after_expiry_is_refunded(buyer, sku, place, pay, committed):
    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 1))
    settle_due(start + timedelta(minutes=16))
    with committed():
        payment = pay(checkout)
    payment.refresh_from_db()
    assert payment.refunded_fen == payment.captured_fen == 5900
    assert Order.objects.get(checkout=checkout).state == Order.State.CANCELLED
    assert verify_ledger().ok


def test_success_for_a_cancelled_order_refunds_it(buyer, sku, other_sku, place, pay):
    """The payment was captured before the cancel could cancel it (the event still queued)."""
    checkout = place((sku, 1), (other_sku, 1))
    first, second = checkout.orders.order_by("pk")
    services.cancel_order(order=first, actor=buyer)
    payment = pay(checkout)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (Order.State.CANCELLED, Order.State.PAID)
    assert first.refunded_fen == 5900 and payment.refunded_fen == 5900
    assert verify_ledger().ok


def test_failed_payment_leaves_the_orders_payable(
    buyer, sku, place, django_capture_on_commit_callbacks
):
    from shoploop.core.ids import new_public_id
    from shoploop.ledger.providers.base import FAILED, CallbackEvent

    checkout = place((sku, 2))
    with django_capture_on_commit_callbacks(execute=True):
        payments.record_payment_event(
            provider="sandbox",
            event=CallbackEvent(
                event_id=f"evt_{new_public_id()}",
                payment_public_id=checkout.payment_public_id,
                kind=FAILED,
                amount=checkout.total_fen,
            ),
        )
    order = Order.objects.get(checkout=checkout)
    assert order.state == Order.State.PENDING_PAYMENT
    assert order.events.filter(kind="payment_failed").exists()
    assert _stock(sku) == 8  # still reserved for the buyer until the deadline


def test_discount_allocation_sums_exactly():
    shares = services._allocate_discount([100, 200, 301], 7)
    assert sum(shares) == 7 and all(s <= a for s, a in zip(shares, [100, 200, 301], strict=True))
    assert services._allocate_discount([1, 1, 1], 2) == [1, 1, 0]


def test_a_lost_success_event_is_settled_at_expiry_instead_of_cancelling(buyer, sku, place):
    from shoploop.core.ids import new_public_id
    from shoploop.ledger.providers.base import SUCCEEDED, CallbackEvent

    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 1))
    # Captured, but the commit callbacks (event delivery) never run here: the event is "lost".
    payments.record_payment_event(
        provider="sandbox",
        event=CallbackEvent(
            event_id=f"evt_{new_public_id()}",
            payment_public_id=checkout.payment_public_id,
            kind=SUCCEEDED,
            amount=checkout.total_fen,
        ),
    )
    assert Order.objects.get(checkout=checkout).state == Order.State.PENDING_PAYMENT
    settle_due(start + timedelta(minutes=16))
    assert Order.objects.get(checkout=checkout).state == Order.State.PAID
    assert _stock(sku) == 9
    assert verify_ledger().ok


def test_events_for_other_references_are_ignored():
    assert services.record_payment_success(reference="deal:abc", payment_public_id="x") == 0
    assert services.record_payment_success(reference="checkout:nope", payment_public_id="x") == 0
    assert services.record_payment_failure(reference="deal:abc") == 0
