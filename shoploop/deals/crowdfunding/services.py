"""Every write of crowdfunding.

Money: a pledge is a deal order (``orders.services.place_deal_order``, no SKU) paid into a hold.
Counters: the project's pledged amount, units and backers count ACTIVE pledges and change only by
conditional UPDATEs guarded by ``state=live``; a tier's ``claimed`` counts open pledges and changes
by ``claimed < limit`` conditional UPDATEs.

Payment window: a pledge's payment window ends at the project's deadline at the latest
(``expires_at = min(window, deadline)``), and a capture that arrives after the deadline is
refunded, never counted, even before the settle has decided the project (``_count_payment``).

Lock order (PostgreSQL, deadlock-free), the same on every path:

    pledge row → the orders services (checkout → payment → order → ledger accounts) → shared
    rows: the project's counters (one conditional UPDATE) → the tier's ``claimed`` (one
    conditional UPDATE)

The project and tier rows are the hot rows every backer touches, so they change only by
conditional UPDATEs placed after the orders' rows, and their locks are held from that statement
to the commit. Deciding the outcome locks only the project row. Backing never locks the project.
Adding an image locks the project row alone, for one insert (the file is prepared before).

Settling at the deadline is two steps, each safe to repeat and to crash in:
1. the outcome is decided ONCE by one conditional UPDATE live → succeeded/failed on the project
   (the target is compared with the counters in the same statement, so a payment counted at the
   same moment is either in the decision or refused);
2. the open pledges are processed in small batches, each batch in its own transaction, each
   pledge moving by a conditional state update (active → charged / refunded, pending → cancelled)
   together with its order. A crash loses at most the batch in flight, and re-running finishes the
   rest; a pledge already moved is never picked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Q, Value, When
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import selectors as catalog_selectors
from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.money import validate_fen
from shoploop.core.text import clean_text
from shoploop.deals import registry
from shoploop.deals.crowdfunding.models import (
    MAX_PROJECT_IMAGES,
    Pledge,
    Project,
    ProjectImage,
    RewardTier,
    Update,
)
from shoploop.orders import pickup_selectors
from shoploop.orders import services as order_services
from shoploop.orders.models import Order

DEAL_PREFIX = "pledge"
SETTLE_BATCH_SIZE = 20
DECIDE_BATCH_SIZE = 50  # due projects read per query by ``settle``
SETTLE_PROJECTS_PER_RUN = 200  # closed projects whose pledges one ``settle`` run processes
MAX_TIERS = 10
MAX_DURATION = timedelta(days=90)
MIN_DURATION = timedelta(minutes=5)
MAX_TARGET_UNITS = 1_000_000
# The same size as product photos: the project page shows them in the same gallery.
IMAGE_MAX_SIDE = catalog_services.PRODUCT_IMAGE_MAX_SIDE


def payment_minutes() -> int:
    """How long a pledge waits for its payment (``SHOPLOOP_CROWDFUNDING_PAYMENT_MINUTES``)."""
    return settings.DEALS_CROWDFUNDING_PAYMENT_MINUTES


# --- creating -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierSpec:
    title: str
    price_fen: int
    units: int = 1
    limit: int | None = None
    estimated_delivery: date | None = None


def _require_user(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def creator_shop(*, actor) -> Shop:
    """The actor's approved shop: merchants, and community owners who opened one."""
    _require_user(actor)
    shop = catalog_selectors.shop_of(user=actor)
    if shop is None or shop.status != Shop.Status.APPROVED:
        raise PermissionDenied(
            _("Only an approved shop can start a crowdfunding project."), code="no_shop"
        )
    return shop


def _require_owner(*, project: Project, actor) -> None:
    _require_user(actor)
    if project.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is another shop's project."), code="not_your_project")


def _int(value, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("This must be a whole number."), fields={field: "not_integer"})
    return value


