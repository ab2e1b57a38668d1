"""Sharing API (/api/v1/referrals): parse, call a service or selector, return a schema."""

from datetime import datetime

from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import StrictInt

from shoploop.catalog.selectors import shop_of
from shoploop.core.errors import NotFound
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.ledger.services import payouts
from shoploop.referrals import selectors, services
from shoploop.referrals.models import ShopCommission

router = Router(tags=["referrals"])


class ShareLinkIn(InputSchema):
    kind: str
    target: str
    community: str = ""


class ShareLinkOut(Schema):
    code: str
    url: str
    poster_url: str
    kind: str
    target: str
    title: str
    visits: int
    signups: int
    purchases: int
    created_at: datetime


class ShareTotalsOut(Schema):
    links: int
    visits: int
    signups: int
    purchases: int
    frozen_fen: int
    available_fen: int
    withdrawable_fen: int


class CommissionWithdrawalIn(InputSchema):
    amount: StrictInt
    account_holder: str
    account_number: str
    request_key: str


class CommissionWithdrawalOut(Schema):
    id: str
    amount: int
    state: str
    account_masked: str
    created_at: datetime


class ReferralCommissionOut(Schema):
    id: str
    order_id: str
    shop_id: str
    level: int
    rate_bps: int
    original_fen: int
    amount_fen: int
    state: str
    created_at: datetime
    released_at: datetime | None


class PromoterOut(Schema):
    user_id: str
    since: datetime


class PromoterApplicationOut(Schema):
    shop_id: str
    state: str


class CommissionSchemeIn(InputSchema):
    enabled: bool
    level1_bps: StrictInt
    level2_bps: StrictInt
    requires_approval: bool = False


class CommissionSchemeOut(Schema):
    enabled: bool
    level1_bps: int
    level2_bps: int
    requires_approval: bool


class ProductCommissionIn(InputSchema):
    level1_bps: StrictInt
    level2_bps: StrictInt


class ProductCommissionOut(Schema):
    product_id: str
    level1_bps: int
    level2_bps: int


def _link_out(request, link) -> dict:
    return {
        "code": link.code,
        "url": request.build_absolute_uri(reverse("referrals:follow", args=[link.code])),
        "poster_url": request.build_absolute_uri(reverse("referrals:poster", args=[link.code])),
        "kind": link.kind,
        "target": link.target_public_id,
        "title": link.title,
        "visits": link.visits_count,
        "signups": link.signups_count,
        "purchases": link.purchases_count,
        "created_at": link.created_at,
    }


@router.post("/links", response={201: ShareLinkOut})
def create_link(request, payload: ShareLinkIn):
    """Make (or find) the caller's short link to a product, deal, community, post or review."""
    link = services.create_share_link(
        sharer=request.user,
        kind=payload.kind,
        target_public_id=payload.target,
        community_public_id=payload.community,
    )
    return Status(201, _link_out(request, link))


create_link.rate_limited = True  # REFERRALS_SHARE_RATE_PER_MINUTE new links a minute (429)


@router.get("/links", response=list[ShareLinkOut])
def list_links(request):
    return [_link_out(request, link) for link in selectors.links_of(user=request.user)[:200]]


@router.get("/totals", response=ShareTotalsOut)
def get_totals(request):
    """What the caller's links brought: visits, sign-ups, purchases, commissions."""
    return selectors.totals_of(user=request.user)


@router.get("/commissions", response=list[ReferralCommissionOut])
def list_commissions(request):
    return [
        {
            "id": c.public_id,
            "order_id": c.order.public_id,
            "shop_id": c.shop.public_id,
            "level": c.level,
            "rate_bps": c.rate_bps,
            "original_fen": c.original_fen,
            "amount_fen": c.amount_fen,
            "state": c.state,
            "created_at": c.created_at,
            "released_at": c.released_at,
        }
        for c in selectors.commissions_of(user=request.user)[:200]
    ]


@router.post("/promoter", response={201: PromoterOut})
def become_promoter(request):
    promoter = services.become_promoter(user=request.user)
    return Status(201, {"user_id": request.user.public_id, "since": promoter.created_at})


@router.post("/shops/{shop_id}/apply", response={201: PromoterApplicationOut})
def apply_to_shop(request, shop_id: str):
    application = services.apply_to_shop(user=request.user, shop_public_id=shop_id)
    return Status(201, {"shop_id": shop_id, "state": application.state})


def _scheme_out(scheme) -> dict:
    return {
        "enabled": scheme.enabled,
        "level1_bps": scheme.level1_bps,
        "level2_bps": scheme.level2_bps,
        "requires_approval": scheme.requires_approval,
    }


@router.get("/console/scheme", response=CommissionSchemeOut)
def get_scheme(request):
    shop = services.merchant_shop(request.user)
    scheme = ShopCommission.objects.filter(shop=shop).first() or ShopCommission(shop=shop)
    return _scheme_out(scheme)


@router.put("/console/scheme", response=CommissionSchemeOut)
def set_scheme(request, payload: CommissionSchemeIn):
    scheme = services.set_shop_commission(actor=request.user, **payload.dict())
    return _scheme_out(scheme)


@router.put("/console/products/{product_id}", response=ProductCommissionOut)
def set_product_rates(request, product_id: str, payload: ProductCommissionIn):
    services.set_product_commission(
        actor=request.user,
        product_public_id=product_id,
        level1_bps=payload.level1_bps,
        level2_bps=payload.level2_bps,
    )
    return {"product_id": product_id, **payload.dict()}


@router.delete("/console/products/{product_id}", response={204: None})
def clear_product_rates(request, product_id: str):
    if shop_of(user=request.user) is None:
        raise NotFound(code="product_not_found")
    services.set_product_commission(
        actor=request.user, product_public_id=product_id, level1_bps=None, level2_bps=None
    )
    return Status(204, None)


@router.post("/withdrawals", response={201: CommissionWithdrawalOut})
@money_endpoint
def withdraw_commissions(request, payload: CommissionWithdrawalIn):
    """Withdraw available commissions through the payouts (frozen ones cannot be withdrawn:
    ``insufficient_funds``). The same ``request_key`` returns the first withdrawal."""
    withdrawal = payouts.request_beneficiary_withdrawal(actor=request.user, **payload.dict())
    return Status(
        201,
        {
            "id": withdrawal.public_id,
            "amount": withdrawal.amount,
            "state": withdrawal.state,
            "account_masked": withdrawal.account_masked,
            "created_at": withdrawal.created_at,
        },
    )
