"""/api/v1/deals/groups/…: campaigns (merchant), groups and seats (buyers).

Handlers parse, call a service or selector and return a schema. Prices come from the campaign,
never from the client.
"""

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from shoploop.communities.models import Community
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.deals.groups import selectors, services
from shoploop.deals.groups.models import DEFAULT_GROUP_MINUTES, Group, Seat
from shoploop.deals.schemas import DealAddressIn
from shoploop.orders import selectors as order_selectors

router = Router(tags=["deals: groups"])


# --- schemas ----------------------------------------------------------------------------------


class CampaignVariantIn(InputSchema):
    sku_id: str = Field(..., max_length=40)
    group_price_fen: int
    leader_price_fen: int | None = None
    stock: int


class GroupCampaignIn(InputSchema):
    # One SKU (sku_id, group_price_fen, stock, leader_price_fen), or several SKUs of one product
    # in ``variants``, each with its own group price and stock; buyers then choose one.
    sku_id: str = Field("", max_length=40)
    group_price_fen: int | None = None
    leader_price_fen: int | None = None
    stock: int | None = None
    variants: list[CampaignVariantIn] = Field(
        default_factory=list, max_length=services.MAX_VARIANTS
    )
    group_size: int
    group_minutes: int = DEFAULT_GROUP_MINUTES
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int = 1
    min_paid_to_complete: int | None = None
    community_ids: list[str] = Field(default_factory=list, max_length=20)


class CampaignVariantOut(Schema):
    sku_id: str = Field(..., alias="sku.public_id")
    options: dict = Field(..., alias="sku.options")
    normal_price_fen: int = Field(..., alias="sku.price_fen")
    group_price_fen: int
    leader_price_fen: int | None
    stock: int
    stock_total: int


class GroupCampaignOut(Schema):
    """A campaign; ``group_price_fen`` is its lowest group price and ``sku_id`` its first
    variant's SKU. When ``variants`` has more than one, opening or joining names one."""

    id: str = Field(..., alias="public_id")
    shop_id: str = Field(..., alias="shop.public_id")
    sku_id: str = Field(..., alias="sku.public_id")
    product_id: str = Field(..., alias="sku.product.public_id")
    title: str = Field(..., alias="sku.product.title")
    normal_price_fen: int = Field(..., alias="sku.price_fen")
    group_price_fen: int
    leader_price_fen: int | None
    group_size: int
    group_minutes: int
    starts_at: datetime
    ends_at: datetime
    stock: int
    stock_total: int
    per_user_limit: int
    min_paid_to_complete: int | None
    state: str
    variants: list[CampaignVariantOut]

    @staticmethod
    def resolve_variants(campaign) -> list:
        return list(campaign.variants.all())


class ConsoleCampaignOut(GroupCampaignOut):
    open_groups: int
    succeeded_groups: int
    failed_groups: int


class GroupMemberOut(Schema):
    name: str
    avatar_url: str
    is_leader: bool
    paid: bool
    # What this member pays (the leader price for the leader when the campaign has one).
    price_fen: int


class GroupOut(Schema):
    id: str
    campaign_id: str
    title: str
    state: str
    size: int
    seats_taken: int
    # Members whose money is held or kept; a failed group refunded them all (``refunded_count``).
    paid_count: int
    refunded_count: int
    more_needed: int
    deadline: datetime
    group_price_fen: int
    # The K rule: completes at the deadline with at least this many paid members (or null).
    min_paid_to_complete: int | None
    members: list[GroupMemberOut]
    share_url: str


class SeatOut(Schema):
    id: str
    group_id: str
    state: str
    is_leader: bool
    # The variant this member chose: its SKU and options.
    sku_id: str
    options: dict
    price_fen: int
    reserved_until: datetime
    order_id: str
    pay_url: str


class MyGroupOut(Schema):
    """One of the buyer's seats (a paginated queryset of seats) with its group."""

    seat: SeatOut
    group: GroupOut

    @staticmethod
    def resolve_seat(seat, context) -> dict:
        return _seat_out(seat)

    @staticmethod
    def resolve_group(seat, context) -> dict:
        return _group_out(context["request"], seat.group)


# --- converters -------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.utc)


def _group_url(group: Group) -> str:
    return reverse("deals_groups:group", args=[group.public_id])


def _avatar(user) -> str:
    return user.avatar.url if user.avatar else ""


def _group_out(request, group: Group) -> dict:
    campaign = group.campaign
    return {
        "id": group.public_id,
        "campaign_id": campaign.public_id,
        "title": campaign.sku.product.title,
        "state": group.state,
        "size": group.size,
        "seats_taken": group.seats_taken,
        "paid_count": group.paid_count,
        "refunded_count": group.refunded_count,
        "more_needed": group.more_needed,
        "deadline": group.deadline,
        "group_price_fen": campaign.group_price_fen,
        "min_paid_to_complete": campaign.min_paid_to_complete,
        "members": [
            {
                "name": seat.user.name,
                "avatar_url": _avatar(seat.user),
                "is_leader": seat.is_leader,
                "paid": seat.state == Seat.State.PAID,
                "price_fen": seat.price_fen,
            }
            for seat in selectors.members(group=group)
        ],
        "share_url": request.build_absolute_uri(_group_url(group)),
    }