def _clean_target(*, target_kind: str, target_value) -> tuple[str, int]:
    if target_kind not in Project.TargetKind.values:
        raise ValidationFailed(
            _("The target is an amount or a number of units."), fields={"target_kind": "invalid"}
        )
    target_value = _int(target_value, field="target_value")
    if target_value <= 0:
        raise ValidationFailed(
            _("The target must be greater than zero."), fields={"target_value": "not_positive"}
        )
    if target_kind == Project.TargetKind.FEN:
        validate_fen(target_value, field="target_value")
    elif target_value > MAX_TARGET_UNITS:
        raise ValidationFailed(_("The target is too large."), fields={"target_value": "too_large"})
    return target_kind, target_value


def _clean_deadline(deadline, *, now: datetime) -> datetime:
    if not isinstance(deadline, datetime) or deadline.tzinfo is None:
        raise ValidationFailed(
            _("Give the deadline as a date and time."), fields={"deadline": "invalid"}
        )
    if deadline <= now + MIN_DURATION:
        raise ValidationFailed(
            _("The deadline must be in the future."), fields={"deadline": "in_the_past"}
        )
    if deadline > now + MAX_DURATION:
        raise ValidationFailed(
            _("A project runs for at most 90 days."), fields={"deadline": "too_far"}
        )
    return deadline


def _clean_tier(spec: TierSpec, *, index: int, deadline: datetime) -> TierSpec:
    field = f"tiers.{index}"
    title = clean_text(spec.title, field=f"{field}.title", max_length=120, required=True)
    price = _int(spec.price_fen, field=f"{field}.price_fen")
    if price <= 0:
        raise ValidationFailed(
            _("A tier's price must be greater than zero."), fields={f"{field}.price_fen": "zero"}
        )
    validate_fen(price, field=f"{field}.price_fen")
    units = _int(spec.units, field=f"{field}.units")
    if not 1 <= units <= 1000:
        raise ValidationFailed(
            _("A tier gives between 1 and 1000 units."), fields={f"{field}.units": "invalid"}
        )
    limit = spec.limit
    if limit is not None:
        limit = _int(limit, field=f"{field}.limit")
        if not 1 <= limit <= 1_000_000:
            raise ValidationFailed(
                _("A tier's limit must be at least 1 (or empty for no limit)."),
                fields={f"{field}.limit": "invalid"},
            )
    delivery = spec.estimated_delivery
    if not isinstance(delivery, date) or delivery < deadline.date():
        raise ValidationFailed(
            _("The estimated delivery must be a date after the deadline."),
            fields={f"{field}.estimated_delivery": "invalid"},
        )
    return TierSpec(title, price, units, limit, delivery)


def create_project(
    *,
    actor,
    title: str,
    story: str,
    target_kind: str,
    target_value: int,
    deadline: datetime,
    tiers: list[TierSpec],
) -> Project:
    """A live project with its reward tiers, checked whole before anything is written."""
    shop = creator_shop(actor=actor)
    now = clock.now()
    title = clean_text(title, field="title", max_length=120, required=True)
    story = clean_text(story, field="story", max_length=10000, required=True)
    target_kind, target_value = _clean_target(target_kind=target_kind, target_value=target_value)
    deadline = _clean_deadline(deadline, now=now)
    if not tiers:
        raise ValidationFailed(_("Add at least one reward tier."), fields={"tiers": "required"})
    if len(tiers) > MAX_TIERS:
        raise ValidationFailed(
            _("At most %(max)d reward tiers.") % {"max": MAX_TIERS}, fields={"tiers": "too_many"}
        )
    cleaned = [_clean_tier(spec, index=i, deadline=deadline) for i, spec in enumerate(tiers)]
    with transaction.atomic():
        project = Project.objects.create(
            shop=shop,
            title=title,
            story=story,
            target_kind=target_kind,
            target_value=target_value,
            deadline=deadline,
            created_at=now,
        )
        RewardTier.objects.bulk_create(
            [
                RewardTier(
                    project=project,
                    position=i,
                    title=spec.title,
                    price_fen=spec.price_fen,
                    units=spec.units,
                    limit=spec.limit,
                    estimated_delivery=spec.estimated_delivery,
                )
                for i, spec in enumerate(cleaned)
            ]
        )
        publish(
            "crowdfunding.project.created",
            project_public_id=project.public_id,
            shop_public_id=shop.public_id,
        )
    return project


