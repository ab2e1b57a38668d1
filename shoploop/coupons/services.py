"""Every write to coupons. Each function owns one transaction, checks who acts, raises a
DomainError with a stable code before anything changes, and publishes its event after commit.

The checkout contract (orders codes against it): ``quote`` → the discount a claim gives an order,
``redeem`` → the claim is used by that order, ``release`` → the claim is given back when the unpaid
order is cancelled or expires. Coupons never move money: the discount lowers the order total that
orders charges.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
from shoploop.core.money import validate_fen
from shoploop.coupons.models import (
    COUPON_NAME_MAX_LENGTH,
    MAX_PER_USER_LIMIT,
    MAX_PERCENT_OFF,
    MAX_TOTAL_QUANTITY,
    MIN_PERCENT_OFF,
    ORDER_REF_MAX_LENGTH,
    Coupon,
    CouponClaim,
)
from shoploop.coupons.pricing import discount_for

# --- the checkout contract ----------------------------------------------------------------------


def quote(*, claim_public_id: str, user, shop: Shop, subtotal_fen: int) -> int:
    """The discount (fen) the user's claim gives an order of ``subtotal_fen`` at ``shop``.

    Raises NotFound ``coupon_not_found``; PermissionDenied ``coupon_foreign`` (another user's claim
    or another shop's coupon); Conflict ``coupon_used`` / ``coupon_paused`` / ``coupon_not_started``
    / ``coupon_expired`` / ``coupon_below_minimum``; ValidationFailed for a bad subtotal.
    """
    subtotal_fen = validate_fen(subtotal_fen, field="subtotal_fen")
    claim = _claim_of(claim_public_id=claim_public_id, user=user, shop=shop)
    return _discount_if_usable(claim=claim, subtotal_fen=subtotal_fen, now=clock.now())


def redeem(*, claim_public_id: str, user, shop: Shop, subtotal_fen: int, order_ref: str) -> int:
    """Use the claim for the order ``order_ref`` and return the discount (fen).

    Same refusals as ``quote``, plus Conflict ``coupon_order_has_coupon`` when the order already
    redeemed another claim (one coupon per order). A retry for the same claim and order returns
    the discount recorded the first time and changes nothing. Call it inside the checkout's
    transaction so a failed checkout undoes the redemption too.
    """
    subtotal_fen = validate_fen(subtotal_fen, field="subtotal_fen")
    order_ref = _order_ref(order_ref)
    now = clock.now()
    with transaction.atomic():
        claim = _claim_of(claim_public_id=claim_public_id, user=user, shop=shop)
        if claim.order_ref == order_ref:
            return claim.discount_fen
        discount = _discount_if_usable(claim=claim, subtotal_fen=subtotal_fen, now=now)
        if not _mark_used(claim=claim, order_ref=order_ref, discount=discount, now=now):
            return _outcome_of_lost_race(claim=claim, order_ref=order_ref)
        publish(
            "coupons.coupon.redeemed",
            claim_public_id=claim.public_id,
            coupon_public_id=claim.coupon.public_id,
            shop_public_id=shop.public_id,
            user_public_id=user.public_id,
            order_ref=order_ref,
            discount_fen=discount,
        )
    return discount


def release(*, order_ref: str) -> bool:
    """Give back the claim the order used (its unpaid order was cancelled or expired).

    Idempotent: True when a claim was released now, False when none is held by that order
    (never redeemed, or released before). Orders calls it only for orders that were never paid.
    """
    order_ref = _order_ref(order_ref)
    with transaction.atomic():
        claim = (
            CouponClaim.objects.select_related("coupon", "user").filter(order_ref=order_ref).first()
        )
        if claim is None:
            return False
        released = CouponClaim.objects.filter(pk=claim.pk, order_ref=order_ref).update(
            order_ref=None, redeemed_at=None, discount_fen=0
        )
        if not released:
            return False
        publish(
            "coupons.coupon.released",
            claim_public_id=claim.public_id,
            coupon_public_id=claim.coupon.public_id,
            user_public_id=claim.user.public_id,
            order_ref=order_ref,
        )
    return True


def _claim_of(*, claim_public_id, user, shop: Shop) -> CouponClaim:
    _require_user(user)
    if not isinstance(claim_public_id, str) or not claim_public_id:
        raise NotFound(_("No such coupon."), code="coupon_not_found")
    claim = (
        CouponClaim.objects.select_related("coupon", "coupon__shop")
        .filter(public_id=claim_public_id)
        .first()
    )
    if claim is None:
        raise NotFound(_("No such coupon."), code="coupon_not_found")
    if claim.user_id != user.pk or claim.coupon.shop_id != getattr(shop, "pk", None):
        raise PermissionDenied(
            _("This coupon cannot be used for this order."), code="coupon_foreign"
        )
    return claim


def _discount_if_usable(*, claim: CouponClaim, subtotal_fen: int, now: datetime) -> int:
    coupon = claim.coupon
    if claim.order_ref is not None:
        raise Conflict(_("This coupon has already been used."), code="coupon_used")
    if coupon.is_paused or coupon.shop.status != Shop.Status.APPROVED:
        raise Conflict(_("This coupon is paused by the shop."), code="coupon_paused")
    _require_within_window(coupon=coupon, now=now)
    if subtotal_fen < coupon.min_spend_fen:
        raise Conflict(
            _("This coupon needs a minimum spend that the order does not reach."),
            code="coupon_below_minimum",
        )
    return discount_for(coupon=coupon, subtotal_fen=subtotal_fen)


def _require_within_window(*, coupon: Coupon, now: datetime) -> None:
    if now < coupon.starts_at:
        raise Conflict(_("This coupon is not valid yet."), code="coupon_not_started")
    if now >= coupon.ends_at:
        raise Conflict(_("This coupon has expired."), code="coupon_expired")


def _mark_used(*, claim: CouponClaim, order_ref: str, discount: int, now: datetime) -> bool:
    """One conditional UPDATE: only an unused claim becomes used, so one of any number of
    concurrent redemptions wins. The unique order_ref refuses a second coupon on one order."""
    try:
        with transaction.atomic():
            updated = CouponClaim.objects.filter(pk=claim.pk, order_ref__isnull=True).update(
                order_ref=order_ref, redeemed_at=now, discount_fen=discount
            )
    except IntegrityError:
        raise Conflict(
            _("This order already uses a coupon."), code="coupon_order_has_coupon"
        ) from None
    return bool(updated)


def _outcome_of_lost_race(*, claim: CouponClaim, order_ref: str) -> int:
    """Another redemption used the claim first: a retry of the same order gets its discount."""
    winner = CouponClaim.objects.get(pk=claim.pk)
    if winner.order_ref == order_ref:
        return winner.discount_fen
    raise Conflict(_("This coupon has already been used."), code="coupon_used")


def _order_ref(order_ref) -> str:
    if not isinstance(order_ref, str) or not order_ref.strip():
        raise ValidationFailed(
            _("An order reference is required."), fields={"order_ref": "required"}
        )
    if len(order_ref) > ORDER_REF_MAX_LENGTH:
        raise ValidationFailed(
            _("The order reference is too long."), fields={"order_ref": "too_long"}
        )
    return order_ref


# --- claiming ----------------------------------------------------------------------------------


def claim_coupon(*, coupon: Coupon, user) -> CouponClaim:
    """The user takes one of the coupon's copies, within its quantity and the per-user limit."""
    _require_user(user)
    shop = Shop.objects.get(pk=coupon.shop_id)
    if shop.status != Shop.Status.APPROVED:
        raise NotFound(_("No such coupon."), code="coupon_not_found")
    now = clock.now()
    with transaction.atomic():
        # One statement takes a copy; the row lock it holds until commit also queues this user's
        # other claims of the coupon, so the count below is exact. The database constraints are
        # the backstop either way.
        taken = Coupon.objects.filter(
            pk=coupon.pk,
            is_paused=False,
            starts_at__lte=now,
            ends_at__gt=now,
            claimed_count__lt=F("total_quantity"),
        ).update(claimed_count=F("claimed_count") + 1)
        if not taken:
            raise _why_not_claimable(coupon_pk=coupon.pk, now=now)
        fresh = Coupon.objects.get(pk=coupon.pk)
        claim = _insert_claim(coupon=fresh, user=user, now=now)
        publish(
            "coupons.coupon.claimed",
            claim_public_id=claim.public_id,
            coupon_public_id=fresh.public_id,
            shop_public_id=shop.public_id,
            user_public_id=user.public_id,
        )
    return claim


def issue_coupon(*, coupon: Coupon, user, reason_ref: str) -> CouponClaim:
    """The shop gives ``user`` one copy of its coupon (a crowdsourcing task's prize): a copy is
    taken from the quantity like a claim, but the per-user limit does not apply (the shop chose
    this person). Call it inside the caller's transaction, which makes it happen once; the
    ``reason_ref`` ("crowdtask_winner:<id>") goes into the event. Raises Conflict
    ``coupon_sold_out`` / ``coupon_expired`` and changes nothing."""
    _require_user(user)
    now = clock.now()
    with transaction.atomic():
        taken = Coupon.objects.filter(
            pk=coupon.pk, ends_at__gt=now, claimed_count__lt=F("total_quantity")
        ).update(claimed_count=F("claimed_count") + 1)
        if not taken:
            raise _why_not_issuable(coupon_pk=coupon.pk, now=now)
        fresh = Coupon.objects.select_related("shop").get(pk=coupon.pk)
        number = CouponClaim.objects.filter(coupon=fresh, user=user).count() + 1
        claim = CouponClaim.objects.create(
            coupon=fresh,
            user=user,
            number=number,
            user_limit=max(number, fresh.per_user_limit),
            claimed_at=now,
            created_at=now,
        )
        publish(
            "coupons.coupon.issued",
            claim_public_id=claim.public_id,
            coupon_public_id=fresh.public_id,
            shop_public_id=fresh.shop.public_id,
            user_public_id=user.public_id,
            reason_ref=reason_ref,
        )
    return claim


def _why_not_issuable(*, coupon_pk: int, now: datetime) -> Conflict:
    coupon = Coupon.objects.get(pk=coupon_pk)
    if coupon.ends_at <= now:
        return Conflict(_("This coupon has expired."), code="coupon_expired")
    return Conflict(_("All copies of this coupon have been claimed."), code="coupon_sold_out")


def _insert_claim(*, coupon: Coupon, user, now: datetime) -> CouponClaim:
    number = CouponClaim.objects.filter(coupon=coupon, user=user).count() + 1
    if number > coupon.per_user_limit:
        raise _limit_reached(coupon)
    try:
        with transaction.atomic():
            return CouponClaim.objects.create(
                coupon=coupon,
                user=user,
                number=number,
                user_limit=coupon.per_user_limit,
                claimed_at=now,
                created_at=now,
            )
    except IntegrityError:
        raise _limit_reached(coupon) from None


def _limit_reached(coupon: Coupon) -> Conflict:
    return Conflict(
        _("You already hold as many of this coupon as allowed (%(limit)d).")
        % {"limit": coupon.per_user_limit},
        code="coupon_limit_reached",
    )


def _why_not_claimable(*, coupon_pk: int, now: datetime) -> Conflict:
    coupon = Coupon.objects.get(pk=coupon_pk)
    if coupon.is_paused:
        return Conflict(_("This coupon is paused by the shop."), code="coupon_paused")
    try:
        _require_within_window(coupon=coupon, now=now)
    except Conflict as error:
        return error
    return Conflict(_("All copies of this coupon have been claimed."), code="coupon_sold_out")


# --- the merchant's coupons --------------------------------------------------------------------


def create_coupon(
    *,
    actor,
    shop: Shop,
    name: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    total_quantity: int,
    per_user_limit: int = 1,
    amount_off_fen: int | None = None,
    percent_off: int | None = None,
    max_discount_fen: int | None = None,
    min_spend_fen: int = 0,
) -> Coupon:
    """A new coupon on the merchant's approved shop. A fixed coupon takes ``amount_off_fen`` off;
    a percentage coupon takes ``percent_off`` % (1–90) up to ``max_discount_fen``."""
    _require_shop_owner(shop=shop, actor=actor)
    if shop.status != Shop.Status.APPROVED:
        raise Conflict(_("Your shop has not been approved yet."), code="shop_not_approved")
    amounts = _amounts(
        kind=kind,
        amount_off_fen=amount_off_fen,
        percent_off=percent_off,
        max_discount_fen=max_discount_fen,
    )
    fields = {
        "name": _name(name),
        "kind": kind,
        **amounts,
        "min_spend_fen": validate_fen(min_spend_fen, field="min_spend_fen", allow_zero=True),
        **_window(starts_at=starts_at, ends_at=ends_at),
        "total_quantity": _count(total_quantity, field="total_quantity", most=MAX_TOTAL_QUANTITY),
        "per_user_limit": _count(per_user_limit, field="per_user_limit", most=MAX_PER_USER_LIMIT),
    }
    with transaction.atomic():
        coupon = Coupon.objects.create(
            shop=shop, created_by=actor, created_at=clock.now(), **fields
        )
        publish(
            "coupons.coupon.created",
            coupon_public_id=coupon.public_id,
            shop_public_id=shop.public_id,
            actor_public_id=actor.public_id,
        )
    return coupon


def pause_coupon(*, coupon: Coupon, actor) -> Coupon:
    """Stop claims and redemptions until resumed; claims already held stay with their users."""
    return _set_paused(coupon=coupon, actor=actor, paused=True)


def resume_coupon(*, coupon: Coupon, actor) -> Coupon:
    return _set_paused(coupon=coupon, actor=actor, paused=False)


def _set_paused(*, coupon: Coupon, actor, paused: bool) -> Coupon:
    shop = Shop.objects.get(pk=coupon.shop_id)
    _require_shop_owner_or_operator(shop=shop, actor=actor)
    with transaction.atomic():
        changed = Coupon.objects.filter(pk=coupon.pk, is_paused=not paused).update(is_paused=paused)
        if not changed:
            if paused:
                raise Conflict(_("This coupon is already paused."), code="coupon_already_paused")
            raise Conflict(_("This coupon is not paused."), code="coupon_not_paused")
        publish(
            "coupons.coupon.paused" if paused else "coupons.coupon.resumed",
            coupon_public_id=coupon.public_id,
            shop_public_id=shop.public_id,
            actor_public_id=actor.public_id,
        )
    coupon.refresh_from_db()
    return coupon


# --- checks and input ----------------------------------------------------------------------------


def _require_user(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_shop_owner(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop."), code="not_shop_owner")


def _require_shop_owner_or_operator(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if not actor.is_staff:
        _require_shop_owner(shop=shop, actor=actor)


def _name(value) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(_("This must be text."), fields={"name": "not_text"})
    value = value.strip()
    if not value:
        raise ValidationFailed(_("Give the coupon a name."), fields={"name": "required"})
    if "\x00" in value:
        raise ValidationFailed(
            _("This text contains invalid characters."), fields={"name": "invalid"}
        )
    if len(value) > COUPON_NAME_MAX_LENGTH:
        raise ValidationFailed(
            _("The name is too long (at most %(max)d characters).")
            % {"max": COUPON_NAME_MAX_LENGTH},
            fields={"name": "too_long"},
        )
    return value


def _amounts(*, kind, amount_off_fen, percent_off, max_discount_fen) -> dict:
    """The discount fields of the kind; the other kind's fields are stored as 0."""
    if kind == Coupon.Kind.FIXED:
        return {
            "amount_off_fen": validate_fen(amount_off_fen, field="amount_off_fen"),
            "percent_off": 0,
            "max_discount_fen": 0,
        }
    if kind == Coupon.Kind.PERCENT:
        return {
            "amount_off_fen": 0,
            "percent_off": _percent(percent_off),
            "max_discount_fen": validate_fen(max_discount_fen, field="max_discount_fen"),
        }
    raise ValidationFailed(
        _("Choose a fixed amount or a percentage off."), fields={"kind": "invalid"}
    )


def _percent(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(
            _("This must be a whole number."), fields={"percent_off": "not_integer"}
        )
    if not MIN_PERCENT_OFF <= value <= MAX_PERCENT_OFF:
        raise ValidationFailed(
            _("The percentage off must be between %(low)d and %(high)d.")
            % {"low": MIN_PERCENT_OFF, "high": MAX_PERCENT_OFF},
            fields={"percent_off": "out_of_range"},
        )
    return value


def _count(value, *, field: str, most: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(_("This must be a whole number."), fields={field: "not_integer"})
    if not 1 <= value <= most:
        raise ValidationFailed(
            _("This must be between 1 and %(most)d.") % {"most": most},
            fields={field: "out_of_range"},
        )
    return value


def _window(*, starts_at, ends_at) -> dict:
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise ValidationFailed(
                _("Give a date and time with its time zone."), fields={field: "invalid"}
            )
    if ends_at <= starts_at:
        raise ValidationFailed(
            _("The coupon must end after it starts."), fields={"ends_at": "before_start"}
        )
    if ends_at <= clock.now():
        raise ValidationFailed(_("The end must be in the future."), fields={"ends_at": "past"})
    return {"starts_at": starts_at, "ends_at": ends_at}
