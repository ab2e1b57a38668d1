"""A payment's outcome: paid orders hold their money, declined or abandoned ones stay payable
until their reservation ends; unpaid cancellations give stock and coupons back."""

from collections.abc import Callable
from contextlib import suppress

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
)
from shoploop.coupons import services as coupon_services
from shoploop.ledger.errors import PaymentStateConflict
from shoploop.ledger.models import AccountKind, Payment
from shoploop.ledger.services import open_account, payments, transfer
from shoploop.orders.models import (
    MAX_QUANTITY,
    CartLine,
    Checkout,
    Order,
)
from shoploop.orders.services._base import (
    _publish,
    _record,
    _require_buyer,
    logger,
)
from shoploop.orders.services.cart import (
    _locked_cart,
)

# --- payment outcome (contract step 3) --------------------------------------------------------


def _escrow(payment):
    return payments.escrow_account(payment)


def _merchant_account(shop: Shop, kind: str):
    return open_account(kind=kind, owner_ref=f"shop:{shop.public_id}")


def _hold_key(order: Order, version: int) -> str:
    return f"order:{order.public_id}:hold" + (f":{version}" if version else "")


def _payment_of(checkout_row: Checkout):
    return payments.payment_by_public_id(public_id=checkout_row.payment_public_id)


def _lock_payment_of(checkout_row: Checkout):
    """Lock order: checkout, its payment, its orders, then shared rows (accounts, stock).
    Payment callbacks lock the payment and then accounts, so taking the payment right after the
    checkout keeps every path in one order and rules out deadlocks between them. A free deal
    order has no payment: None."""
    if not checkout_row.payment_public_id:
        return None
    return payments.lock_payment(public_id=checkout_row.payment_public_id)


def _refund(*, payment, amount: int, key: str, reason: str) -> None:
    if amount > 0:
        payments.refund(payment=payment, amount=amount, key=key, reason=reason)


def record_payment_success(*, reference: str, payment_public_id: str) -> int:
    """Mark the checkout's orders paid and hold their money toward each shop; refund what can no
    longer be sold (orders cancelled meanwhile, or a payment whose amount is not the checkout's).
    The amount is the payment's captured amount (payments already refused a wrong callback).
    Idempotent: a replayed event changes nothing. Returns how many orders became paid."""
    if not isinstance(reference, str) or not reference.startswith("checkout:"):
        return 0
    public_id = reference.removeprefix("checkout:")
    # A deal's checkout is the deals app's to settle (settle_deal_payment), and a checkout is
    # a deal's from its creation on: one plain read tells, before any transaction or lock.
    deal_ref = Checkout.objects.filter(public_id=public_id).values_list("deal_ref", flat=True)
    if any(deal_ref):
        return 0
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().filter(public_id=public_id).first()
        if checkout_row is None or checkout_row.payment_public_id != payment_public_id:
            logger.error("payment %s for unknown checkout %s", payment_public_id, reference)
            return 0
        if checkout_row.deal_ref:
            return 0  # the deals app settles its own checkouts (settle_deal_payment)
        return _settle_captured_payment(
            checkout_row=checkout_row, payment=_lock_payment_of(checkout_row)
        )


def _settle_captured_payment(*, checkout_row: Checkout, payment) -> int:
    """Under the checkout's lock: pay its pending orders, refund the cancelled ones."""
    if payment.captured_fen != checkout_row.total_fen:
        # Payments refuses a callback whose amount differs from the payment's; this guards the
        # other seam (a payment that is not this checkout's total) and returns the money whole.
        logger.error(
            "payment %s captured %s but checkout %s totals %s; refunding it whole",
            payment.public_id,
            payment.captured_fen,
            checkout_row.public_id,
            checkout_row.total_fen,
        )
        _refund(
            payment=payment,
            amount=payment.captured_fen - payment.refunded_fen,
            key=f"{checkout_row.reference}:mismatch",
            reason="mismatch",
        )
        return 0
    orders = (
        Order.objects.select_for_update(of=("self",))
        .filter(checkout=checkout_row)
        .select_related("shop")
    )
    paid = 0
    for order in orders.order_by("pk"):
        if order.state == Order.State.PENDING_PAYMENT:
            _mark_paid(order=order, payment=payment)
            paid += 1
        elif order.state == Order.State.CANCELLED and order.paid_at is None:
            _refund_late_payment(order=order, payment=payment)
    return paid


