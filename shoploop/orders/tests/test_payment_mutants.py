"""A payment's outcome for the checkout's orders, pinned where mutation testing of
``shoploop/orders/services/payment.py`` found the tests silent (docs/mutation.md): the hold's
key, accounts, amount and reason, the paid time and events, the refunds' keys, amounts and
reasons, the failure's events and count, and a new attempt's payment row."""

import logging
from datetime import timedelta

import pytest
from django.db import transaction

from shoploop.core import clock
from shoploop.core.errors import Conflict
from shoploop.core.ids import new_public_id
from shoploop.core.models import OutboxEvent
from shoploop.ledger.models import Account, Payment, Refund, Transfer
from shoploop.ledger.providers.base import FAILED, SUCCEEDED
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import CartLine, Checkout, Order
from shoploop.orders.tests.conftest import claim_fixed_coupon

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _report(payment_public_id, kind, *, amount=None):
    """The provider's answer, recorded without delivering the "ledger.payment.*" event (no
    commit in a test): the orders are settled by the direct call that follows."""
    payment = payments.payment_by_public_id(public_id=payment_public_id)
    report_payment(payment, kind=kind, amount=amount)
    payment.refresh_from_db()
    return payment


def _events(name):
    return list(OutboxEvent.objects.filter(name=name).order_by("pk"))


def _succeed(checkout):
    return services.record_payment_success(
        reference=checkout.reference, payment_public_id=checkout.payment_public_id
    )


# --- success -------------------------------------------------------------------------------


def test_success_pays_every_order_holds_its_total_toward_its_shop_and_says_so(
    buyer, sku, other_sku, place
):
    checkout = place((sku, 1), (other_sku, 2))
    payment = _report(checkout.payment_public_id, SUCCEEDED)
    now = clock.now().replace(microsecond=0)
    with clock.frozen_at(now):
        assert _succeed(checkout) == 2
    escrow = payments.escrow_account(payment)
    for order in checkout.orders.order_by("pk").select_related("shop"):
        assert order.state == Order.State.PAID
        assert order.paid_at == now and order.has_hold
        hold = Transfer.objects.get(idempotency_key=f"order:{order.public_id}:hold")
        pending = Account.objects.get(code=f"merchant_pending:shop:{order.shop.public_id}")
        assert (hold.kind, hold.amount, hold.reason, hold.cause) == (
            "pending",
            order.total_fen,
            "order_hold",
            order.ref,
        )
        assert (hold.debit_account_id, hold.credit_account_id) == (escrow.pk, pending.pk)
        assert sorted(order.events.values_list("kind", flat=True)) == ["paid", "placed"]
    paid = _events("orders.order.paid")
    assert [e.payload["order_public_id"] for e in paid] == [
        o.public_id for o in checkout.orders.order_by("pk")
    ]
    assert paid[0].aggregate == f"orders.order:{paid[0].payload['order_public_id']}"
    assert not _events("orders.order.awaiting_deal")
    assert not Refund.objects.exists()
    assert verify_ledger().ok


def test_success_is_refused_for_another_reference_payment_or_a_deals_checkout(buyer, sku, place):
    checkout = place((sku, 1))
    _report(checkout.payment_public_id, SUCCEEDED)
    public_id = checkout.public_id
    for reference, payment_id in (
        (public_id, checkout.payment_public_id),  # no "checkout:" prefix
        (f"order:{public_id}", checkout.payment_public_id),
        (None, checkout.payment_public_id),
        (f"checkout:{new_public_id()}", checkout.payment_public_id),
        (checkout.reference, new_public_id()),  # not this checkout's payment
        (checkout.reference, ""),
    ):
        assert (
            services.record_payment_success(reference=reference, payment_public_id=payment_id) == 0
        )
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="group:x")
    assert _succeed(checkout) == 0
    order = checkout.orders.get()
    assert order.state == Order.State.PENDING_PAYMENT and not order.has_hold
    assert not Transfer.objects.filter(reason="order_hold").exists()
    assert not Refund.objects.exists()
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="")
    assert _succeed(checkout) == 1


