"""Every write to crowdsourcing tasks. One transaction each; who acts is checked here; a
DomainError is raised before anything changes (or inside the transaction, which rolls back);
events go to the outbox with the change.

Lock order (architecture.md): the task row first (a pick, a cancel and the deadline lock it),
then the coupon's counter and the ledger accounts, each changed by one conditional UPDATE.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.money import MAX_PRICE_FEN, validate_fen
from shoploop.core.text import clean_text
from shoploop.coupons.models import Coupon
from shoploop.coupons.services import issue_coupon
from shoploop.crowdtasks import rewards, selectors
from shoploop.crowdtasks.models import (
    BRIEF_MAX_LENGTH,
    ENTRY_MAX_LENGTH,
    MAX_WINNERS,
    TITLE_MAX_LENGTH,
    Entry,
    Task,
    Winner,
)
from shoploop.ledger.errors import InsufficientFunds

MAX_DURATION = timedelta(days=90)
PHOTO_MAX_WIDTH = 1600
CLOSE_BATCH_SIZE = 50


# --- the merchant publishes -------------------------------------------------------------------


def publish_task(
    *,
    actor,
    shop: Shop,
    kind: str,
    title: str,
    brief: str,
    deadline: datetime,
    winners_count: int,
    reward_kind: str,
    reward_fen: int | None = None,
    coupon_public_id: str | None = None,
    audience: str = Task.Audience.EVERYONE,
) -> Task:
    """Post a task for the actor's approved shop. A money reward (``reward_fen`` per winner) is
    reserved from the shop's available balance at once (``insufficient_balance`` when it is
    smaller, and nothing is stored); a coupon reward names one of the shop's coupons with
    copies enough for every winner, valid past the deadline."""
    _require_shop_owner(shop=shop, actor=actor)
    if shop.status != Shop.Status.APPROVED:
        raise Conflict(_("Your shop has not been approved yet."), code="shop_not_approved")
    now = clock.now()
    fields = {
        "kind": _choice(kind, Task.Kind, field="kind"),
        "title": clean_text(title, field="title", max_length=TITLE_MAX_LENGTH, required=True),
        "brief": clean_text(brief, field="brief", max_length=BRIEF_MAX_LENGTH, required=True),
        "deadline": _deadline(deadline, now=now),
        "winners_count": _winners_count(winners_count),
        "audience": _choice(audience, Task.Audience, field="audience"),
        "reward_kind": _choice(reward_kind, Task.RewardKind, field="reward_kind"),
    }
    fields.update(_reward(shop=shop, fields=fields, reward_fen=reward_fen, coupon=coupon_public_id))
    with transaction.atomic():
        task = Task.objects.create(shop=shop, created_by=actor, created_at=now, **fields)
        if task.is_money:
            _reserve(task)
        publish(
            "crowdtasks.task.published",
            task_public_id=task.public_id,
            shop_public_id=shop.public_id,
            actor_public_id=actor.public_id,
            kind=task.kind,
            reward_kind=task.reward_kind,
            reserved_fen=task.reserved_fen,
            winners_count=task.winners_count,
        )
    return task


def _reserve(task: Task) -> None:
    try:
        rewards.reserve(
            task_public_id=task.public_id,
            shop_public_id=task.shop.public_id,
            amount=task.reserved_fen,
        )
    except InsufficientFunds:
        raise Conflict(
            _("The reward is larger than your shop's available balance."),
            code="insufficient_balance",
            fields={"reward_fen": "exceeds_available"},
        ) from None


def _reward(*, shop: Shop, fields: dict, reward_fen, coupon) -> dict:
    winners = fields["winners_count"]
    if fields["reward_kind"] == Task.RewardKind.MONEY:
        per_winner = validate_fen(reward_fen, field="reward_fen")
        if per_winner * winners > MAX_PRICE_FEN:
            raise ValidationFailed(
                _("The amount is too large."), fields={"reward_fen": "too_large"}
            )
        return {"reward_fen": per_winner, "coupon": None, "reserved_fen": per_winner * winners}
    return {
        "reward_fen": 0,
        "coupon": _prize_coupon(shop=shop, public_id=coupon, fields=fields),
        "reserved_fen": 0,
    }


def _prize_coupon(*, shop: Shop, public_id, fields: dict) -> Coupon:
    coupon = Coupon.objects.filter(shop=shop, public_id=str(public_id or "")).first()
    if coupon is None:
        raise ValidationFailed(
            _("Choose one of your shop's coupons as the prize."),
            code="coupon_not_found",
            fields={"coupon": "not_found"},
        )
    remaining = coupon.total_quantity - coupon.claimed_count
    if (
        coupon.is_paused
        or coupon.ends_at <= fields["deadline"]
        or remaining < fields["winners_count"]
    ):
        raise ValidationFailed(
            _(
                "The prize coupon must be active, valid after the deadline, and have a copy "
                "left for every winner."
            ),
            code="coupon_unsuitable",
            fields={"coupon": "unsuitable"},
        )
    return coupon


# --- members enter -------------------------------------------------------------------------------


def submit_entry(*, task: Task, author, text: str, photo=None) -> Entry:
    """One entry per person per task, before the deadline (``already_entered``,
    ``deadline_passed``, ``task_closed``, ``not_eligible``)."""
    _require_user(author)
    if not selectors.may_enter(task=task, user=author):
        raise PermissionDenied(_("This task is not open to you."), code="not_eligible")
    body = clean_text(text, field="text", max_length=ENTRY_MAX_LENGTH, required=True)
    prepared = prepared_image(photo, max_width=PHOTO_MAX_WIDTH, field="photo") if photo else None
    now = clock.now()
    with transaction.atomic():
        # The count is the task's one contended number; the update also refuses a closed task
        # or a passed deadline in the same statement (and queues behind a cancel's lock).
        counted = Task.objects.filter(pk=task.pk, state=Task.State.OPEN, deadline__gt=now).update(
            entries_count=F("entries_count") + 1
        )
        if not counted:
            raise _why_closed(task_pk=task.pk, now=now)
        entry = Entry(task=task, author=author, text=body, created_at=now)
        try:
            with transaction.atomic():
                if prepared:
                    save_with_image(entry, prepared.file, field="photo")
                else:
                    entry.save()
        except IntegrityError:
            raise Conflict(
                _("You have already entered this task."), code="already_entered"
            ) from None
        publish(
            "crowdtasks.entry.submitted",
            aggregate=f"crowdtasks.task:{task.public_id}",
            task_public_id=task.public_id,
            entry_public_id=entry.public_id,
            shop_public_id=task.shop.public_id,
            author_public_id=author.public_id,
        )
    return entry


# --- the merchant picks winners ------------------------------------------------------------------


def pick_winner(*, actor, task: Task, entry_public_id: str) -> Winner:
    """Make an entry a winner and give its reward, exactly once: a retry (or a second click at
    the same moment) gets the same winner back and pays nothing more. Refused after the deadline
    (``deadline_passed``), once every prize is given (``winners_full``), on a cancelled task
    (``task_closed``)."""
    _require_shop_owner(shop=task.shop, actor=actor)
    entry = selectors.entry_in_task(task=task, public_id=entry_public_id)
    now = clock.now()
    with transaction.atomic():
        locked = (
            Task.objects.select_for_update(of=("self",))
            .select_related("shop", "coupon")
            .get(pk=task.pk)
        )
        earlier = Winner.objects.filter(entry=entry).first()
        if earlier is not None:
            return earlier
        _require_pickable(locked, now=now)
        winner = Winner.objects.create(task=locked, entry=entry, user=entry.author, picked_at=now)
        _give_reward(task=locked, winner=winner)
        Task.objects.filter(pk=locked.pk).update(
            winners_picked=F("winners_picked") + 1,
            paid_fen=F("paid_fen") + winner.amount_fen,
        )
        publish(
            "crowdtasks.task.winner_picked",
            task_public_id=locked.public_id,
            shop_public_id=locked.shop.public_id,
            winner_public_id=winner.public_id,
            entry_public_id=entry.public_id,
            user_public_id=entry.author.public_id,
            actor_public_id=actor.public_id,
            reward_kind=locked.reward_kind,
            amount_fen=winner.amount_fen,
        )
        if locked.winners_picked + 1 == locked.winners_count:
            _end(locked, now=now)
    return winner


def _require_pickable(task: Task, *, now: datetime) -> None:
    if task.state == Task.State.CANCELLED:
        raise Conflict(_("This task was cancelled."), code="task_closed")
    if now >= task.deadline:
        raise Conflict(_("The deadline of this task has passed."), code="deadline_passed")
    if task.state != Task.State.OPEN or task.winners_picked >= task.winners_count:
        raise Conflict(_("Every prize of this task has been given."), code="winners_full")


def _give_reward(*, task: Task, winner: Winner) -> None:
    if task.is_money:
        rewards.pay(
            task_public_id=task.public_id,
            winner_public_id=winner.public_id,
            user_public_id=winner.user.public_id,
            amount=task.reward_fen,
        )
        winner.amount_fen = task.reward_fen
    else:
        claim = issue_coupon(
            coupon=task.coupon, user=winner.user, reason_ref=f"crowdtask_winner:{winner.public_id}"
        )
        winner.coupon_claim_public_id = claim.public_id
    winner.save(update_fields=["amount_fen", "coupon_claim_public_id"])


# --- the end of a task ---------------------------------------------------------------------------


def cancel_task(*, actor, task: Task) -> Task:
    """Withdraw a task nobody has entered yet; a money reward goes back to the shop at once."""
    _require_shop_owner(shop=task.shop, actor=actor)
    with transaction.atomic():
        locked = Task.objects.select_for_update(of=("self",)).select_related("shop").get(pk=task.pk)
        if locked.state != Task.State.OPEN:
            raise Conflict(_("This task has already ended."), code="task_closed")
        if locked.entries_count:
            raise Conflict(
                _("People have entered this task; it can no longer be cancelled."),
                code="has_entries",
            )
        _end(locked, now=clock.now(), cancelled=True)
    task.refresh_from_db()
    return task


def close_due(now: datetime) -> int:
    """settle_due handler: end every open task whose deadline has passed, returning what was not
    paid to the shop. Safe in many workers at once (SKIP LOCKED batches)."""
    closed = 0
    while True:
        with transaction.atomic():
            batch = list(
                Task.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=Task.State.OPEN, deadline__lte=now)
                .select_related("shop")
                .order_by("deadline", "pk")[:CLOSE_BATCH_SIZE]
            )
            for task in batch:
                _end(task, now=now)
        closed += len(batch)
        if len(batch) < CLOSE_BATCH_SIZE:
            return closed


def _end(task: Task, *, now: datetime, cancelled: bool = False) -> None:
    """Under the task's lock: mark it ended and return what is still reserved (once: the state
    changes only from open)."""
    fresh = Task.objects.get(pk=task.pk)
    state = _ending_state(fresh, cancelled=cancelled)
    remainder = fresh.reserved_fen - fresh.paid_fen
    ended = Task.objects.filter(pk=task.pk, state=Task.State.OPEN).update(
        state=state, ended_at=now, refunded_fen=remainder
    )
    if not ended:
        return
    if remainder:
        rewards.refund(
            task_public_id=task.public_id, shop_public_id=task.shop.public_id, amount=remainder
        )
    publish(
        f"crowdtasks.task.{state}",
        task_public_id=task.public_id,
        shop_public_id=task.shop.public_id,
        refunded_fen=remainder,
        winners=fresh.winners_picked,
    )


def _ending_state(task: Task, *, cancelled: bool) -> str:
    if cancelled:
        return Task.State.CANCELLED
    return Task.State.CLOSED if task.winners_picked else Task.State.EXPIRED


# --- checks and input ----------------------------------------------------------------------------


def _require_user(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_shop_owner(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop."), code="not_shop_owner")


def _why_closed(*, task_pk: int, now: datetime) -> Conflict:
    task = Task.objects.get(pk=task_pk)
    if task.state == Task.State.OPEN or now >= task.deadline:
        return Conflict(_("The deadline of this task has passed."), code="deadline_passed")
    return Conflict(_("This task has already ended."), code="task_closed")


def _choice(value, choices, *, field: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            _("Choose one of the offered options."),
            code=f"invalid_{field}",
            fields={field: "invalid"},
        )
    return value


def _deadline(value, *, now: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(
            _("Give the deadline as a date and time."),
            code="invalid_deadline",
            fields={"deadline": "invalid"},
        )
    if not now < value <= now + MAX_DURATION:
        raise ValidationFailed(
            _("The deadline must be in the future and at most 90 days away."),
            code="invalid_deadline",
            fields={"deadline": "out_of_range"},
        )
    return value


def _winners_count(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WINNERS:
        raise ValidationFailed(
            _("Choose between 1 and %(max)d winners.") % {"max": MAX_WINNERS},
            code="invalid_winners_count",
            fields={"winners_count": "out_of_range"},
        )
    return value
