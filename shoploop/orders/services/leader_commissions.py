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

from django.db import transaction

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
    with transaction.atomic():
        commission = ledger_commissions.accrue_commission_row(
            LeaderCommission,
            shop_public_id=order.shop.public_id,
            beneficiary_ref=leader_beneficiary_ref(order.pickup_leader),
            order=order,
            shop=order.shop,
            leader=order.pickup_leader,
            original_fen=amount,
            amount_fen=amount,
            created_at=now or clock.now(),
        )
        if commission is None:
            return LeaderCommission.objects.get(order=order)  # accrued by another delivery
        publish(
            "orders.leader_commission.accrued",
            leader_commission_public_id=commission.public_id,
            order_public_id=order.public_id,
            leader_public_id=order.pickup_leader.public_id,
            amount_fen=amount,
        )
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
    taken = ledger_commissions.reduce_commission_row(
        commission,
        target=target,
        shop_public_id=commission.shop.public_id,
        beneficiary_ref=leader_beneficiary_ref(commission.leader),
    )
    publish(
        "orders.leader_commission.reversed",
        leader_commission_public_id=commission.public_id,
        order_public_id=commission.order.public_id,
        leader_public_id=commission.leader.public_id,
        amount_fen=taken,
        remaining_fen=max(target, 0),
    )


def leader_commission_at_completion(
    order_public_id: str,
) -> list[ledger_commissions.FrozenCommission]:
    """The order's frozen 团长 commission when it completes (refunds synced first, under the
    row's lock), for the ledger to keep back from the shop's share."""
    sync_leader_refunds(order_public_id=order_public_id)
    rows = (
        LeaderCommission.objects.select_for_update()
        .filter(order__public_id=order_public_id, state=LeaderCommission.State.FROZEN)
        .values_list("public_id", "amount_fen")
    )
    return [
        ledger_commissions.FrozenCommission(ref=f"commission:{public_id}", amount=amount)
        for public_id, amount in rows
    ]


def release_leader_commission(*, order_public_id: str, now=None) -> bool:
    """The order completed (no longer refundable): the frozen commission becomes available, its
    hold posted and settled from what the order's completion kept back for it."""
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
        ledger_commissions.release_commission_row(
            commission, shop_public_id=commission.shop.public_id, now=now
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