def test_a_payment_that_is_not_the_checkouts_total_is_refunded_whole(buyer, sku, place):
    checkout = place((sku, 1))
    Checkout.objects.filter(pk=checkout.pk).update(total_fen=checkout.total_fen + 1)
    payment = _report(checkout.payment_public_id, SUCCEEDED)
    assert payment.captured_fen == checkout.total_fen
    assert _succeed(checkout) == 0
    refund = Refund.objects.get()
    assert (refund.amount, refund.key, refund.reason) == (
        checkout.total_fen,
        f"{checkout.reference}:mismatch",
        "mismatch",
    )
    order = checkout.orders.get()
    assert order.state == Order.State.PENDING_PAYMENT and order.paid_at is None
    assert not Transfer.objects.filter(reason="order_hold").exists()
    # Replayed: the same refund key, nothing more.
    assert _succeed(checkout) == 0
    assert Refund.objects.count() == 1


def test_only_pending_orders_are_paid_and_only_cancelled_ones_refunded(
    buyer, sku, other_sku, place
):
    checkout = place((sku, 1), (other_sku, 1))
    first, second = checkout.orders.order_by("pk")
    services.cancel_order(order=first, actor=buyer)
    payment = _report(checkout.payment_public_id, SUCCEEDED)
    assert _succeed(checkout) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.paid_at, first.has_hold) == (Order.State.CANCELLED, None, False)
    assert second.state == Order.State.PAID
    refund = Refund.objects.get()
    assert (refund.amount, refund.key, refund.reason) == (
        first.total_fen,
        f"{first.ref}:refund:late",
        "cancelled",
    )
    assert first.refunded_fen == first.total_fen and second.refunded_fen == 0
    refunded = first.events.get(kind="refunded")
    assert refunded.note == "Paid after cancellation; refunded in full."
    (event,) = _events("orders.order.refunded")
    assert event.payload["order_public_id"] == first.public_id
    assert event.payload["amount_fen"] == first.total_fen
    assert not second.events.filter(kind="refunded").exists()
    # A replay: the paid order stays paid, the refunded one is not refunded again.
    assert _succeed(checkout) == 0
    assert Refund.objects.count() == 1 and len(_events("orders.order.refunded")) == 1
    assert first.events.filter(kind="refunded").count() == 1
    payment.refresh_from_db()
    assert payment.refunded_fen == first.total_fen
    assert verify_ledger().ok


def test_a_paid_order_cancelled_later_is_not_refunded_by_a_replayed_success(buyer, sku, place):
    checkout = place((sku, 1))
    _report(checkout.payment_public_id, SUCCEEDED)
    assert _succeed(checkout) == 1
    order = checkout.orders.get()
    Order.objects.filter(pk=order.pk).update(state=Order.State.CANCELLED)
    assert _succeed(checkout) == 0
    assert not Refund.objects.filter(key__endswith=":refund:late").exists()


# --- failure -------------------------------------------------------------------------------


def test_a_failure_counts_the_orders_still_waiting_and_tells_each(buyer, sku, other_sku, place):
    checkout = place((sku, 1), (other_sku, 1))
    first, second = checkout.orders.order_by("pk")
    services.cancel_order(order=first, actor=buyer)
    # Still waiting for the buyer: not a failure.
    assert (
        services.record_payment_failure(
            reference=checkout.reference, payment_public_id=checkout.payment_public_id
        )
        == 0
    )
    assert not _events("orders.order.payment_failed")
    _report(checkout.payment_public_id, FAILED)
    for reference in (checkout.public_id, None, f"checkout:{new_public_id()}"):
        assert services.record_payment_failure(reference=reference) == 0
    assert services.record_payment_failure(reference=checkout.reference) == 1
    note = second.events.get(kind="payment_failed").note
    assert note == "You can pay again until the deadline."
    assert not first.events.filter(kind="payment_failed").exists()
    (event,) = _events("orders.order.payment_failed")
    assert event.payload["order_public_id"] == second.public_id
    assert event.payload["payment_public_id"] == checkout.payment_public_id
    second.refresh_from_db()
    assert second.state == Order.State.PENDING_PAYMENT