def post_update(*, project: Project, actor, body: str) -> Update:
    _require_owner(project=project, actor=actor)
    body = clean_text(body, field="body", max_length=5000, required=True)
    with transaction.atomic():
        update = Update.objects.create(project=project, body=body)
        publish(
            "crowdfunding.project.update_posted",
            project_public_id=project.public_id,
            update_public_id=update.public_id,
        )
    return update


def cancel_project(*, project: Project, actor) -> Project:
    """The creator calls it off before the deadline: like a failure, every backer is refunded
    (by the settle, which processes cancelled projects like failed ones)."""
    _require_owner(project=project, actor=actor)
    now = clock.now()
    with transaction.atomic():
        changed = Project.objects.filter(pk=project.pk, state=Project.State.LIVE).update(
            state=Project.State.CANCELLED, decided_at=now
        )
        if changed:
            publish("crowdfunding.project.cancelled", project_public_id=project.public_id)
    if not changed:
        raise Conflict(_("This project is already closed."), code="project_closed")
    project.refresh_from_db()
    settle_pledges_of(project=project, now=now)
    return project


def _set_paused(*, project: Project, actor, paused: bool) -> Project:
    _require_owner(project=project, actor=actor)
    now = clock.now()
    rows = Project.objects.filter(pk=project.pk, state=Project.State.LIVE, deadline__gt=now)
    changed = (
        rows.filter(paused_at__isnull=True).update(paused_at=now)
        if paused
        else rows.filter(paused_at__isnull=False).update(paused_at=None)
    )
    project.refresh_from_db()
    if not changed and project.is_paused != paused:
        raise Conflict(_("This project is already closed."), code="project_closed")
    if changed:
        publish(
            "crowdfunding.project.paused" if paused else "crowdfunding.project.resumed",
            project_public_id=project.public_id,
        )
    return project


def pause_project(*, project: Project, actor) -> Project:
    """No new pledges until resumed. The deadline is not moved: backers may still pay, cancel,
    and the project is settled at its deadline as usual. Pausing twice changes nothing."""
    return _set_paused(project=project, actor=actor, paused=True)


def resume_project(*, project: Project, actor) -> Project:
    return _set_paused(project=project, actor=actor, paused=False)


# --- images ---------------------------------------------------------------------------------


def add_project_image(*, project: Project, actor, upload) -> ProjectImage:
    """A photo for the project's story, while it is live, at most MAX_PROJECT_IMAGES.

    The upload goes through ``core.images`` (opened by Pillow, JPEG/PNG/WebP only, at most 5 MB,
    shrunk to IMAGE_MAX_SIDE and re-encoded); a bad file raises ``ValidationFailed`` before
    anything is written."""
    _require_owner(project=project, actor=actor)
    prepared = prepared_image(upload, max_width=IMAGE_MAX_SIDE, max_height=IMAGE_MAX_SIDE)
    with transaction.atomic():
        # The project row lock makes "at most nine" hold when two uploads arrive together; it is
        # held only for the insert (the image was prepared before).
        locked = Project.objects.select_for_update().filter(pk=project.pk).first()
        if locked is None or locked.state != Project.State.LIVE:
            raise Conflict(
                _("This project is closed: its images can no longer be added."),
                code="project_closed",
            )
        existing = ProjectImage.objects.filter(project_id=project.pk)
        if existing.count() >= MAX_PROJECT_IMAGES:
            raise ValidationFailed(
                _("A project can have at most %(max)d images.") % {"max": MAX_PROJECT_IMAGES},
                code="too_many_images",
                fields={"image": "too_many"},
            )
        last = existing.aggregate(last=Max("position"))["last"]
        image = ProjectImage(
            project=project,
            width=prepared.width,
            height=prepared.height,
            position=0 if last is None else last + 1,
        )
        save_with_image(image, prepared.file)
    return image


