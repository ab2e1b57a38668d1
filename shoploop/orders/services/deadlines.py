"""Deadline handlers (``settle_due``): expired checkouts, automatic receipt, completion."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from shoploop.ledger.models import Payment
from shoploop.orders.models import (
    AfterSale,
    Checkout,
    Order,
)
from shoploop.orders.services._base import (
    SETTLE_BATCH_SIZE,
    after_sale_days,
    auto_receive_days,
)
from shoploop.orders.services.fulfilment import (
    _mark_received,
    complete_order,
)
from shoploop.orders.services.payment import (
    _cancel_payment_if_nothing_left,
    _cancel_unpaid_orders,
    _lock_payment_of,
    _settle_captured_payment,
)

# --- deadlines (settle_due handlers) ----------------------------------------------------------


def expire_unpaid_checkouts(now) -> int:
    """Cancel orders whose reservation ran out unpaid: stock and coupons back, payment canceled."""
    expired = 0
    while True:
        with transaction.atomic():
            pending = Order.objects.filter(
                checkout=OuterRef("pk"), state=Order.State.PENDING_PAYMENT
            )
            batch = list(
                Checkout.objects.select_for_update(skip_locked=True)
                .filter(Exists(pending), expires_at__lte=now, deal_ref="")
                .order_by("expires_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for checkout_row in batch:
                payment = _lock_payment_of(checkout_row)
                if payment.state == Payment.State.SUCCEEDED:
                    # Its "ledger.payment.succeeded" was lost (a crashed subscriber): settle it now
                    # instead of cancelling orders the buyer has paid for.
                    _settle_captured_payment(checkout_row=checkout_row, payment=payment)
                    continue
                expired += _cancel_unpaid_orders(
                    checkout_row=checkout_row, reason=Order.CancelReason.EXPIRED, actor=None
                )
                _cancel_payment_if_nothing_left(checkout_row)
        if len(batch) < SETTLE_BATCH_SIZE:
            return expired


def auto_receive_shipped(now) -> int:
    """Orders shipped ``ORDER_AUTO_RECEIVE_DAYS`` ago count as received."""
    cutoff = now - timedelta(days=auto_receive_days())
    received = 0
    while True:
        with transaction.atomic():
            batch = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(state=Order.State.SHIPPED, shipped_at__lte=cutoff)
                .order_by("shipped_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for order in batch:
                received += _mark_received(order=order, actor=None, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return received


def complete_due_orders(now) -> int:
    """Complete received orders whose after-sale window closed with nothing open."""
    cutoff = now - timedelta(days=after_sale_days())
    completed = 0
    open_after_sale = AfterSale.objects.filter(
        order=OuterRef("pk"), state__in=AfterSale.OPEN_STATES
    )
    while True:
        with transaction.atomic():
            batch = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(state=Order.State.RECEIVED, received_at__lte=cutoff)
                .filter(~Exists(open_after_sale))
                .order_by("received_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for order in batch:
                completed += complete_order(order=order, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return completed
