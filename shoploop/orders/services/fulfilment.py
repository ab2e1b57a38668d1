"""Buyer and merchant actions on an order: cancel, change the address, ship (one or many),
confirm receipt, complete (the hold is posted and split)."""

from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.ledger.models import AccountKind, Transfer
from shoploop.ledger.services import TransferSpec, open_account, transfer_linked
from shoploop.ledger.services import post_hold as ledger_post_hold
from shoploop.ledger.services import void_hold as ledger_void_hold
from shoploop.ledger.services.commissions import order_commission_reserves
from shoploop.orders import address_services, carriers
from shoploop.orders.models import (
    AfterSale,
    Checkout,
    Order,
    PickupPoint,
)
from shoploop.orders.services._base import (
    BPS_PER_WHOLE,
    DEAL_OWNED_STATES,
    _publish,
    _record,
    _require_buyer,
    _require_merchant,
    _require_user,
    after_sale_days,
)
from shoploop.orders.services.payment import (
    _cancel_payment_if_nothing_left,
    _cancel_unpaid,
    _hold_key,
    _lock_payment_of,
    _merchant_account,
    _payment_of,
    _refund,
    _release_stock,
)

# --- buyer and merchant actions ---------------------------------------------------------------


def _locked(order: Order) -> Order:
    # Only the order row is locked (of=self): the joined shop, checkout and buyer are read, not
    # locked, so this never fights the payment handler, which locks checkout first and then its
    # orders. (The buyer is joined for the events the caller publishes.)
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("shop", "checkout", "buyer")
        .get(pk=order.pk)
    )


def cancel_order(*, order: Order, actor) -> Order:
    """The buyer or the shop cancels before shipping; a paid order is refunded in full."""
    _require_user(actor)
    is_buyer = order.buyer_id == actor.pk
    if not is_buyer and order.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your order."), code="not_your_order")
    reason = Order.CancelReason.BUYER if is_buyer else Order.CancelReason.MERCHANT
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        _lock_payment_of(checkout_row)
        order = _locked(order)
        if checkout_row.deal_ref and order.state in DEAL_OWNED_STATES:
            raise Conflict(
                _("This order belongs to a running deal; see the deal's page."),
                code="deal_order",
            )
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=reason, actor=actor)
            _cancel_payment_if_nothing_left(checkout_row)
        elif order.state == Order.State.PAID:
            _cancel_paid(order=order, reason=reason, actor=actor, checkout_row=checkout_row)
        else:
            raise Conflict(
                _("This order can no longer be cancelled (it is %(state)s).")
                % {"state": order.get_state_display()},
                code="cannot_cancel",
            )
    order.refresh_from_db()
    return order


def _cancel_paid(
    *, order: Order, reason: str, actor, checkout_row: Checkout, release_stock: bool = True
) -> None:
    now = clock.now()
    amount = order.net_fen
    _void_current_hold(order)
    Order.objects.filter(pk=order.pk, state=order.state).update(
        state=Order.State.CANCELLED,
        cancel_reason=reason,
        cancelled_at=now,
        has_hold=False,
        refunded_fen=order.total_fen,
    )
    if amount > 0:
        _refund(
            payment=_payment_of(checkout_row),
            amount=amount,
            key=f"{order.ref}:refund:cancel",
            reason="cancelled",
        )
    if release_stock:
        _release_stock(order)
    _record(order, "cancelled", actor=actor, note=str(Order.CancelReason(reason).label))
    _record(order, "refunded", note=str(_("Refunded in full.")))
    _publish("orders.order.cancelled", order, reason=reason)
    _publish("orders.order.refunded", order, amount_fen=amount)


def _current_hold(order: Order) -> Transfer:
    return Transfer.objects.get(idempotency_key=_hold_key(order, order.hold_version))


def _void_current_hold(order: Order) -> None:
    if order.has_hold:
        hold = _current_hold(order)
        ledger_void_hold(key=f"{hold.idempotency_key}:void", hold=hold)


ADDRESS_CHANGEABLE_STATES = (
    Order.State.PENDING_PAYMENT,
    Order.State.AWAITING_DEAL,
    Order.State.PAID,
)


def change_order_address(*, order: Order, actor, address_public_id) -> Order:
    """The buyer ships the order to another address of their book, until it ships. The order
    takes a new copy; the merchant sees it in the ship queue and on the packing list."""
    _require_buyer(order=order, actor=actor)
    if order.is_pickup:
        raise Conflict(
            _("This order is picked up at a pickup point; it has no delivery address."),
            code="pickup_order",
        )
    address = address_services.own_address(user=actor, address_public_id=address_public_id)
    snapshot = address_services.address_snapshot(address)
    with transaction.atomic():
        # One conditional statement: a shipment committed a moment ago wins, never a silent
        # change of an order already on its way.
        changed = Order.objects.filter(pk=order.pk, state__in=ADDRESS_CHANGEABLE_STATES).update(
            **snapshot
        )
        if not changed:
            raise Conflict(
                _("The address can no longer be changed: the order has shipped or ended."),
                code="address_locked",
            )
        order.refresh_from_db()
        _record(order, "address_changed", actor=actor, note=order.ship_address_line)
        _publish("orders.order.address_changed", order)
    return order