def remove_project_image(*, image: ProjectImage, actor) -> None:
    """The creator takes a photo down (in any state); its file goes once the row is gone."""
    _require_owner(project=image.project, actor=actor)
    with transaction.atomic():
        deleted, _counts = ProjectImage.objects.filter(pk=image.pk).delete()
        if not deleted:
            raise NotFound(_("This image no longer exists."), code="image_not_found")
        name, storage = image.image.name, image.image.storage
        transaction.on_commit(lambda: storage.delete(name))


# --- backing --------------------------------------------------------------------------------


def _deal_title(tier: RewardTier) -> str:
    return f"{tier.project.title} · {tier.title}"[:200]


def back(*, tier: RewardTier, user, address_id: str) -> Pledge:
    """A pledge awaiting payment: a place in the tier (``claimed < limit``) and a deal order,
    whose reward (every tier's reward is a physical good) ships to the backer's ``address_id``.

    The buyer pays at ``orders.selectors.pay_url(checkout=pledge.order.checkout)``; the payment's
    success (``on_payment_succeeded``) makes the pledge active and counts it."""
    _require_user(user)
    project = Project.objects.select_related("shop").get(pk=tier.project_id)
    now = clock.now()
    if project.state != Project.State.LIVE or now >= project.deadline:
        raise Conflict(_("This project is closed: it no longer takes pledges."), code="closed")
    if project.shop.owner_id == user.pk:
        raise Conflict(_("You cannot back your own project."), code="own_project")
    if project.is_paused:
        raise Conflict(
            _("The creator paused this project: it takes no new pledges for now."), code="paused"
        )
    # Read before any write: a missing or foreign address takes no place in the tier.
    address = order_services.buyer_address(buyer=user, address_public_id=address_id)
    expires_at = min(now + timedelta(minutes=payment_minutes()), project.deadline)
    with transaction.atomic():
        try:
            with transaction.atomic():
                pledge = Pledge.objects.create(
                    project=project,
                    tier=tier,
                    backer=user,
                    amount_fen=tier.price_fen,
                    units=tier.units,
                    expires_at=expires_at,
                    created_at=now,
                )
        except IntegrityError:
            raise Conflict(
                _("You already back this project; cancel that pledge first to change tiers."),
                code="already_backed",
            ) from None
        if tier.limit is not None and tier.claimed >= tier.limit:
            # A fast answer from the row as read; the conditional UPDATE below decides.
            raise Conflict(_("This reward tier is sold out."), code="tier_sold_out")
        tier.project = project
        order = order_services.place_deal_order(
            buyer=user,
            shop=project.shop,
            title=_deal_title(tier),
            unit_price_fen=tier.price_fen,
            quantity=1,
            deal_ref=registry.deal_ref(DEAL_PREFIX, pledge.public_id),
            expires_at=expires_at,
            address=address,
            product_public_id=project.public_id,
            options={"tier": tier.title},
        )
        Pledge.objects.filter(pk=pledge.pk).update(order=order)
        pledge.order = order
        # The tier's place last (lock order: checkout → payment → order → tier); sold out here
        # rolls the pledge and its order back.
        claimed = (
            RewardTier.objects.filter(pk=tier.pk)
            .filter(Q(limit__isnull=True) | Q(claimed__lt=F("limit")))
            .update(claimed=F("claimed") + 1)
        )
        if not claimed:
            raise Conflict(_("This reward tier is sold out."), code="tier_sold_out")
    return pledge


def _pledge_of(order: Order) -> Pledge | None:
    return Pledge.objects.select_for_update().filter(order_id=order.pk).first()


