"""Reads for pickup: the points a buyer may choose, a 团长's points, the orders at a point and
the 团长's pending earnings."""

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils.translation import gettext as _

from shoploop.communities.models import Community, Membership
from shoploop.core.errors import NotFound
from shoploop.orders.models import Order, PickupPoint

# Orders a 团长 works on at the point: paid (on their way) and sent there (to hand over).
ARRIVING_STATES = (Order.State.PAID, Order.State.SHIPPED)


def points_for_buyer(*, user) -> QuerySet[PickupPoint]:
    """Active points of active communities where ``user`` is an active member, run by a current
    团长 of that community who is still a member (a revoked or departed leader's points are not
    offered)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return PickupPoint.objects.none()
    member_of = Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values(
        "community_id"
    )
    return (
        PickupPoint.objects.filter(
            is_active=True,
            community_id__in=member_of,
            community__state=Community.State.ACTIVE,
            community__leaders__user_id=F("leader_id"),
            community__leaders__revoked_at__isnull=True,
        )
        .filter(
            Exists(
                Membership.objects.filter(
                    community=OuterRef("community"),
                    user=OuterRef("leader"),
                    state=Membership.State.ACTIVE,
                )
            )
        )
        .select_related("community", "leader")
        .distinct()
        .order_by("community__name", "name", "id")
    )


def points_of_leader(*, user) -> QuerySet[PickupPoint]:
    if user is None or not getattr(user, "is_authenticated", False):
        return PickupPoint.objects.none()
    return (
        PickupPoint.objects.filter(leader=user)
        .select_related("community")
        .order_by("-is_active", "name", "id")
    )


def point_by_public_id(*, public_id) -> PickupPoint:
    point = (
        PickupPoint.objects.select_related("community", "leader")
        .filter(public_id=str(public_id or "")[:40])
        .first()
    )
    if point is None:
        raise NotFound(_("No such pickup point."), code="pickup_point_not_found")
    return point


def point_for_leader(*, user, public_id) -> PickupPoint:
    """One of the 团长's points (or any, for an operator); another's is "not found"."""
    point = point_by_public_id(public_id=public_id)
    if not (getattr(user, "is_staff", False) or point.leader_id == getattr(user, "pk", None)):
        raise NotFound(_("No such pickup point."), code="pickup_point_not_found")
    return point


def orders_at_point(*, point: PickupPoint, collected: bool = False) -> QuerySet[Order]:
    """Orders for the point: paid and sent ones (oldest first), or those already collected
    (newest first)."""
    orders = Order.objects.filter(pickup_point=point).select_related("buyer", "shop")
    if collected:
        return orders.filter(state__in=(Order.State.RECEIVED, Order.State.COMPLETED)).order_by(
            "-received_at", "-id"
        )
    return orders.filter(state__in=ARRIVING_STATES).order_by("paid_at", "id")


# What a 团长 sees of each commission: it is owed once the order is paid, becomes payable when
# the order completes (its after-sale window closed), and is void if the order is cancelled.
EARNING_STATES = (
    Order.State.PAID,
    Order.State.SHIPPED,
    Order.State.RECEIVED,
    Order.State.COMPLETED,
)


def leader_earnings(*, user) -> QuerySet[Order]:
    """The 团长's orders with a commission, newest first. Nothing here is paid out yet: the
    ledger transfer is wired with the referrals work (docs/pickup.md)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Order.objects.none()
    return (
        Order.objects.filter(
            pickup_leader=user, leader_commission_fen__gt=0, state__in=EARNING_STATES
        )
        .select_related("pickup_point", "shop")
        .order_by("-created_at", "-id")
    )


def earnings_summary(*, user) -> dict:
    """Fen owed per stage: ``frozen`` (paid, not yet completed) and ``settled`` (completed, so
    no longer refundable)."""
    frozen = settled = 0
    for state, fen in leader_earnings(user=user).values_list("state", "leader_commission_fen"):
        if state == Order.State.COMPLETED:
            settled += fen
        else:
            frozen += fen
    return {"frozen_fen": frozen, "settled_fen": settled}
