"""/api/v1/deals/bargains/…: campaigns (merchants), bargains (buyers and their friends).

Handlers parse, call a service or selector and return a schema. The seed of a bargain is not
returned while it runs (the cuts still to come stay secret): only its SHA-256 commitment is. Once
the bargain has ended, ``/{id}/verify`` reveals the seed and recomputes every cut (proof.py).
"""

from datetime import datetime

from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.deals.bargains import proof, selectors, services
from shoploop.deals.schemas import DealAddressIn
from shoploop.orders import selectors as order_selectors

router = Router(tags=["deals: bargains"])


# --- schemas ----------------------------------------------------------------------------------


class BargainCampaignIn(InputSchema):
    sku_id: str = Field(..., max_length=40)
    start_price_fen: int
    floor_price_fen: int
    helpers_needed: int
    stock: int
    ends_at: datetime
    starts_at: datetime | None = None
    hours_per_bargain: int = 24
    helps_per_day: int = 3
    buy_before_floor: bool = False
    new_users_only: bool = False


class BargainCampaignOut(Schema):
    id: str = Field(..., alias="public_id")
    shop_id: str = Field(..., alias="shop.public_id")
    sku_id: str = Field(..., alias="sku.public_id")
    product_id: str = Field(..., alias="sku.product.public_id")
    title: str
    state: str
    start_price_fen: int
    floor_price_fen: int
    helpers_needed: int
    hours_per_bargain: int
    helps_per_day: int
    buy_before_floor: bool
    new_users_only: bool
    stock_total: int
    stock_left: int
    starts_at: datetime
    ends_at: datetime


class CountsOut(Schema):
    started: int
    active: int
    at_floor: int
    buying: int
    bought: int
    expired: int
    helps: int
    stock_left: int
    stock_total: int
    state: str


class CampaignDetailOut(BargainCampaignOut):
    counts: CountsOut


class HelpOut(Schema):
    position: int
    cut_fen: int
    helper_id: str = Field(..., alias="helper.public_id")
    helper_name: str = Field(..., alias="helper.name")
    created_at: datetime


class BargainOut(Schema):
    id: str = Field(..., alias="public_id")
    campaign_id: str = Field(..., alias="campaign.public_id")
    title: str = Field(..., alias="campaign.title")
    initiator_id: str = Field(..., alias="initiator.public_id")
    state: str
    start_price_fen: int = Field(..., alias="campaign.start_price_fen")
    floor_price_fen: int = Field(..., alias="campaign.floor_price_fen")
    current_price_fen: int
    helpers_needed: int = Field(..., alias="campaign.helpers_needed")
    helps_count: int
    helps_left: int
    can_buy_before_floor: bool = Field(..., alias="campaign.buy_before_floor")
    deadline: datetime
    order_id: str | None = None
    order_state: str | None = None
    seed_commitment: str
    created_at: datetime

    @staticmethod
    def resolve_seed_commitment(obj):
        return proof.seed_commitment(obj.seed)

    @staticmethod
    def resolve_order_id(obj):
        return obj.order.public_id if obj.order_id else None

    @staticmethod
    def resolve_order_state(obj):
        return obj.order.state if obj.order_id else None


class BargainDetailOut(BargainOut):
    helps: list[HelpOut]

    @staticmethod
    def resolve_helps(obj):
        return list(selectors.helps_of(bargain=obj))


class HelpResultOut(Schema):
    position: int
    cut_fen: int
    current_price_fen: int
    helps_left: int


class HelpCheckOut(Schema):
    position: int
    recorded_fen: int
    recomputed_fen: int
    matches: bool


class ProofOut(Schema):
    """The seed and the recomputation appear only once the bargain has ended (``revealed``)."""

    commitment: str
    revealed: bool
    seed: str | None
    seed_matches_commitment: bool | None
    algorithm_version: int = Field(..., alias="version")
    helpers_needed: int = Field(..., alias="helpers")
    total_cut_fen: int
    helps: list[HelpCheckOut] = Field(..., alias="checks")
    all_match: bool | None