def ship_order(*, order: Order, actor, carrier: str, tracking_number: str) -> Order:
    """The shop hands a paid order to a carrier (a code of carriers.Carrier) with its tracking
    number in that carrier's format. A pickup order is "sent to the pickup point": the carrier
    and number are optional then (a shop often drives a community's orders over itself)."""
    _require_merchant(order=order, actor=actor)
    carrier, tracking_number = _clean_shipment(
        order=order, carrier=carrier, tracking_number=tracking_number
    )
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, state=Order.State.PAID).update(
            state=Order.State.SHIPPED,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=clock.now(),
        )
        if not changed:
            raise Conflict(_("Only paid orders can be shipped."), code="cannot_ship")
        order.refresh_from_db()
        if order.is_pickup:
            _record_sent_to_point(order, actor=actor)
        else:
            _record(order, "shipped", actor=actor, note=f"{order.carrier_label} {tracking_number}")
        _publish("orders.order.shipped", order)
    return order


def _clean_shipment(*, order: Order, carrier, tracking_number) -> tuple[str, str]:
    if order.is_pickup and not tracking_number:
        # Taken to the point by the shop itself: no carrier, no number.
        return "", ""
    carrier = carriers.clean_carrier(carrier)
    return carrier, carriers.clean_tracking_number(carrier=carrier, value=tracking_number)


def _record_sent_to_point(order: Order, *, actor) -> None:
    point = order.pickup_point
    tracking = f" ({order.carrier_label} {order.tracking_number})" if order.carrier else ""
    _record(order, "sent_to_pickup", actor=actor, note=f"{point.name}{tracking}")
    _publish(
        "orders.pickup.ready",
        order,
        pickup_point_public_id=point.public_id,
        leader_public_id=point.leader.public_id,
    )


MAX_SHIPMENTS_AT_ONCE = 200


def ship_orders(*, shop: Shop, actor, shipments) -> dict[str, str]:
    """Ship several of the shop's paid orders at once, each with its carrier and number.

    Every line is checked first, so bad input ships nothing. Then each order ships in its own
    transaction: one cancelled a moment ago does not hold back the others. Returns
    {order id: "shipped" or the refusal's code}."""
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This order belongs to another shop."), code="not_your_shop")
    if not isinstance(shipments, list | tuple) or not 1 <= len(shipments) <= MAX_SHIPMENTS_AT_ONCE:
        raise ValidationFailed(
            _("Choose the orders to ship (at most %(max)d at once).")
            % {"max": MAX_SHIPMENTS_AT_ONCE},
            code="no_orders_chosen",
            fields={"shipments": "count"},
        )
    planned = _planned_shipments(shop=shop, shipments=shipments)
    outcomes = {}
    for order, carrier, number in planned:
        try:
            ship_order(order=order, actor=actor, carrier=carrier, tracking_number=number)
            outcomes[order.public_id] = "shipped"
        except Conflict as refused:
            outcomes[order.public_id] = refused.code
    return outcomes


def _planned_shipments(*, shop: Shop, shipments) -> list[tuple[Order, str, str]]:
    by_id = {}
    for item in shipments:
        order_id = item.get("order_id") if isinstance(item, dict) else None
        if not isinstance(order_id, str) or order_id in by_id:
            raise ValidationFailed(_("Each order once, please."), fields={"shipments": "invalid"})
        by_id[order_id] = item
    orders = {
        order.public_id: order
        for order in Order.objects.select_related("shop").filter(
            shop=shop, public_id__in=list(by_id)
        )
    }
    planned = []
    for order_id, item in by_id.items():
        if order_id not in orders:
            raise NotFound(_("No such order."), code="order_not_found")
        try:
            carrier, number = _clean_shipment(
                order=orders[order_id],
                carrier=item.get("carrier"),
                tracking_number=item.get("tracking_number"),
            )
        except ValidationFailed as error:
            error.fields = {**error.fields, "order_id": order_id}
            raise
        planned.append((orders[order_id], carrier, number))
    return planned


def confirm_receipt(*, order: Order, actor) -> Order:
    _require_buyer(order=order, actor=actor)
    with transaction.atomic():
        if not _mark_received(order=order, actor=actor):
            raise Conflict(_("Only shipped orders can be received."), code="cannot_receive")
    order.refresh_from_db()
    return order