def test_a_failure_of_a_deals_checkout_is_the_deals_to_handle(buyer, sku, place):
    checkout = place((sku, 1))
    _report(checkout.payment_public_id, FAILED)
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="group:x")
    assert services.record_payment_failure(reference=checkout.reference) == 0
    assert not _events("orders.order.payment_failed")


def test_a_cancelled_payment_is_a_failure_too(buyer, sku, other_sku, place):
    checkout = place((sku, 1), (other_sku, 1))
    Payment.objects.filter(public_id=checkout.payment_public_id).update(
        state=Payment.State.CANCELED
    )
    assert (
        services.record_payment_failure(
            reference=checkout.reference, payment_public_id=checkout.payment_public_id
        )
        == 2
    )


# --- a new attempt ---------------------------------------------------------------------------


def test_a_new_attempt_copies_the_payment_and_is_keyed_by_its_number(buyer, sku, place):
    checkout = place((sku, 1))
    first = payments.payment_by_public_id(public_id=checkout.payment_public_id)
    _report(first.public_id, FAILED)
    order = checkout.orders.get()
    retried = services.retry_payment(order=order, actor=buyer)
    second = Payment.objects.get(public_id=retried.payment_public_id)
    assert second.idempotency_key == f"{checkout.reference}:attempt:2"
    assert second.description == first.description != ""
    assert (second.amount, second.reference) == (checkout.total_fen, checkout.reference)
    assert second.payer_id == buyer.pk
    stored = Checkout.objects.get(pk=checkout.pk)
    assert (stored.payment_public_id, stored.payment_attempts) == (second.public_id, 2)
    Payment.objects.filter(pk=second.pk).update(state=Payment.State.CANCELED)
    third = services.retry_payment(order=order, actor=buyer)
    assert third.payment_attempts == 3
    assert Payment.objects.get(public_id=third.payment_public_id).idempotency_key == (
        f"{checkout.reference}:attempt:3"
    )


def test_a_new_attempt_refusals_say_why(buyer, sku, place):
    start = clock.now()
    with clock.frozen_at(start):
        checkout = place((sku, 1))
    order = checkout.orders.get()
    _report(checkout.payment_public_id, FAILED)
    expires_at = Checkout.objects.get(pk=checkout.pk).expires_at
    with clock.frozen_at(expires_at), pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "reservation_expired"
    assert str(caught.value.message) == "The time to pay has run out; the order will be cancelled."
    with clock.frozen_at(expires_at - timedelta(microseconds=1)):
        assert services.retry_payment(order=order, actor=buyer).payment_attempts == 2
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="group:x")
    Payment.objects.filter(public_id=Checkout.objects.get().payment_public_id).update(
        state=Payment.State.FAILED
    )
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "deal_order"
    assert str(caught.value.message) == "This order belongs to a running deal; see the deal's page."
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="")
    Payment.objects.filter(public_id=Checkout.objects.get().payment_public_id).update(
        state=Payment.State.SUCCEEDED
    )
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "payment_processing"
    assert str(caught.value.message) == "Your payment is being processed; please wait a moment."
    Order.objects.filter(pk=order.pk).update(state=Order.State.CANCELLED)
    with pytest.raises(Conflict) as caught:
        services.retry_payment(order=order, actor=buyer)
    assert caught.value.code == "nothing_to_pay"
    assert str(caught.value.message) == "There is nothing left to pay here."
    assert Payment.objects.count() == 2


