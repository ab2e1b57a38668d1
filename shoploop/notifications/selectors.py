"""Reads: a person's inbox and unread count, and who an event concerns (recipients are found
from the public ids in the event's payload, read from the owning apps' tables)."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from shoploop.notifications.models import Notification


def inbox(*, user) -> QuerySet[Notification]:
    """Newest first; the notifications the person sees in the app."""
    return Notification.objects.filter(recipient=user, in_app=True).order_by("-created_at", "-id")


def unread_count(*, user) -> int:
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def notification_for(*, user, public_id: str) -> Notification | None:
    return Notification.objects.filter(recipient=user, public_id=public_id, in_app=True).first()


# --- who an event concerns ---------------------------------------------------------------------


def user_by_public_id(public_id):
    if not public_id:
        return None
    return get_user_model().objects.filter(public_id=str(public_id)).first()


def users_by_public_ids(public_ids) -> list:
    ids = [str(value) for value in public_ids or () if value]
    return list(get_user_model().objects.filter(public_id__in=ids, is_active=True).order_by("pk"))


def group(public_id):
    from shoploop.deals.groups.models import Group

    return (
        Group.objects.select_related("campaign__sku__product").filter(public_id=public_id).first()
    )


def product_title_of_group(group) -> str:
    return group.campaign.sku.product.title


def group_seats(group, *, states) -> list:
    """Live (or closed) seats of the group with their users, one per person, oldest first."""
    from shoploop.deals.groups.models import Seat

    seats = Seat.objects.select_related("user").filter(group=group, state__in=states)
    by_user = {}
    for seat in seats.order_by("pk"):
        by_user.setdefault(seat.user_id, seat)
    return list(by_user.values())


def group_members_now(group) -> list:
    from shoploop.deals.groups.models import Seat

    return group_seats(group, states=(Seat.State.RESERVED, Seat.State.PAID))


def group_paid_members(group) -> list:
    from shoploop.deals.groups.models import Seat

    return group_seats(group, states=(Seat.State.PAID,))


def group_members_at_failure(group) -> list:
    """The seats that were live when the group failed: closed at the group's closing moment (a
    seat freed earlier, when its hold ran out, left before)."""
    from shoploop.deals.groups.models import Seat

    closed = Seat.objects.select_related("user").filter(
        group=group,
        state__in=(Seat.State.REFUNDED, Seat.State.FREED),
        closed_at=group.closed_at,
    )
    by_user = {}
    for seat in closed.order_by("pk"):
        by_user.setdefault(seat.user_id, seat)
    return list(by_user.values())


def bargain(public_id):
    from shoploop.deals.bargains.models import Bargain

    return (
        Bargain.objects.select_related("campaign", "initiator").filter(public_id=public_id).first()
    )


def bargains_expiring(*, start, end, after_pk: int, limit: int) -> list:
    """Bargaining still open whose deadline falls in (start, end], by primary key."""
    from shoploop.deals.bargains.models import Bargain

    return list(
        Bargain.objects.select_related("campaign", "initiator")
        .filter(state=Bargain.State.ACTIVE, deadline__gt=start, deadline__lte=end, pk__gt=after_pk)
        .order_by("pk")[:limit]
    )


def project(public_id):
    from shoploop.deals.crowdfunding.models import Project

    return Project.objects.filter(public_id=public_id).first()


def project_backers(project) -> list:
    """Everyone whose pledge was paid: open, charged or refunded (not the unpaid, cancelled)."""
    from shoploop.deals.crowdfunding.models import Pledge

    states = (Pledge.State.ACTIVE, Pledge.State.CHARGED, Pledge.State.REFUNDED)
    backer_ids = (
        Pledge.objects.filter(project=project, state__in=states)
        .values_list("backer_id", flat=True)
        .distinct()
    )
    return list(get_user_model().objects.filter(pk__in=backer_ids).order_by("pk"))


def order(public_id):
    from shoploop.orders.models import Order

    return (
        Order.objects.select_related("buyer", "shop__owner", "pickup_point__leader")
        .filter(public_id=public_id)
        .first()
    )


def order_title(order) -> str:
    """What the order is, in a few words: its first line's title (+ how many more lines)."""
    titles = list(order.lines.order_by("pk").values_list("title", flat=True)[:2])
    if not titles:
        return ""
    # Counted only when there is more than one line (most orders have one: no second read).
    count = order.lines.count() if len(titles) > 1 else 1
    return titles[0] if count == 1 else f"{titles[0]} +{count - 1}"


def after_sale(public_id):
    from shoploop.orders.models import AfterSale

    return (
        AfterSale.objects.select_related("order__buyer", "order__shop__owner")
        .filter(public_id=public_id)
        .first()
    )


def unread_chat_notification_exists(*, user, conversation: str) -> bool:
    return Notification.objects.filter(
        recipient=user,
        kind="chat_message",
        read_at__isnull=True,
        params__conversation=conversation,
    ).exists()