def _count(project_id: int, pledge: Pledge, sign: int) -> int:
    """Add (or take away) an active pledge in the project's counters, only while it is live."""
    return Project.objects.filter(pk=project_id, state=Project.State.LIVE).update(
        pledged_fen=F("pledged_fen") + sign * pledge.amount_fen,
        pledged_units=F("pledged_units") + sign * pledge.units,
        backers=F("backers") + sign,
    )


def _count_payment(pledge: Pledge, *, arrived) -> int:
    """Count a pledge whose capture arrived at ``arrived``: only while the project is live AND
    the capture came before its deadline, in the same conditional UPDATE, so a late capture is
    never counted, whether or not the settle has decided the project yet."""
    return Project.objects.filter(
        pk=pledge.project_id, state=Project.State.LIVE, deadline__gt=arrived
    ).update(
        pledged_fen=F("pledged_fen") + pledge.amount_fen,
        pledged_units=F("pledged_units") + pledge.units,
        backers=F("backers") + 1,
    )


def _captured_at(order: Order):
    """When the ledger recorded the capture of the order's payment (None if not captured)."""
    from shoploop.ledger.services import payments

    if not order.checkout.payment_public_id:
        return None
    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    return payment.captured_at if payment is not None else None


def _free_tier_place(pledge: Pledge) -> None:
    RewardTier.objects.filter(pk=pledge.tier_id, claimed__gt=0).update(claimed=F("claimed") - 1)


def _close_pledge(pledge: Pledge, *, source: str, target: str, now) -> bool:
    changed = Pledge.objects.filter(pk=pledge.pk, state=source).update(state=target, closed_at=now)
    if changed:
        pledge.state, pledge.closed_at = target, now
    return bool(changed)


class _ProjectClosed(Exception):
    """The project was decided before this payment could be counted (rolls a savepoint back)."""


def on_payment_succeeded(order: Order) -> str:
    """The backer paid. Counted and held if the capture arrived before the deadline and the
    project is still live (not decided); refunded otherwise. The pledge's payment window already
    ends at the deadline at the latest, but a payment begun in time may be captured after it.
    Idempotent: a replayed event finds the pledge active and changes nothing.

    The hold is taken first and the project's counters last (lock order); when the counters
    refuse (the outcome was decided a moment ago), a savepoint takes the hold back and the
    payment is refunded instead, so a pledge is never held without being counted."""
    now = clock.now()
    with transaction.atomic():
        pledge = _pledge_of(order)
        if pledge is None:
            return order_services.settle_deal_payment(order=order, accept=False)
        if pledge.state != Pledge.State.PENDING_PAYMENT:
            # Active/charged: a replay. Cancelled/refunded: the money came late → refunded.
            keep = pledge.state in (Pledge.State.ACTIVE, Pledge.State.CHARGED)
            return order_services.settle_deal_payment(order=order, accept=keep, await_deal=True)
        try:
            with transaction.atomic():
                outcome = order_services.settle_deal_payment(
                    order=order, accept=True, await_deal=True
                )
                if outcome != "awaiting":
                    return outcome  # not captured in full: not a backer yet
                _close_pledge(
                    pledge,
                    source=Pledge.State.PENDING_PAYMENT,
                    target=Pledge.State.ACTIVE,
                    now=None,
                )
                # Written before the project's counters (the hot row, last); rolled back with
                # everything else when the payment is not counted.
                publish(
                    "crowdfunding.pledge.paid",
                    pledge_public_id=pledge.public_id,
                    project_public_id=pledge.project.public_id,
                    order_public_id=order.public_id,
                    backer_public_id=order.buyer.public_id,
                    shop_public_id=order.shop.public_id,
                    community_public_id=pickup_selectors.community_public_id_of(order=order),
                )
                # A capture that arrived after the deadline is not counted (refunded below),
                # even while the project still waits for the settle to decide it.
                if not _count_payment(pledge, arrived=_captured_at(order) or now):
                    pledge.state = Pledge.State.PENDING_PAYMENT
                    raise _ProjectClosed
                return outcome
        except _ProjectClosed:
            pass
        # The deadline passed (or the project was decided) before the capture arrived: the
        # pledge is over, money back.
        _close_pledge(
            pledge, source=Pledge.State.PENDING_PAYMENT, target=Pledge.State.CANCELLED, now=now
        )
        outcome = order_services.settle_deal_payment(order=order, accept=False)
        _free_tier_place(pledge)
    return outcome


