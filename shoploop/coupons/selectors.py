"""Reads for coupons: querysets with what their pages and the checkout need loaded up front."""

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.core.money import validate_fen
from shoploop.coupons.models import Coupon, CouponClaim
from shoploop.coupons.pricing import discount_for


@dataclass(frozen=True)
class UsableClaim:
    """A claim the checkout's coupon picker offers, with what it would take off."""

    claim: CouponClaim
    discount_fen: int

    @property
    def public_id(self) -> str:
        return self.claim.public_id

    @property
    def coupon(self) -> Coupon:
        return self.claim.coupon


def usable_claims(*, user, shop: Shop, subtotal_fen: int) -> list[UsableClaim]:
    """The user's unused claims that ``quote`` would accept for this shop and subtotal, the
    biggest discount first (ties: the one ending soonest, so it is not wasted). A subtotal that
    is not a positive whole number of fen raises ValidationFailed, as ``quote`` does."""
    subtotal_fen = validate_fen(subtotal_fen, field="subtotal_fen")
    if not getattr(user, "is_authenticated", False) or shop.status != Shop.Status.APPROVED:
        return []
    now = clock.now()
    claims = (
        CouponClaim.objects.select_related("coupon", "coupon__shop")
        .filter(
            user=user,
            order_ref__isnull=True,
            coupon__shop=shop,
            coupon__is_paused=False,
            coupon__starts_at__lte=now,
            coupon__ends_at__gt=now,
            coupon__min_spend_fen__lte=subtotal_fen,
        )
        .order_by("coupon__ends_at", "created_at")
    )
    usable = [
        UsableClaim(
            claim=claim, discount_fen=discount_for(coupon=claim.coupon, subtotal_fen=subtotal_fen)
        )
        for claim in claims
    ]
    return sorted(usable, key=lambda item: -item.discount_fen)


def coupon_by_public_id(*, public_id: str) -> Coupon:
    coupon = Coupon.objects.select_related("shop").filter(public_id=public_id).first()
    if coupon is None:
        raise NotFound(_("No such coupon."), code="coupon_not_found")
    return coupon


def visible_coupon(*, public_id: str) -> Coupon:
    """A coupon of an approved shop (anyone may look at it, claimable or not)."""
    coupon = coupon_by_public_id(public_id=public_id)
    if coupon.shop.status != Shop.Status.APPROVED:
        raise NotFound(_("No such coupon."), code="coupon_not_found")
    return coupon


def claimable_coupons(*, shop: Shop, user=None) -> QuerySet[Coupon]:
    """Coupons of an approved shop that can be claimed now; with ``my_claims`` for a signed-in
    user so a page can say how many they already hold."""
    now = clock.now()
    coupons = Coupon.objects.select_related("shop").filter(
        shop=shop,
        shop__status=Shop.Status.APPROVED,
        is_paused=False,
        starts_at__lte=now,
        ends_at__gt=now,
        claimed_count__lt=F("total_quantity"),
    )
    if getattr(user, "is_authenticated", False):
        coupons = coupons.annotate(my_claims=Count("claims", filter=Q(claims__user=user)))
    return coupons.order_by("-created_at")


def my_claims(*, user) -> QuerySet[CouponClaim]:
    """Every claim the user holds, used or not, newest first."""
    return CouponClaim.objects.select_related("coupon", "coupon__shop").filter(user=user)


def shop_coupons_with_counts(*, shop: Shop) -> QuerySet[Coupon]:
    """The merchant console's list: every coupon with its live redeemed count."""
    return (
        Coupon.objects.filter(shop=shop)
        .select_related("shop")
        .annotate(redeemed_count=Count("claims", filter=Q(claims__order_ref__isnull=False)))
    )


def merchant_coupon(*, public_id: str, actor) -> Coupon:
    """A coupon its shop's owner may manage: another merchant gets 403, not 404."""
    coupon = coupon_by_public_id(public_id=public_id)
    if not getattr(actor, "is_authenticated", False) or (
        coupon.shop.owner_id != actor.pk and not actor.is_staff
    ):
        raise PermissionDenied(_("This is not your shop's coupon."), code="not_shop_owner")
    return shop_coupons_with_counts(shop=coupon.shop).get(pk=coupon.pk)