def collect_pickup(*, point: PickupPoint, actor, code) -> Order:
    """The point's 团长 (or an operator) hands over the order whose code the buyer showed: the
    same receipt as the buyer's own "confirm receipt" (``_mark_received``), so the after-sale
    window and the settlement start. A code of no order at this point → ``pickup_code_invalid``
    (nothing changes); collected already → ``already_collected`` (409); not sent to the point
    yet → ``not_at_point``."""
    from shoploop.orders.services.pickup import normalize_pickup_code, require_point_leader

    require_point_leader(actor=actor, point=point)
    code = normalize_pickup_code(code)
    order = (
        Order.objects.select_related("shop", "buyer", "pickup_point")
        .filter(pickup_point=point, pickup_code=code)
        .first()
        if code
        else None
    )
    if order is None:
        raise ValidationFailed(
            _("No order at this pickup point has that code. Check it with the buyer."),
            code="pickup_code_invalid",
            fields={"code": "invalid"},
        )
    with transaction.atomic():
        # One conditional UPDATE inside _mark_received: of two collections at once, one wins.
        if not _mark_received(order=order, actor=actor):
            raise _not_collectable(order)
        _publish(
            "orders.pickup.collected",
            order,
            pickup_point_public_id=point.public_id,
            collected_by_public_id=actor.public_id,
        )
    order.refresh_from_db()
    return order


def _not_collectable(order: Order) -> Conflict:
    order.refresh_from_db(fields=["state"])
    if order.state in (Order.State.RECEIVED, Order.State.COMPLETED):
        return Conflict(_("This order was already collected."), code="already_collected")
    if order.state == Order.State.PAID:
        return Conflict(
            _("The shop has not sent this order to the pickup point yet."), code="not_at_point"
        )
    return Conflict(
        _("This order cannot be collected (it is %(state)s).")
        % {"state": order.get_state_display()},
        code="cannot_collect",
    )


def _mark_received(*, order: Order, actor, now=None) -> bool:
    changed = Order.objects.filter(pk=order.pk, state=Order.State.SHIPPED).update(
        state=Order.State.RECEIVED, received_at=now or clock.now()
    )
    if changed:
        _record(order, "received", actor=actor)
        _publish("orders.order.received", order, auto=actor is None)
    return bool(changed)


def platform_fee(*, net_fen: int, fee_rate_bps: int) -> int:
    """The platform's cut, rounded down: the merchant keeps any fraction of a fen."""
    return net_fen * fee_rate_bps // BPS_PER_WHOLE


def complete_order(*, order: Order, now=None) -> bool:
    """Post the hold and pay the shop its share minus the platform fee (contract step 4).
    Only once the after-sale window has closed with nothing open; False if not due."""
    now = now or clock.now()
    with transaction.atomic():
        order = _locked(order)
        if order.state != Order.State.RECEIVED or now < order.received_at + timedelta(
            days=after_sale_days()
        ):
            return False
        if order.after_sales.filter(state__in=AfterSale.OPEN_STATES).exists():
            return False
        net = order.net_fen
        fee = platform_fee(net_fen=net, fee_rate_bps=order.shop.fee_rate_bps)
        if order.has_hold:
            _settle_hold(order=order, net=net, fee=fee)
        Order.objects.filter(pk=order.pk).update(
            state=Order.State.COMPLETED, completed_at=now, fee_fen=fee, has_hold=False
        )
        _record(order, "completed")
        _publish("orders.order.completed", order, net_fen=net, fee_fen=fee)
    return True


def _settle_hold(*, order: Order, net: int, fee: int) -> None:
    # The order's frozen commissions (promoters', the 团长's) are kept back from the shop's share
    # in this same transaction, so the shop can never withdraw what it owes them (their rows are
    # locked first: the ledger accounts come last in the lock order).
    reserves = order_commission_reserves(
        order_public_id=order.public_id, shop_public_id=order.shop.public_id, room=net - fee
    )
    kept = sum(spec.amount for spec in reserves)
    hold = _current_hold(order)
    ledger_post_hold(key=f"{hold.idempotency_key}:post", hold=hold)
    pending = _merchant_account(order.shop, AccountKind.MERCHANT_PENDING)
    specs = [
        *reserves,
        TransferSpec(
            key=f"{order.ref}:merchant_share",
            debit=pending,
            credit=_merchant_account(order.shop, AccountKind.MERCHANT_AVAILABLE),
            amount=net - fee - kept,
            reason="order_completed",
            cause=order.ref,
        ),
        TransferSpec(
            key=f"{order.ref}:platform_fee",
            debit=pending,
            credit=open_account(kind=AccountKind.PLATFORM_FEES),
            amount=fee,
            reason="platform_fee",
            cause=order.ref,
        ),
    ]
    transfer_linked(specs=[spec for spec in specs if spec.amount > 0])
