"""Reads of crowdsourcing tasks, with who may see and enter them."""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.catalog.selectors import follows_shop
from shoploop.communities.models import Community, Membership
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.crowdtasks.models import Entry, Task, Winner


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _tasks() -> QuerySet[Task]:
    return Task.objects.select_related("shop", "coupon")


def visible_task(*, public_id: str, viewer=None) -> Task:
    """A task of an approved shop (a pending shop's tasks only for its owner)."""
    task = _tasks().filter(public_id=public_id).first()
    if task is None or (
        task.shop.status != Shop.Status.APPROVED
        and not (_signed_in(viewer) and task.shop.owner_id == viewer.pk)
    ):
        raise NotFound(_("No such task."), code="task_not_found")
    return task


def owned_task(*, public_id: str, actor) -> Task:
    """A task of the actor's own shop: 404 when unknown, 403 ``not_shop_owner`` otherwise."""
    task = _tasks().filter(public_id=public_id).first()
    if task is None:
        raise NotFound(_("No such task."), code="task_not_found")
    if not _signed_in(actor) or task.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop's task."), code="not_shop_owner")
    return task


def shop_tasks(*, shop: Shop) -> QuerySet[Task]:
    return _tasks().filter(shop=shop).order_by("-created_at", "-pk")


def open_tasks(*, shop: Shop) -> QuerySet[Task]:
    return shop_tasks(shop=shop).filter(state=Task.State.OPEN)


def may_enter(*, task: Task, user) -> bool:
    """Everyone signed in, or for a followers' task the shop's followers and the active members
    of the shop's active communities. Never the shop's owner."""
    if not _signed_in(user) or task.shop.owner_id == user.pk:
        return False
    if task.audience == Task.Audience.EVERYONE:
        return True
    if follows_shop(user=user, shop=task.shop):
        return True
    return Membership.objects.filter(
        user=user,
        state=Membership.State.ACTIVE,
        community__state=Community.State.ACTIVE,
        community__in=task.shop.communities.all(),
    ).exists()


def entry_of(*, task: Task, user) -> Entry | None:
    if not _signed_in(user):
        return None
    return Entry.objects.filter(task=task, author=user).select_related("winner").first()


def task_entries(*, task: Task) -> QuerySet[Entry]:
    """Every entry of a task, oldest first, with its author and whether it won."""
    return Entry.objects.filter(task=task).select_related("author", "winner").order_by("pk")


def task_winners(*, task: Task) -> QuerySet[Winner]:
    return Winner.objects.filter(task=task).select_related("user", "entry").order_by("pk")


def entry_in_task(*, task: Task, public_id: str) -> Entry:
    entry = Entry.objects.filter(task=task, public_id=public_id).select_related("author").first()
    if entry is None:
        raise NotFound(_("No such entry in this task."), code="entry_not_found")
    return entry


def my_entries(*, user) -> QuerySet[Entry]:
    return (
        Entry.objects.filter(author=user)
        .select_related("task", "task__shop", "winner")
        .order_by("-created_at", "-pk")
    )


def entrants_without_prize(*, task: Task) -> QuerySet[Entry]:
    return task_entries(task=task).filter(winner__isnull=True)


def task_by_public_id(public_id: str) -> Task | None:
    return _tasks().filter(public_id=public_id).first()


def winner_by_public_id(public_id: str) -> Winner | None:
    return (
        Winner.objects.select_related("task", "task__shop", "user")
        .filter(public_id=public_id)
        .first()
    )
