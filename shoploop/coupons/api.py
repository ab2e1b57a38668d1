"""Coupons API (/api/v1/coupons): parse, call a service or selector, return a schema.

Redeeming and releasing are not endpoints: orders calls those services at checkout.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status
from ninja.pagination import CursorPagination, paginate
from pydantic import AwareDatetime, StrictInt

from shoploop.accounts.auth import optional_auth
from shoploop.catalog.models import Shop
from shoploop.catalog.selectors import shop_of, visible_shop
from shoploop.core import clock
from shoploop.core.errors import NotFound
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema, PublicSchema
from shoploop.coupons import selectors, services
from shoploop.coupons.models import Coupon, CouponClaim

router = Router(tags=["coupons"])


# --- schemas ----------------------------------------------------------------------------------


class CouponShopRef(PublicSchema):
    name: str


class CouponOut(PublicSchema):
    shop: CouponShopRef
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int
    min_spend_fen: int
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int
    remaining: int
    is_paused: bool
    my_claims: int | None = None

    @staticmethod
    def resolve_remaining(obj) -> int:
        return obj.total_quantity - obj.claimed_count

    @staticmethod
    def resolve_my_claims(obj) -> int | None:
        return getattr(obj, "my_claims", None)


class MerchantCouponOut(CouponOut):
    total_quantity: int
    claimed_count: int
    redeemed_count: int
    created_at: datetime


class ClaimOut(PublicSchema):
    coupon: CouponOut
    number: int
    state: str
    discount_fen: int
    claimed_at: datetime
    redeemed_at: datetime | None

    @staticmethod
    def resolve_state(obj: CouponClaim) -> str:
        if obj.is_redeemed:
            return "used"
        if obj.coupon.ends_at <= clock.now():
            return "expired"
        return "unused"


class UsableClaimOut(PublicSchema):
    coupon: CouponOut
    discount_fen: int


class QuoteIn(InputSchema):
    claim: str
    shop: str
    # StrictInt: money is whole fen; 12.5 or "12" is a client bug and answers 422.
    subtotal_fen: StrictInt


class QuoteOut(Schema):
    discount_fen: int


class CouponIn(InputSchema):
    name: str
    kind: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    total_quantity: StrictInt
    per_user_limit: StrictInt = 1
    amount_off_fen: StrictInt | None = None
    percent_off: StrictInt | None = None
    max_discount_fen: StrictInt | None = None
    min_spend_fen: StrictInt = 0


# --- helpers --------------------------------------------------------------------------------


def _my_shop(user) -> Shop:
    shop = shop_of(user=user)
    if shop is None:
        raise NotFound(_("You do not have a shop yet."), code="no_shop")
    return shop


def _merchant_view(coupon: Coupon, request) -> Coupon:
    return selectors.merchant_coupon(public_id=coupon.public_id, actor=request.user)


# --- buyers -----------------------------------------------------------------------------------


@router.get("/mine", response=list[ClaimOut])
@paginate(CursorPagination, ordering=("-created_at",))
def my_claims(request):
    return selectors.my_claims(user=request.user)


@router.get("/usable", response=list[UsableClaimOut])
def usable_claims(request, shop: str, subtotal_fen: int):
    """The caller's claims a checkout at ``shop`` for ``subtotal_fen`` could use, best first."""
    target = visible_shop(public_id=shop, viewer=request.user)
    return selectors.usable_claims(user=request.user, shop=target, subtotal_fen=subtotal_fen)


@router.post("/quote", response=QuoteOut)
@money_endpoint
def quote(request, payload: QuoteIn):
    target = visible_shop(public_id=payload.shop, viewer=request.user)
    discount = services.quote(
        claim_public_id=payload.claim,
        user=request.user,
        shop=target,
        subtotal_fen=payload.subtotal_fen,
    )
    return {"discount_fen": discount}


@router.get("/shops/{shop_id}", response=list[CouponOut], auth=optional_auth)
def shop_coupons(request, shop_id: str):
    """The shop's coupons that can be claimed now."""
    shop = visible_shop(public_id=shop_id, viewer=request.user)
    return list(selectors.claimable_coupons(shop=shop, user=request.user))


# --- merchants --------------------------------------------------------------------------------


@router.get("/console", response=list[MerchantCouponOut])
@paginate(CursorPagination, ordering=("-created_at",))
def console_coupons(request):
    """Every coupon of the caller's shop with live claimed and redeemed counts."""
    return selectors.shop_coupons_with_counts(shop=_my_shop(request.user))


@router.post("/console", response={201: MerchantCouponOut})
def create_coupon(request, payload: CouponIn):
    coupon = services.create_coupon(
        actor=request.user, shop=_my_shop(request.user), **payload.dict()
    )
    return Status(201, _merchant_view(coupon, request))


@router.get("/console/{coupon_id}", response=MerchantCouponOut)
def console_coupon(request, coupon_id: str):
    return selectors.merchant_coupon(public_id=coupon_id, actor=request.user)


@router.post("/console/{coupon_id}/pause", response=MerchantCouponOut)
def pause_coupon(request, coupon_id: str):
    coupon = selectors.merchant_coupon(public_id=coupon_id, actor=request.user)
    return _merchant_view(services.pause_coupon(coupon=coupon, actor=request.user), request)


@router.post("/console/{coupon_id}/resume", response=MerchantCouponOut)
def resume_coupon(request, coupon_id: str):
    coupon = selectors.merchant_coupon(public_id=coupon_id, actor=request.user)
    return _merchant_view(services.resume_coupon(coupon=coupon, actor=request.user), request)


# --- any coupon (after the fixed paths) -------------------------------------------------------


@router.get("/{coupon_id}", response=CouponOut, auth=optional_auth)
def get_coupon(request, coupon_id: str):
    return selectors.visible_coupon(public_id=coupon_id)


@router.post("/{coupon_id}/claim", response={201: ClaimOut})
def claim_coupon(request, coupon_id: str):
    coupon = selectors.visible_coupon(public_id=coupon_id)
    return Status(201, services.claim_coupon(coupon=coupon, user=request.user))