def test_success_pays_this_checkouts_orders_only(buyer, sku, place):
    checkout = place((sku, 1))
    other = place((sku, 1))
    _report(checkout.payment_public_id, SUCCEEDED)
    assert _succeed(checkout) == 1
    assert other.orders.get().state == Order.State.PENDING_PAYMENT
    assert checkout.orders.get().state == Order.State.PAID


def test_a_paid_order_keeps_its_hold_in_memory_and_a_deals_order_awaits_it(buyer, sku, place):
    """``_mark_paid`` is shared with the deal orders, which go on with the same object."""
    checkout = place((sku, 1))
    payment = _report(checkout.payment_public_id, SUCCEEDED)
    order = checkout.orders.select_related("shop").get()
    assert services._hold_key(order, 0) == f"order:{order.public_id}:hold"
    assert services._hold_key(order, 3) == f"order:{order.public_id}:hold:3"
    with transaction.atomic():
        services._mark_paid(order=order, payment=payment, state=Order.State.AWAITING_DEAL)
    assert (order.state, order.has_hold) == (Order.State.AWAITING_DEAL, True)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.state, stored.paid_at, stored.has_hold) == (
        Order.State.AWAITING_DEAL,
        order.paid_at,
        True,
    )
    assert stored.paid_at is not None
    assert [e.payload["order_public_id"] for e in _events("orders.order.awaiting_deal")] == [
        order.public_id
    ]
    assert not _events("orders.order.paid")


def test_one_fen_cancelled_and_paid_is_refunded(buyer, make_sku, shop, other_sku, place):
    cheap = make_sku(shop=shop, price_fen=1)
    checkout = place((cheap, 1), (other_sku, 1))
    order = checkout.orders.get(shop=shop)
    assert order.total_fen == 1
    services.cancel_order(order=order, actor=buyer)
    _report(checkout.payment_public_id, SUCCEEDED)
    assert _succeed(checkout) == 1
    refund = Refund.objects.get()
    assert (refund.amount, refund.key) == (1, f"{order.ref}:refund:late")


def test_the_log_names_a_mismatch_and_an_unknown_checkout(buyer, sku, place, caplog):
    checkout = place((sku, 1))
    Checkout.objects.filter(pk=checkout.pk).update(total_fen=checkout.total_fen + 1)
    payment = _report(checkout.payment_public_id, SUCCEEDED)
    with caplog.at_level(logging.ERROR, logger="shoploop.orders.services"):
        _succeed(checkout)
        unknown = f"checkout:{new_public_id()}"
        services.record_payment_success(reference=unknown, payment_public_id="pay_x")
    assert [r.getMessage() for r in caplog.records] == [
        f"payment {payment.public_id} captured {checkout.total_fen} but checkout "
        f"{checkout.public_id} totals {checkout.total_fen + 1}; refunding it whole",
        f"payment pay_x for unknown checkout {unknown}",
    ]


def test_a_failure_tells_this_checkouts_orders_only(buyer, sku, place):
    checkout = place((sku, 1))
    other = place((sku, 1))
    _report(checkout.payment_public_id, FAILED)
    assert services.record_payment_failure(reference=checkout.reference) == 1
    assert not other.orders.get().events.filter(kind="payment_failed").exists()


# --- the unpaid cancellation ---------------------------------------------------------------