class BuyOut(Schema):
    order_id: str
    order_state: str
    total_fen: int
    pay_url: str | None


# --- merchants --------------------------------------------------------------------------------


@router.post("/campaigns", response={201: BargainCampaignOut})
def create_campaign(request, payload: BargainCampaignIn):
    data = payload.dict()
    campaign = services.create_campaign(
        actor=request.user, sku_public_id=data.pop("sku_id"), **data
    )
    return Status(201, selectors.campaign_by_public_id(public_id=campaign.public_id))


@router.get("/campaigns", response=list[BargainCampaignOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_my_campaigns(request):
    return selectors.shop_campaigns(user=request.user)


@router.get("/campaigns/{campaign_id}", response=BargainCampaignOut, auth=None)
def get_campaign(request, campaign_id: str):
    return selectors.campaign_by_public_id(public_id=campaign_id)


@router.get("/campaigns/{campaign_id}/counts", response=CountsOut)
def campaign_counts(request, campaign_id: str):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return selectors.campaign_counts(campaign=campaign)


def _campaign_action(request, campaign_id: str, service):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    service(campaign=campaign, actor=request.user)
    return selectors.campaign_by_public_id(public_id=campaign_id)


@router.post("/campaigns/{campaign_id}/pause", response=BargainCampaignOut)
def pause_campaign(request, campaign_id: str):
    return _campaign_action(request, campaign_id, services.pause_campaign)


@router.post("/campaigns/{campaign_id}/resume", response=BargainCampaignOut)
def resume_campaign(request, campaign_id: str):
    return _campaign_action(request, campaign_id, services.resume_campaign)


@router.post("/campaigns/{campaign_id}/end", response=BargainCampaignOut)
def end_campaign(request, campaign_id: str):
    return _campaign_action(request, campaign_id, services.end_campaign)


# --- buyers and helpers -----------------------------------------------------------------------


@router.post("/campaigns/{campaign_id}/start", response={201: BargainDetailOut})
def start_bargain(request, campaign_id: str):
    campaign = selectors.campaign_by_public_id(public_id=campaign_id)
    bargain = services.start_bargain(campaign=campaign, user=request.user)
    return Status(201, selectors.bargain_by_public_id(public_id=bargain.public_id))


@router.get("/mine", response=list[BargainOut])
@paginate(CursorPagination, ordering=("-created_at",))
def my_bargains(request):
    return selectors.my_bargains(user=request.user)


@router.get("/{bargain_id}", response=BargainDetailOut, auth=None)
def get_bargain(request, bargain_id: str):
    return selectors.bargain_by_public_id(public_id=bargain_id)


@router.get("/{bargain_id}/verify", response=ProofOut, auth=None)
def verify_bargain(request, bargain_id: str):
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    return proof.bargain_proof(bargain=bargain)


@router.post("/{bargain_id}/help", response={201: HelpResultOut})
def help_bargain(request, bargain_id: str):
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    help_row = services.help_bargain(bargain=bargain, helper=request.user)
    return Status(
        201,
        {
            "position": help_row.position,
            "cut_fen": help_row.cut_fen,
            "current_price_fen": bargain.current_price_fen,
            "helps_left": bargain.helps_left,
        },
    )


@router.post("/{bargain_id}/buy", response={201: BuyOut})
@money_endpoint
def buy(request, bargain_id: str, payload: DealAddressIn):
    """Buy at the current price, shipped to ``address_id`` (one of the buyer's addresses)."""
    bargain = selectors.bargain_by_public_id(public_id=bargain_id)
    order = services.buy(bargain=bargain, user=request.user, address_id=payload.address_id)
    page = reverse("deals_bargains:detail", args=[bargain.public_id])
    pay = None
    if order.checkout.payment_public_id and order.state == "pending_payment":
        pay = order_selectors.pay_url(checkout=order.checkout, next_url=page)
    return Status(
        201,
        {
            "order_id": order.public_id,
            "order_state": order.state,
            "total_fen": order.total_fen,
            "pay_url": pay,
        },
    )