def _mark_paid(*, order: Order, payment, state: str = Order.State.PAID) -> None:
    """Under the checkout, payment and order locks, for an order still pending payment: its
    first hold is written with the state change, so no hold can have its key yet."""
    now = clock.now()
    # The reservation becomes the sale: the stock stays taken.
    Order.objects.filter(pk=order.pk, state=Order.State.PENDING_PAYMENT).update(
        state=state, paid_at=now, has_hold=True
    )
    order.state, order.paid_at, order.has_hold = state, now, True
    _record(order, "paid")
    # The hold last: the shop's pending account is shared by every sale of the shop, and its
    # row stays locked from this UPDATE to the commit (all in one transaction either way).
    transfer(
        key=_hold_key(order, 0),
        debit=_escrow(payment),
        credit=_merchant_account(order.shop, AccountKind.MERCHANT_PENDING),
        amount=order.total_fen,
        reason="order_hold",
        cause=order.ref,
        pending=True,
        fresh_key=True,
    )
    _publish(
        "orders.order.paid" if state == Order.State.PAID else "orders.order.awaiting_deal", order
    )


def _refund_late_payment(*, order: Order, payment) -> None:
    """The buyer paid for an order that was cancelled (or expired) in the meantime."""
    if order.refunded_fen == order.total_fen:
        return
    _refund(
        payment=payment, amount=order.total_fen, key=f"{order.ref}:refund:late", reason="cancelled"
    )
    Order.objects.filter(pk=order.pk, refunded_fen=0).update(refunded_fen=order.total_fen)
    _record(order, "refunded", note=str(_("Paid after cancellation; refunded in full.")))
    _publish("orders.order.refunded", order, amount_fen=order.total_fen)


def record_payment_failure(*, reference: str, payment_public_id: str = "") -> int:
    """A declined, abandoned or canceled payment leaves the checkout's orders unpaid and payable
    again (``retry_payment``) until their reservation ends; then ``expire_unpaid_checkouts``
    cancels them. The orders' timelines say the payment was not completed. A failure of an
    earlier attempt (replaced by a newer one) changes nothing. Returns how many orders are still
    waiting for payment."""
    if not isinstance(reference, str) or not reference.startswith("checkout:"):
        return 0
    with transaction.atomic():
        checkout_row = (
            Checkout.objects.select_for_update()
            .filter(public_id=reference.removeprefix("checkout:"))
            .first()
        )
        if checkout_row is None or checkout_row.deal_ref:
            return 0
        if payment_public_id and checkout_row.payment_public_id != payment_public_id:
            return 0  # an earlier attempt: the buyer is already paying with a newer one
        payment = _lock_payment_of(checkout_row)
        if payment.state not in (Payment.State.FAILED, Payment.State.CANCELED):
            return 0
        waiting = list(
            Order.objects.select_for_update()
            .filter(checkout=checkout_row, state=Order.State.PENDING_PAYMENT)
            .order_by("pk")
        )
        for order in waiting:
            _record(order, "payment_failed", note=str(_("You can pay again until the deadline.")))
            _publish("orders.order.payment_failed", order, payment_public_id=payment.public_id)
        return len(waiting)


def retry_payment(*, order: Order, actor) -> Checkout:
    """The buyer's "pay" on an unpaid order: a new payment attempt for its whole checkout, while
    the reservation lasts. An attempt still waiting for the buyer is reused; one the cashier is
    processing is left to finish (``payment_processing``). Each attempt has its own key
    (``checkout:<id>:attempt:<n>``), so a retried request never makes two."""
    _require_buyer(order=order, actor=actor)
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        payment = _lock_payment_of(checkout_row)
        if not checkout_row.orders.filter(state=Order.State.PENDING_PAYMENT).exists():
            raise Conflict(_("There is nothing left to pay here."), code="nothing_to_pay")
        if clock.now() >= checkout_row.expires_at:
            raise Conflict(
                _("The time to pay has run out; the order will be cancelled."),
                code="reservation_expired",
            )
        if payment is not None and payment.state == Payment.State.REQUIRES_PAYMENT:
            return checkout_row
        if checkout_row.deal_ref or payment is None:
            # A deal settles its own payments (a failed one ends the seat or the purchase).
            raise Conflict(
                _("This order belongs to a running deal; see the deal's page."), code="deal_order"
            )
        if payment.state != Payment.State.FAILED and payment.state != Payment.State.CANCELED:
            raise Conflict(
                _("Your payment is being processed; please wait a moment."),
                code="payment_processing",
            )
        attempt = checkout_row.payment_attempts + 1
        new_payment = payments.create_payment(
            payer=actor,
            amount=checkout_row.total_fen,
            reference=checkout_row.reference,
            description=payment.description,
            idempotency_key=f"{checkout_row.reference}:attempt:{attempt}",
        )
        Checkout.objects.filter(pk=checkout_row.pk).update(
            payment_public_id=new_payment.public_id, payment_attempts=attempt
        )
        checkout_row.payment_public_id, checkout_row.payment_attempts = (
            new_payment.public_id,
            attempt,
        )
    return checkout_row


