"""/api/v1/orders/pickup/…: pickup points (自提点), their 团长's order list and collection, the
团长's earnings, and a shop's pickup settings. Parse, call a service or selector, answer."""

from datetime import datetime

from ninja import Field, Router, Schema, Status

from shoploop.communities import selectors as community_selectors
from shoploop.core.schemas import InputSchema
from shoploop.orders import pickup_selectors, selectors, services

router = Router(tags=["pickup"])


class PickupPointOut(Schema):
    id: str = Field(..., alias="public_id")
    community_id: str = Field(..., alias="community.public_id")
    community_name: str = Field(..., alias="community.name")
    leader_id: str = Field(..., alias="leader.public_id")
    name: str
    address: str
    hours: str
    is_active: bool


class PickupPointIn(InputSchema):
    name: str = Field(..., max_length=200)
    address: str = Field(..., max_length=400)
    hours: str = Field(..., max_length=200)
    is_active: bool = True


class NewPickupPointIn(PickupPointIn):
    community_id: str = Field(..., max_length=40)


class PickupOrderOut(Schema):
    """An order as its 团长 sees it: no address, no code (the buyer shows the code)."""

    id: str = Field(..., alias="public_id")
    state: str
    shop_name: str = Field(..., alias="shop.name")
    buyer_name: str
    total_fen: int
    paid_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None

    @staticmethod
    def resolve_buyer_name(obj) -> str:
        return str(obj.buyer)


class CollectIn(InputSchema):
    # The code the buyer shows (spaces and dashes are ignored, letters in any case).
    code: str = Field(..., max_length=40)


class EarningOut(Schema):
    id: str = Field(..., alias="public_id")
    order_id: str = Field(..., alias="order.public_id")
    pickup_point_id: str = Field(..., alias="order.pickup_point.public_id")
    shop_name: str = Field(..., alias="shop.name")
    order_state: str = Field(..., alias="order.state")
    # ``frozen`` (the shop owes it; the order may still be refunded), ``available`` (paid to
    # the 团长's commissions account) or ``reversed`` (refunded or cancelled).
    state: str
    original_fen: int
    commission_fen: int = Field(..., alias="amount_fen")
    created_at: datetime


class EarningsOut(Schema):
    frozen_fen: int
    available_fen: int
    reversed_fen: int
    # What the commissions account (shared with promoter commissions) can pay out now.
    withdrawable_fen: int
    orders: list[EarningOut]


class ShopPickupSettingsOut(Schema):
    shop_id: str = Field(..., alias="shop.public_id")
    offers_pickup: bool
    leader_commission_fen: int


class ShopPickupSettingsIn(InputSchema):
    offers_pickup: bool
    leader_commission_fen: int = Field(..., ge=0)


@router.get("/available", response=list[PickupPointOut])
def list_available_pickup_points(request):
    """The pickup points the caller may choose at checkout (their communities' active ones)."""
    return list(pickup_selectors.points_for_buyer(user=request.user))


@router.get("/points", response=list[PickupPointOut])
def list_my_pickup_points(request):
    """The points the caller runs as a 团长."""
    return list(pickup_selectors.points_of_leader(user=request.user))


@router.post("/points", response={201: PickupPointOut})
def create_pickup_point(request, payload: NewPickupPointIn):
    """A 团长 of the community opens a pickup point."""
    point = services.create_pickup_point(
        actor=request.user,
        community=community_selectors.get_community(public_id=payload.community_id),
        name=payload.name,
        address=payload.address,
        hours=payload.hours,
        is_active=payload.is_active,
    )
    return Status(201, pickup_selectors.point_by_public_id(public_id=point.public_id))


@router.put("/points/{point_id}", response=PickupPointOut)
def update_pickup_point(request, point_id: str, payload: PickupPointIn):
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    return services.update_pickup_point(
        actor=request.user,
        point=point,
        name=payload.name,
        address=payload.address,
        hours=payload.hours,
        is_active=payload.is_active,
    )


@router.get("/points/{point_id}/orders", response=list[PickupOrderOut])
def list_pickup_orders(request, point_id: str, collected: bool = False):
    """Orders for the point: paid or sent there (oldest first), or, with ``collected=true``,
    those handed over (newest first, at most 200)."""
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    return list(pickup_selectors.orders_at_point(point=point, collected=collected)[:200])


@router.post("/points/{point_id}/collect", response=PickupOrderOut)
def collect_pickup_order(request, point_id: str, payload: CollectIn):
    """The 团长 hands over the order whose code the buyer showed: it counts as receipt.
    Unknown code: 422 ``pickup_code_invalid``; already collected: 409 ``already_collected``;
    not sent to the point yet: 409 ``not_at_point``."""
    point = pickup_selectors.point_for_leader(user=request.user, public_id=point_id)
    return services.collect_pickup(point=point, actor=request.user, code=payload.code)


@router.get("/earnings", response=EarningsOut)
def get_pickup_earnings(request):
    """The 团长's commissions, one per pickup order, paid through the ledger: frozen until the
    order completes, then available (withdrawn with ``POST /referrals/withdrawals``)."""
    summary = pickup_selectors.earnings_summary(user=request.user)
    summary["withdrawable_fen"] = pickup_selectors.withdrawable_fen(user=request.user)
    orders = list(pickup_selectors.leader_earnings(user=request.user)[:200])
    return {**summary, "orders": orders}


@router.get("/shop-settings", response=ShopPickupSettingsOut)
def get_shop_pickup_settings(request):
    shop = selectors.merchant_shop(user=request.user)
    return services.shop_pickup_settings(shop=shop)


@router.put("/shop-settings", response=ShopPickupSettingsOut)
def update_shop_pickup_settings(request, payload: ShopPickupSettingsIn):
    """Whether buyers may pick up this shop's orders at community points, and the commission
    per order its 团长 earn (fen)."""
    shop = selectors.merchant_shop(user=request.user)
    return services.update_shop_pickup_settings(
        actor=request.user,
        shop=shop,
        offers_pickup=payload.offers_pickup,
        leader_commission_fen=payload.leader_commission_fen,
    )
