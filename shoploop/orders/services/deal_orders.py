"""Deal orders: placed, settled and ended by the deals apps."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import SKU, Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from shoploop.core.ids import new_public_id
from shoploop.ledger.models import Payment
from shoploop.ledger.services import payments
from shoploop.orders import address_services
from shoploop.orders.models import (
    Address,
    Checkout,
    Order,
    OrderLine,
    PickupPoint,
)
from shoploop.orders.services._base import (
    _publish,
    _publish_paid_many,
    _quantity,
    _record,
    _record_many,
    _require_user,
)
from shoploop.orders.services.fulfilment import (
    _cancel_paid,
    _locked,
)
from shoploop.orders.services.payment import (
    _cancel_payment_if_nothing_left,
    _cancel_unpaid,
    _lock_payment_of,
    _mark_paid,
    _refund_late_payment,
)
from shoploop.orders.services.pickup import pickup_fields, pickup_order_fields

# --- deal orders (the deals app drives them) -------------------------------------------------
#
# A deal (group seat, bargain, pledge, flash sale) buys through one checkout with one order and
# one payment, like the cart, but the deal owns its stock, its unpaid deadline and its outcome.
# Lock order, extending the one above: the deal's per-buyer rows first (group, seat, bargain,
# pledge), then checkout, payment, order, and last the rows every buyer of a campaign contends
# for (campaign stock, tier and project counters, ledger accounts, SKU stock), each changed by a
# conditional UPDATE as late in the transaction as possible so the hot row is held only until
# the commit. Deals call these with their per-buyer rows locked.


def place_deal_order(
    *,
    buyer,
    shop: Shop,
    title: str,
    unit_price_fen: int,
    quantity: int,
    deal_ref: str,
    expires_at,
    address: Address | PickupPoint,
    sku: SKU | None = None,
    product_public_id: str = "",
    options: dict | None = None,
) -> Order:
    """A checkout with one order for a deal, and a payment for its total, shipped to a copy of
    ``address`` (one of the buyer's, see ``buyer_address``) exactly as a cart checkout copies it.

    No SKU stock is reserved: the deal holds its own. A free order (total 0, a bargain down to
    nothing) has no payment and is paid at once. The buyer pays at ``selectors.pay_url``; the
    deals app hears the payment's events and calls ``settle_deal_payment``.

    ``address`` may be a ``PickupPoint`` the buyer chose (``buyer_address("pickup:<id>")``): the
    order is then picked up there, with its code and the 团长's commission (the shop must offer
    pickup, ``pickup_not_offered``)."""
    _require_user(buyer)
    if shop.owner_id == buyer.pk:
        raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
    quantity = _quantity(quantity)
    unit_price_fen = int(unit_price_fen)
    if unit_price_fen < 0 or not deal_ref:
        raise ValidationFailed(code="invalid_deal_order")
    total = unit_price_fen * quantity
    shipping = _deal_shipping(buyer=buyer, shop=shop, destination=address, total_fen=total)
    now = clock.now()
    # The payment's id is chosen first, so the checkout row is written once, naming it. Every
    # deal calls this inside its own transaction: no savepoint of its own (a failure here
    # unwinds the deal's transaction whole anyway).
    payment_public_id = new_public_id() if total else ""
    with transaction.atomic(savepoint=False):
        checkout_row = Checkout.objects.create(
            buyer=buyer,
            total_fen=total,
            deal_ref=deal_ref,
            expires_at=expires_at,
            created_at=now,
            payment_public_id=payment_public_id,
        )
        order = Order.objects.create(
            checkout=checkout_row,
            buyer=buyer,
            shop=shop,
            subtotal_fen=total,
            total_fen=total,
            reservation_expires_at=expires_at,
            created_at=now,
            **shipping,
        )
        OrderLine.objects.create(
            order=order,
            sku=sku,
            product_public_id=product_public_id or (sku.product.public_id if sku else ""),
            title=title,
            options=options or (sku.options if sku else {}),
            unit_price_fen=unit_price_fen,
            quantity=quantity,
            paid_fen=total,
        )
        _record(order, "placed", actor=buyer)
        if total:
            # The key is this new checkout's reference: no payment can have it yet.
            payments.create_payment(
                payer=buyer,
                amount=total,
                reference=checkout_row.reference,
                description=str(_("Shoploop order %(ids)s") % {"ids": order.public_id}),
                idempotency_key=checkout_row.reference,
                public_id=payment_public_id,
                fresh_key=True,
            )
        else:
            Order.objects.filter(pk=order.pk).update(state=Order.State.PAID, paid_at=now)
            order.state, order.paid_at = Order.State.PAID, now
            _record(order, "paid", note=str(_("Free: nothing to pay.")))
        _publish(
            "orders.order.placed",
            order,
            checkout_public_id=checkout_row.public_id,
            deal_ref=deal_ref,
        )
        if not total:
            _publish("orders.order.paid", order)
    return order


def _deal_shipping(*, buyer, shop: Shop, destination, total_fen: int) -> dict:
    if isinstance(destination, PickupPoint):
        return pickup_fields(point=destination) | pickup_order_fields(
            shop=shop, buyer=buyer, point=destination, total_fen=total_fen
        )
    if destination is None or destination.user_id != buyer.pk:
        raise NotFound(_("No such address."), code="address_not_found")
    return {"delivery_method": Order.DeliveryMethod.DELIVERY} | address_services.address_snapshot(
        destination
    )


def settle_deal_payment(*, order: Order, accept: bool, await_deal: bool = False) -> str:
    """The deal's answer to a captured payment for its order, exactly once.

    ``accept``: the money is held toward the shop and the order becomes ``awaiting_deal`` (if
    ``await_deal``) or ``paid``. Otherwise (the seat is gone, the deal closed) the order is
    cancelled and the payment refunded in full. A payment for an order already cancelled is
    refunded. Returns "paid", "awaiting", "refunded", "not_captured" or "unchanged".

    Every deal calls this inside its own transaction, holding its own rows' locks: no savepoint
    of its own (a failure unwinds the caller's transaction, or the caller's savepoint)."""
    with transaction.atomic(savepoint=False):
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        payment = _lock_payment_of(checkout_row)
        order = _locked(order)
        # A capture after the payment was closed is refunded by the ledger itself (its state
        # stays closed); only a payment that succeeded is the deal's to settle.
        if (
            payment is None
            or payment.state != Payment.State.SUCCEEDED
            or payment.captured_fen != checkout_row.total_fen
        ):
            return "not_captured"
        if order.state == Order.State.PENDING_PAYMENT and accept:
            state = Order.State.AWAITING_DEAL if await_deal else Order.State.PAID
            _mark_paid(order=order, payment=payment, state=state)
            return "awaiting" if await_deal else "paid"
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=Order.CancelReason.DEAL_FAILED, actor=None)
            order.refresh_from_db()
        if order.state == Order.State.CANCELLED and order.paid_at is None:
            if order.refunded_fen == order.total_fen:
                return "unchanged"
            _refund_late_payment(order=order, payment=payment)
            return "refunded"
        return "unchanged"


def confirm_deal_order(*, order: Order) -> bool:
    """The deal succeeded: its held order goes to the shop to be shipped. Idempotent."""
    changed = Order.objects.filter(pk=order.pk, state=Order.State.AWAITING_DEAL).update(
        state=Order.State.PAID
    )
    if changed:
        order.state = Order.State.PAID
        _record(order, "deal_succeeded")
        _publish("orders.order.paid", order)
    return bool(changed)


def confirm_deal_orders(*, orders: list[Order]) -> list[Order]:
    """``confirm_deal_order`` for every member of a deal that succeeded at once (a group): their
    held orders locked and moved by one UPDATE, their history and events written set-based.
    Idempotent: only the orders still awaiting the deal change; returns those."""
    by_pk = {order.pk: order for order in orders}
    awaiting = list(
        Order.objects.select_for_update()
        .filter(pk__in=list(by_pk), state=Order.State.AWAITING_DEAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not awaiting:
        return []
    Order.objects.filter(pk__in=awaiting).update(state=Order.State.PAID)
    changed = [by_pk[pk] for pk in awaiting]
    for order in changed:
        order.state = Order.State.PAID
    _record_many(changed, "deal_succeeded")
    _publish_paid_many(changed)
    return changed


def cancel_deal_order(*, order: Order, reason: str = Order.CancelReason.DEAL_FAILED, actor=None):
    """The deal ends this order (failed group, expired seat, cancelled pledge, unpaid flash-sale
    reservation): an unpaid order is cancelled with its payment; a held one is voided and
    refunded in full, exactly once. No SKU stock moves: the deal returns its own stock.
    Returns True if this call cancelled the order."""
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        _lock_payment_of(checkout_row)
        order = _locked(order)
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=reason, actor=actor, release_stock=False)
            if checkout_row.payment_public_id:
                _cancel_payment_if_nothing_left(checkout_row)
            return True
        if order.state in (Order.State.AWAITING_DEAL, Order.State.PAID):
            _cancel_paid(
                order=order,
                reason=reason,
                actor=actor,
                checkout_row=checkout_row,
                release_stock=False,
            )
            return True
        return False