def test_expiry_cancels_this_checkouts_unpaid_orders_and_says_why(
    buyer, other_user, sku, other_sku, place
):
    start = clock.now().replace(microsecond=0)
    with clock.frozen_at(start):
        checkout = place((sku, 2), (other_sku, 1))
    with clock.frozen_at(start + timedelta(minutes=10)):
        later = place((sku, 1))
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=4)
    first, second = checkout.orders.order_by("pk")
    services.cancel_order(order=second, actor=buyer)
    due = start + timedelta(minutes=16)
    assert services.expire_unpaid_checkouts(now=due) == 1
    first.refresh_from_db()
    assert (first.state, first.cancel_reason) == (Order.State.CANCELLED, "expired")
    assert first.cancelled_at is not None
    cancelled = first.events.get(kind="cancelled")
    assert (cancelled.actor, cancelled.note) == (None, "Not paid in time")
    by_buyer = second.events.get(kind="cancelled")
    assert (by_buyer.actor, by_buyer.note) == (buyer, "Cancelled by the buyer")
    reasons = {
        e.payload["order_public_id"]: e.payload["reason"] for e in _events("orders.order.cancelled")
    }
    assert reasons == {first.public_id: "expired", second.public_id: "buyer"}
    assert later.orders.get().state == Order.State.PENDING_PAYMENT
    # The expired items came back to the buyer's cart only, not to another cart of that SKU.
    assert CartLine.objects.get(cart__user=other_user).quantity == 4
    assert CartLine.objects.get(cart__user=buyer, sku=sku).quantity == 2


def test_a_cancelled_order_has_its_time(buyer, sku, place):
    checkout = place((sku, 1))
    now = clock.now().replace(microsecond=0)
    with clock.frozen_at(now):
        services.cancel_order(order=checkout.orders.get(), actor=buyer)
    assert checkout.orders.get().cancelled_at == now


def test_a_deals_cancelled_order_gives_its_units_back_to_its_owner(buyer, sku, place, monkeypatch):
    from shoploop.orders.services import payment as payment_services

    given = []
    monkeypatch.setitem(payment_services._deal_stock_owners, "test", lambda **kw: None)
    services.register_deal_stock_owner(
        "test", lambda *, order, quantity: given.append((order, quantity))
    )
    checkout = place((sku, 1))
    Checkout.objects.filter(pk=checkout.pk).update(deal_ref="test:campaign:1")
    order = Order.objects.get(checkout=checkout)  # its checkout read again, with the deal
    with transaction.atomic():
        payment_services._cancel_unpaid(order=order, reason="deal_failed", actor=None)
    assert [(o.pk, q) for o, q in given] == [(order.pk, 1)]


def test_units_refunded_before_shipping_are_not_given_back_twice(
    buyer, sku, make_sku, shop, place, monkeypatch
):
    from shoploop.orders.models import OrderLine
    from shoploop.orders.services import payment as payment_services

    second_sku = make_sku(shop=shop, title="滤挂")
    checkout = place((sku, 2), (second_sku, 1))
    OrderLine.objects.filter(order__checkout=checkout, sku=sku).update(refunded_quantity=2)
    order = Order.objects.get(checkout=checkout)
    with transaction.atomic():
        payment_services._cancel_unpaid(order=order, reason="merchant", actor=None)
    sku.refresh_from_db()
    second_sku.refresh_from_db()
    assert (sku.stock, second_sku.stock) == (8, 10)
    # A deal's order whose units were all refunded gives nothing back to its deal.
    given = []
    monkeypatch.setitem(payment_services._deal_stock_owners, "test", lambda **kw: given.append(kw))
    deal = place((sku, 1))
    Checkout.objects.filter(pk=deal.pk).update(deal_ref="test:campaign:2")
    OrderLine.objects.filter(order__checkout=deal).update(refunded_quantity=1)
    with transaction.atomic():
        payment_services._cancel_unpaid(
            order=Order.objects.get(checkout=deal), reason="deal_failed", actor=None
        )
    assert given == []


def test_cancelling_an_unpaid_order_gives_its_coupon_back(buyer, sku, shop, place):
    from shoploop.coupons.models import CouponClaim

    claim = claim_fixed_coupon(
        shop,
        buyer,
        amount_off_fen=1000,
        min_spend_fen=5000,
        name="满50减10",
        total_quantity=10,
        days=3,
    )
    checkout = place((sku, 1), coupons={shop.public_id: claim.public_id})
    assert CouponClaim.objects.get(pk=claim.pk).order_ref
    services.cancel_order(order=checkout.orders.get(), actor=buyer)
    assert CouponClaim.objects.get(pk=claim.pk).order_ref is None