def on_payment_failed(order: Order) -> None:
    """A failed or cancelled payment leaves the pledge awaiting payment: the buyer may pay again
    until the payment window closes, then the unpaid sweep frees the place."""
    return None


def cancel_pledge(*, pledge: Pledge, actor) -> Pledge:
    """The backer withdraws before the deadline: the place and the counters go back and a paid
    pledge's hold is voided and refunded, once."""
    _require_user(actor)
    if pledge.backer_id != actor.pk:
        raise PermissionDenied(_("This is not your pledge."), code="not_your_pledge")
    now = clock.now()
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("order", "project")
            .get(pk=pledge.pk)
        )
        if pledge.state not in Pledge.OPEN_STATES:
            raise Conflict(_("This pledge is already closed."), code="pledge_closed")
        project = pledge.project
        if project.state != Project.State.LIVE or now >= project.deadline:
            raise Conflict(
                _("The deadline has passed: pledges can no longer be cancelled."), code="closed"
            )
        was_active = pledge.state == Pledge.State.ACTIVE
        _close_pledge(pledge, source=pledge.state, target=Pledge.State.CANCELLED, now=now)
        if pledge.order is not None:
            order_services.cancel_deal_order(
                order=pledge.order, reason=Order.CancelReason.BUYER, actor=actor
            )
        # Shared rows last. Counters that refuse (the outcome was decided meanwhile) roll the
        # whole cancellation back: the settle charges or refunds the pledge.
        if was_active and not _count(project.pk, pledge, -1):
            raise Conflict(
                _("The deadline has passed: pledges can no longer be cancelled."), code="closed"
            )
        _free_tier_place(pledge)
    return pledge


# --- deadlines ------------------------------------------------------------------------------


def _payment_captured(order: Order) -> bool:
    from shoploop.ledger.services import payments

    if not order.checkout.payment_public_id:
        return False
    payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
    return payment is not None and payment.state == "succeeded"


def expire_unpaid_pledges(now) -> int:
    """Pledges not paid within the payment window: order cancelled, tier place freed. A payment
    whose success event was lost is settled instead (counted if its capture arrived before the
    deadline and the project is still live, else refunded)."""
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                Pledge.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order__checkout")
                .filter(state=Pledge.State.PENDING_PAYMENT, expires_at__lte=now)
                .order_by("expires_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for pledge in batch:
                if pledge.order is not None and _payment_captured(pledge.order):
                    on_payment_succeeded(pledge.order)
                    continue
                if _close_pledge(
                    pledge,
                    source=Pledge.State.PENDING_PAYMENT,
                    target=Pledge.State.CANCELLED,
                    now=now,
                ):
                    if pledge.order is not None:
                        order_services.cancel_deal_order(
                            order=pledge.order, reason=Order.CancelReason.EXPIRED
                        )
                    _free_tier_place(pledge)  # shared rows after the order's
                    expired += 1
        if len(batch) < SETTLE_BATCH_SIZE:
            return expired


def decide_outcome(*, project: Project, now) -> bool:
    """live → succeeded or failed, ONCE: one conditional UPDATE that compares the target with the
    counters it sees, so the decision and the counted pledges cannot disagree."""
    reached = Q(target_kind=Project.TargetKind.FEN, pledged_fen__gte=F("target_value")) | Q(
        target_kind=Project.TargetKind.UNITS, pledged_units__gte=F("target_value")
    )
    due = Project.objects.filter(pk=project.pk, state=Project.State.LIVE, deadline__lte=now)
    with transaction.atomic():
        # Another worker deciding it (or a payment being counted) holds the row: leave it to
        # them / to the next run instead of waiting (SKIP LOCKED on PostgreSQL; no-op on SQLite).
        if not list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:1]):
            return False
        changed = due.update(
            state=Case(
                When(reached, then=Value(Project.State.SUCCEEDED)),
                default=Value(Project.State.FAILED),
            ),
            decided_at=now,
        )
        if changed:
            project.refresh_from_db()
            succeeded = project.state == Project.State.SUCCEEDED
            publish(
                "crowdfunding.project.succeeded" if succeeded else "crowdfunding.project.failed",
                project_public_id=project.public_id,
            )
    return bool(changed)


