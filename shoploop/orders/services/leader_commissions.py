"""The 团长's pickup commission through the ledger (docs/pickup.md), the same life as a
promoter's commission (``shoploop.referrals.services``) on the generic ledger path
(``shoploop.ledger.services.commissions``):

- ``accrue_leader_commission`` (``orders.order.paid``): one ``LeaderCommission`` per order, frozen
  as a hold the shop owes;
- ``sync_leader_refunds`` (``orders.order.refunded`` / ``cancelled``): brought down in
  proportion to what was refunded, or reversed entirely;
- ``release_leader_commission`` (``orders.order.completed``): available to the 团长.

Each is computed from the order's rows (never from the event), under the commission's row lock,
so a repeated or late delivery moves money once.
"""

from django.db import IntegrityError, transaction

from shoploop.core import clock
from shoploop.core.events import publish
from shoploop.ledger.services import commissions as ledger_commissions
from shoploop.orders.models import LeaderCommission, Order


def leader_beneficiary_ref(user) -> str:
    # The same account key as a promoter's (referrals.services.beneficiary_ref): one balance
    # per person, withdrawn through the same beneficiary withdrawals.
    return f"user:{user.public_id}"


def accrue_leader_commission(*, order_public_id: str, now=None) -> LeaderCommission | None:
    """Freeze the order's recorded commission for its 团长, once per order (the unique order
    makes a repeat, or a racing delivery, find the row taken and move nothing)."""
    order = (
        Order.objects.select_related("shop", "pickup_leader")
        .filter(public_id=order_public_id)
        .first()
    )
    if order is None or order.pickup_leader_id is None or order.leader_commission_fen <= 0:
        return None
    if order.paid_at is None or order.state == Order.State.CANCELLED:
        return None
    existing = LeaderCommission.objects.filter(order=order).first()
    if existing is not None:
        return existing
    amount = order.leader_commission_fen
    try:
        with transaction.atomic():
            commission = LeaderCommission.objects.create(
                order=order,
                shop=order.shop,
                leader=order.pickup_leader,
                original_fen=amount,
                amount_fen=amount,
                created_at=now or clock.now(),
            )
            ledger_commissions.accrue_commission(
                ref=commission.ref,
                shop_public_id=order.shop.public_id,
                beneficiary_ref=leader_beneficiary_ref(order.pickup_leader),
                amount=amount,
            )
            publish(
                "orders.leader_commission.accrued",
                leader_commission_public_id=commission.public_id,
                order_public_id=order.public_id,
                leader_public_id=order.pickup_leader.public_id,
                amount_fen=amount,
            )
    except IntegrityError:
        return LeaderCommission.objects.get(order=order)  # accrued by another delivery
    # A refund may have come before this (late) delivery: bring it down at once.
    sync_leader_refunds(order_public_id=order.public_id)
    commission.refresh_from_db()
    return commission


def _remaining_share(commission: LeaderCommission, order: Order) -> int:
    """The commission in proportion to what is left of the order (none once cancelled)."""
    if order.total_fen <= 0 or order.state == Order.State.CANCELLED:
        return 0
    left = max(order.total_fen - order.refunded_fen, 0)
    return commission.original_fen * left // order.total_fen


def sync_leader_refunds(*, order_public_id: str) -> bool:
    """Bring the frozen commission down to its share of the order left after refunds. Returns
    whether anything changed (a repeat finds it already there)."""
    with transaction.atomic():
        commission = (
            LeaderCommission.objects.select_for_update()
            .select_related("order", "shop", "leader")
            .filter(order__public_id=order_public_id, state=LeaderCommission.State.FROZEN)
            .first()
        )
        if commission is None:
            return False
        target = _remaining_share(commission, commission.order)
        if target >= commission.amount_fen:
            return False
        _reduce(commission, target)
        return True


def _reduce(commission: LeaderCommission, target: int) -> None:
    if target <= 0:
        ledger_commissions.reverse_commission(ref=commission.ref, version=commission.hold_version)
        LeaderCommission.objects.filter(pk=commission.pk).update(
            amount_fen=0, state=LeaderCommission.State.REVERSED
        )
    else:
        version = ledger_commissions.reduce_commission(
            ref=commission.ref,
            shop_public_id=commission.shop.public_id,
            beneficiary_ref=leader_beneficiary_ref(commission.leader),
            version=commission.hold_version,
            new_amount=target,
        )
        LeaderCommission.objects.filter(pk=commission.pk).update(
            amount_fen=target, hold_version=version
        )
    publish(
        "orders.leader_commission.reversed",
        leader_commission_public_id=commission.public_id,
        order_public_id=commission.order.public_id,
        leader_public_id=commission.leader.public_id,
        amount_fen=commission.amount_fen - max(target, 0),
        remaining_fen=max(target, 0),
    )


def release_leader_commission(*, order_public_id: str, now=None) -> bool:
    """The order completed (no longer refundable): the frozen commission becomes available, its
    hold posted and settled from the shop's available funds."""
    now = now or clock.now()
    sync_leader_refunds(order_public_id=order_public_id)
    with transaction.atomic():
        commission = (
            LeaderCommission.objects.select_for_update()
            .select_related("order", "shop", "leader")
            .filter(order__public_id=order_public_id, state=LeaderCommission.State.FROZEN)
            .first()
        )
        if commission is None or commission.order.state != Order.State.COMPLETED:
            return False
        ledger_commissions.release_commission(
            ref=commission.ref,
            shop_public_id=commission.shop.public_id,
            version=commission.hold_version,
        )
        LeaderCommission.objects.filter(pk=commission.pk).update(
            state=LeaderCommission.State.AVAILABLE, released_at=now
        )
        publish(
            "orders.leader_commission.available",
            leader_commission_public_id=commission.public_id,
            order_public_id=commission.order.public_id,
            leader_public_id=commission.leader.public_id,
            amount_fen=commission.amount_fen,
        )
    return True


def release_leader_commissions_due(now) -> int:
    """Safety net: frozen commissions whose order completed (the event was lost)."""
    orders = LeaderCommission.objects.filter(
        state=LeaderCommission.State.FROZEN, order__state=Order.State.COMPLETED
    ).values_list("order__public_id", flat=True)[:100]
    return sum(release_leader_commission(order_public_id=o, now=now) for o in list(orders))