def _seat_out(seat: Seat) -> dict:
    order = seat.order
    payable = seat.state == Seat.State.RESERVED and order is not None
    return {
        "id": seat.public_id,
        "group_id": seat.group.public_id,
        "state": seat.state,
        "is_leader": seat.is_leader,
        "sku_id": seat.variant.sku.public_id if seat.variant_id else "",
        "options": dict(seat.variant.sku.options) if seat.variant_id else {},
        "price_fen": seat.price_fen,
        "reserved_until": seat.reserved_until,
        "order_id": order.public_id if order else "",
        "pay_url": (
            order_selectors.pay_url(checkout=order.checkout, next_url=_group_url(seat.group))
            if payable and order.checkout.payment_public_id
            else ""
        ),
    }


# --- merchant ---------------------------------------------------------------------------------


@router.post("/campaigns", response={201: GroupCampaignOut})
def create_campaign(request, payload: GroupCampaignIn):
    variants = [
        services.VariantSpec(
            sku=selectors.sku_by_public_id(public_id=variant.sku_id),
            group_price_fen=variant.group_price_fen,
            leader_price_fen=variant.leader_price_fen,
            stock=variant.stock,
        )
        for variant in payload.variants
    ]
    sku = selectors.sku_by_public_id(public_id=payload.sku_id) if not variants else None
    communities = list(Community.objects.filter(public_id__in=payload.community_ids))
    campaign = services.create_campaign(
        actor=request.user,
        sku=sku,
        variants=variants,
        group_price_fen=payload.group_price_fen,
        leader_price_fen=payload.leader_price_fen,
        group_size=payload.group_size,
        group_minutes=payload.group_minutes,
        starts_at=_aware(payload.starts_at),
        ends_at=_aware(payload.ends_at),
        stock=payload.stock,
        per_user_limit=payload.per_user_limit,
        min_paid_to_complete=payload.min_paid_to_complete,
        communities=communities,
    )
    return Status(201, selectors.campaign_by_public_id(public_id=campaign.public_id))


@router.get("/campaigns/shop", response=list[ConsoleCampaignOut])
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def list_shop_campaigns(request):
    shop = order_selectors.merchant_shop(user=request.user)
    return selectors.shop_campaigns(shop=shop)


@router.post("/campaigns/{campaign_id}/pause", response=GroupCampaignOut)
def pause_campaign(request, campaign_id: str):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return services.pause_campaign(campaign=campaign, actor=request.user)


@router.post("/campaigns/{campaign_id}/resume", response=GroupCampaignOut)
def resume_campaign(request, campaign_id: str):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return services.resume_campaign(campaign=campaign, actor=request.user)


@router.post("/campaigns/{campaign_id}/end", response=GroupCampaignOut)
def end_campaign(request, campaign_id: str):
    campaign = selectors.campaign_for_merchant(public_id=campaign_id, user=request.user)
    return services.end_campaign(campaign=campaign, actor=request.user)


# --- buyers -----------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}", response=GroupCampaignOut, auth=None)
def get_campaign(request, campaign_id: str):
    return selectors.campaign_by_public_id(public_id=campaign_id)


@router.get("/campaigns/{campaign_id}/groups", response=list[GroupOut], auth=None)
def list_open_groups(request, campaign_id: str):
    campaign = selectors.campaign_by_public_id(public_id=campaign_id)
    groups = selectors.with_members(selectors.open_groups_of_campaign(campaign=campaign))[:50]
    return [_group_out(request, group) for group in groups]


class SeatIn(DealAddressIn):
    # The variant (a SKU's id from the campaign's ``variants``); required when it has several.
    sku_id: str = Field("", max_length=40)


@router.post("/campaigns/{campaign_id}/groups", response={201: SeatOut})
@money_endpoint
def open_group(request, campaign_id: str, payload: SeatIn):
    """Open a group as its leader, shipped to ``address_id`` (one of the buyer's addresses); pay
    at ``pay_url`` before ``reserved_until`` (the seat hold, ``SHOPLOOP_GROUP_SEAT_HOLD_MINUTES``).
    A campaign of several variants needs ``sku_id`` (else 422 ``variant_required``).
    ``POST /api/v1/deals/quote`` says first what it costs."""
    campaign = selectors.campaign_by_public_id(public_id=campaign_id)
    seat = services.open_group(
        campaign=campaign,
        user=request.user,
        address_id=payload.address_id,
        sku_id=payload.sku_id,
    )
    return Status(201, _seat_out(seat))


@router.get("/groups/{group_id}", response=GroupOut, auth=None)
def get_group(request, group_id: str):
    return _group_out(request, selectors.group_by_public_id(public_id=group_id))


@router.post("/groups/{group_id}/join", response={201: SeatOut})
@money_endpoint
def join_group(request, group_id: str, payload: SeatIn):
    """Reserve a seat in the group, shipped to ``address_id``; pay at ``pay_url`` before
    ``reserved_until`` (the seat hold, ``SHOPLOOP_GROUP_SEAT_HOLD_MINUTES``). A campaign of
    several variants needs ``sku_id``: each member chooses their own."""
    group = selectors.group_by_public_id(public_id=group_id)
    seat = services.join_group(
        group=group, user=request.user, address_id=payload.address_id, sku_id=payload.sku_id
    )
    return Status(201, _seat_out(seat))


@router.get("/mine", response=list[MyGroupOut])
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def my_groups(request):
    return selectors.with_members(selectors.my_seats(user=request.user), through="group")