def _cancel_unpaid_orders(*, checkout_row: Checkout, reason: str, actor) -> int:
    orders = list(
        Order.objects.select_for_update()
        .filter(checkout=checkout_row, state=Order.State.PENDING_PAYMENT)
        .order_by("pk")
    )
    for order in orders:
        _cancel_unpaid(order=order, reason=reason, actor=actor)
    return len(orders)


def _cancel_unpaid(*, order: Order, reason: str, actor, release_stock: bool = True) -> None:
    now = clock.now()
    changed = Order.objects.filter(pk=order.pk, state=Order.State.PENDING_PAYMENT).update(
        state=Order.State.CANCELLED, cancel_reason=reason, cancelled_at=now
    )
    if not changed:
        return
    if release_stock and reason == Order.CancelReason.EXPIRED:
        # An abandoned payment does not cost the buyer their cart: the lines come back (before
        # the stock is released: lock order cart, then SKU stock, as in checkout).
        _restore_to_cart(order)
    if release_stock:
        _release_stock(order)
    if order.coupon_claim_public_id:
        coupon_services.release(order_ref=order.ref)
    order.state, order.cancel_reason, order.cancelled_at = Order.State.CANCELLED, reason, now
    _record(order, "cancelled", actor=actor, note=str(Order.CancelReason(reason).label))
    _publish("orders.order.cancelled", order, reason=reason)


def _restore_to_cart(order: Order) -> None:
    """Put an expired cart order's items back in the buyer's cart (quantities add up, at most
    99 per item); the cart page then shows what is no longer on sale or in stock."""
    cart = _locked_cart(user=order.buyer)
    for line in order.lines.filter(sku__isnull=False).order_by("sku_id"):
        existing = CartLine.objects.filter(cart=cart, sku_id=line.sku_id).first()
        if existing is None:
            CartLine.objects.create(cart=cart, sku_id=line.sku_id, quantity=line.quantity)
        else:
            CartLine.objects.filter(pk=existing.pk).update(
                quantity=min(existing.quantity + line.quantity, MAX_QUANTITY)
            )


def _release_stock(order: Order) -> None:
    """Give back the units this order still holds: units refunded before shipping went back to
    stock when they were refunded (``_unship_refunded_units``), so they are not given twice.
    A deal's order took no SKU stock: its units go back to the deal (``_give_back_deal_units``)."""
    if order.checkout.deal_ref:
        units = sum(line.to_ship_quantity for line in order.lines.all())
        _give_back_deal_units(order, units)
        return
    for line in order.lines.filter(sku__isnull=False).order_by("sku_id"):
        if line.to_ship_quantity > 0:
            catalog_services.release_stock(sku_id=line.sku_id, quantity=line.to_ship_quantity)


# Deal kinds whose campaign holds the stock its orders sell (a group campaign, a bargain
# campaign, a flash sale carved units from the SKU): deal_ref prefix → give_back(order=,
# quantity=). Registered by each kind's ``AppConfig.ready``; orders never import the deals.
_deal_stock_owners: dict[str, Callable] = {}


def register_deal_stock_owner(prefix: str, give_back: Callable) -> None:
    """``give_back(order=, quantity=)`` returns units of a paid deal order that the shop or the
    buyer cancelled, or that was refunded before shipping, to the deal's reserve while it runs
    (else to the SKU). It runs inside the caller's transaction, after the order's rows (lock
    order: checkout → payment → order → the deal's stock rows → SKU stock)."""
    _deal_stock_owners[prefix] = give_back


def _give_back_deal_units(order: Order, quantity: int) -> None:
    give_back = _deal_stock_owners.get(order.checkout.deal_ref.split(":", 1)[0])
    if give_back is not None and quantity > 0:
        give_back(order=order, quantity=quantity)


def _cancel_payment_if_nothing_left(checkout_row: Checkout) -> None:
    """When no order of a checkout can still be paid, the payment is cancelled too."""
    if checkout_row.orders.filter(state=Order.State.PENDING_PAYMENT).exists():
        return
    if checkout_row.orders.filter(paid_at__isnull=False).exists():
        return
    # If it was captured a moment ago, its "ledger.payment.succeeded" finds the orders cancelled and
    # refunds them (record_payment_success).
    with suppress(PaymentStateConflict):
        payments.cancel_payment(payment=_payment_of(checkout_row))