def _settle_pledge(pledge: Pledge, *, succeeded: bool, now) -> bool:
    """Move one open pledge of a closed project, with its order, exactly once (the conditional
    state update is the guard: a pledge already moved is left alone)."""
    order = pledge.order
    if pledge.state == Pledge.State.ACTIVE:
        target = Pledge.State.CHARGED if succeeded else Pledge.State.REFUNDED
        if not _close_pledge(pledge, source=Pledge.State.ACTIVE, target=target, now=now):
            return False
        if succeeded:
            order_services.confirm_deal_order(order=order)
        else:
            order_services.cancel_deal_order(order=order, reason=Order.CancelReason.DEAL_FAILED)
        return True
    if not _close_pledge(
        pledge, source=Pledge.State.PENDING_PAYMENT, target=Pledge.State.CANCELLED, now=now
    ):
        return False
    if order is not None:
        if _payment_captured(order):
            # Paid but never counted (its event lost or late): not part of the outcome, refunded.
            order_services.settle_deal_payment(order=order, accept=False)
        else:
            order_services.cancel_deal_order(order=order, reason=Order.CancelReason.DEAL_FAILED)
    _free_tier_place(pledge)  # shared rows after the order's
    return True


# A hook for crash tests: called after each pledge is moved, inside the batch's transaction.
def _after_pledge_settled(pledge: Pledge) -> None:
    return None


def settle_pledges_of(*, project: Project, now) -> int:
    """Process a closed project's open pledges in batches of SETTLE_BATCH_SIZE, each batch its own
    transaction; mark the project settled when none is left (a pledge locked by another worker
    keeps it unsettled until a later run)."""
    succeeded = project.state == Project.State.SUCCEEDED
    moved = 0
    while True:
        with transaction.atomic():
            batch = list(
                Pledge.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order__checkout")
                .filter(project_id=project.pk, state__in=Pledge.OPEN_STATES)
                .order_by("pk")[:SETTLE_BATCH_SIZE]
            )
            for pledge in batch:
                if _settle_pledge(pledge, succeeded=succeeded, now=now):
                    moved += 1
                    _after_pledge_settled(pledge)
        if len(batch) < SETTLE_BATCH_SIZE:
            break
    if not Pledge.objects.filter(project_id=project.pk, state__in=Pledge.OPEN_STATES).exists():
        Project.objects.filter(pk=project.pk, settled_at__isnull=True).update(settled_at=now)
    return moved


def settle(now) -> int:
    """Close every project past its deadline and process every closed, unsettled project."""
    processed = 0
    after = 0  # a pk cursor: a project skipped (locked elsewhere) is not picked again this run
    while True:
        due = list(
            Project.objects.filter(
                state=Project.State.LIVE, deadline__lte=now, pk__gt=after
            ).order_by("pk")[:DECIDE_BATCH_SIZE]
        )
        for project in due:
            decide_outcome(project=project, now=now)
            after = project.pk
        if len(due) < DECIDE_BATCH_SIZE:
            break
    unsettled = Project.objects.filter(
        state__in=Project.CLOSED_STATES, settled_at__isnull=True
    ).order_by("decided_at", "pk")
    # A snapshot: a project left unsettled (pledges locked by another worker) waits for next run.
    for project in list(unsettled[:SETTLE_PROJECTS_PER_RUN]):
        processed += settle_pledges_of(project=project, now=now)
    return processed
