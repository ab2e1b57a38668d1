"""Reads for pickup: the points a buyer may choose, a 团长's points, the orders at a point and
the 团长's commissions (rows of ``LeaderCommission``, paid through the ledger)."""

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from shoploop.communities.models import Community, Membership
from shoploop.core.errors import NotFound
from shoploop.ledger import selectors as ledger_selectors
from shoploop.orders.models import LeaderCommission, Order, PickupPoint

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


def community_public_id_of(*, order: Order) -> str | None:
    """The community of the pickup point a pickup order goes to (None for a delivered order,
    without a query)."""
    if order.pickup_point_id is None:
        return None
    return (
        PickupPoint.objects.filter(pk=order.pickup_point_id)
        .values_list("community__public_id", flat=True)
        .first()
    )


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


def leader_earnings(*, user) -> QuerySet[LeaderCommission]:
    """The 团长's commissions, newest first: frozen (a ledger hold the shop owes, until the order
    can no longer be refunded), available (paid to their commissions account, withdrawable) or
    reversed (refunded or cancelled). ``amount_fen`` is what is left after partial refunds."""
    if user is None or not getattr(user, "is_authenticated", False):
        return LeaderCommission.objects.none()
    return (
        LeaderCommission.objects.filter(leader=user)
        .select_related("order__pickup_point", "shop")
        .order_by("-created_at", "-id")
    )


def earnings_summary(*, user) -> dict:
    """Fen per state: ``frozen``, ``available`` (current amounts) and ``reversed`` (what refunds
    took back: the original less what is left)."""
    sums = leader_earnings(user=user).aggregate(
        frozen=Sum("amount_fen", filter=Q(state=LeaderCommission.State.FROZEN)),
        available=Sum("amount_fen", filter=Q(state=LeaderCommission.State.AVAILABLE)),
        reversed=Sum(F("original_fen") - F("amount_fen")),
    )
    return {f"{key}_fen": value or 0 for key, value in sums.items()}


# A person's commission balance and withdrawals belong to the ledger; named here too for the
# pages and API of this app.
withdrawable_fen = ledger_selectors.commission_balance_fen
withdrawals_of = ledger_selectors.person_withdrawals
