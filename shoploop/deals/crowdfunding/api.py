"""/api/v1/deals/crowdfunding/…: projects, tiers, pledges, updates. Thin: parse, call a service or
selector, return a schema. Prices come from the tier, never from the client."""

from datetime import date, datetime

from ninja import Field, File, Router, Schema, Status, UploadedFile
from ninja.pagination import CursorPagination, paginate

from shoploop.accounts.auth import optional_auth
from shoploop.catalog.api import ImageOut  # the product photo's schema: id, url, width, height
from shoploop.core.errors import PermissionDenied
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.deals.crowdfunding import selectors, services
from shoploop.deals.schemas import DealAddressIn
from shoploop.orders import selectors as order_selectors

router = Router(tags=["deals: crowdfunding"])


# --- schemas ----------------------------------------------------------------------------------


class TierIn(InputSchema):
    title: str = Field(..., max_length=120)
    price_fen: int
    units: int = 1
    limit: int | None = None
    estimated_delivery: date


class ProjectIn(InputSchema):
    title: str = Field(..., max_length=120)
    story: str = Field(..., max_length=10000)
    target_kind: str = Field("fen", max_length=10)
    target_value: int
    deadline: datetime
    tiers: list[TierIn] = Field(..., max_length=20)


class TierOut(Schema):
    id: str = Field(..., alias="public_id")
    title: str
    price_fen: int
    units: int
    limit: int | None
    claimed: int
    remaining: int | None
    estimated_delivery: date


class ProjectOut(Schema):
    id: str = Field(..., alias="public_id")
    shop_id: str = Field(..., alias="shop.public_id")
    shop_name: str = Field(..., alias="shop.name")
    title: str
    story: str
    target_kind: str
    target_value: int
    deadline: datetime
    state: str
    paused: bool = Field(..., alias="is_paused")
    pledged_fen: int
    pledged_units: int
    backers: int
    percent: int
    created_at: datetime
    tiers: list[TierOut]
    images: list[ImageOut]

    @staticmethod
    def resolve_tiers(obj):
        return list(obj.tiers.all())

    @staticmethod
    def resolve_images(obj):
        return list(obj.images.all())


class PledgeOut(Schema):
    id: str = Field(..., alias="public_id")
    project_id: str = Field(..., alias="project.public_id")
    project_title: str = Field(..., alias="project.title")
    project_state: str = Field(..., alias="project.state")
    tier_id: str = Field(..., alias="tier.public_id")
    state: str
    amount_fen: int
    units: int
    order_id: str | None
    refunded_fen: int
    pay_url: str | None
    expires_at: datetime
    created_at: datetime

    @staticmethod
    def resolve_order_id(obj):
        return obj.order.public_id if obj.order else None

    @staticmethod
    def resolve_refunded_fen(obj):
        return obj.order.refunded_fen if obj.order else 0

    @staticmethod
    def resolve_pay_url(obj):
        if obj.state != "pending_payment" or obj.order is None:
            return None
        return order_selectors.pay_url(checkout=obj.order.checkout)


class UpdateIn(InputSchema):
    body: str = Field(..., max_length=5000)


class UpdateOut(Schema):
    id: str = Field(..., alias="public_id")
    body: str
    created_at: datetime


def _pledge(pledge):
    return selectors.pledge_for_backer(public_id=pledge.public_id, user=pledge.backer)


# --- projects ---------------------------------------------------------------------------------


@router.post("/projects", response={201: ProjectOut})
def create_project(request, payload: ProjectIn):
    project = services.create_project(
        actor=request.user,
        title=payload.title,
        story=payload.story,
        target_kind=payload.target_kind,
        target_value=payload.target_value,
        deadline=payload.deadline,
        tiers=[services.TierSpec(**tier.dict()) for tier in payload.tiers],
    )
    return Status(201, selectors.project_by_public_id(public_id=project.public_id))


@router.get("/projects", response=list[ProjectOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("deadline", "pk"))
def list_projects(request):
    """Live projects, the nearest deadline first."""
    return selectors.live_projects()


@router.get("/projects/mine", response=list[ProjectOut])
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def list_my_shop_projects(request):
    """The merchant's own projects, any state (the console's list)."""
    shop = services.creator_shop(actor=request.user)
    return selectors.shop_projects(shop=shop)


@router.get("/projects/{project_id}", response=ProjectOut, auth=optional_auth)
def get_project(request, project_id: str):
    return selectors.project_by_public_id(public_id=project_id)


@router.post("/projects/{project_id}/cancel", response=ProjectOut)
def cancel_project(request, project_id: str):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    services.cancel_project(project=project, actor=request.user)
    return selectors.project_by_public_id(public_id=project_id)


@router.post("/projects/{project_id}/pause", response=ProjectOut)
def pause_project(request, project_id: str):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    services.pause_project(project=project, actor=request.user)
    return selectors.project_by_public_id(public_id=project_id)


@router.post("/projects/{project_id}/resume", response=ProjectOut)
def resume_project(request, project_id: str):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    services.resume_project(project=project, actor=request.user)
    return selectors.project_by_public_id(public_id=project_id)


@router.post("/projects/{project_id}/images", response={201: ImageOut})
def add_project_image(request, project_id: str, image: File[UploadedFile]):
    """Multipart upload (field ``image``): JPEG, PNG or WebP, at most 5 MB; stored resized."""
    project = selectors.project_by_public_id(public_id=project_id)
    return Status(
        201, services.add_project_image(project=project, actor=request.user, upload=image)
    )


@router.delete("/images/{image_id}", response={204: None})
def remove_project_image(request, image_id: str):
    image = selectors.image_by_public_id(public_id=image_id)
    services.remove_project_image(image=image, actor=request.user)
    return Status(204, None)


@router.get("/projects/{project_id}/tiers", response=list[TierOut], auth=optional_auth)
def list_tiers(request, project_id: str):
    return list(selectors.project_by_public_id(public_id=project_id).tiers.all())


@router.get("/projects/{project_id}/updates", response=list[UpdateOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def list_updates(request, project_id: str):
    return selectors.updates_of(project=selectors.project_by_public_id(public_id=project_id))


@router.post("/projects/{project_id}/updates", response={201: UpdateOut})
def post_update(request, project_id: str, payload: UpdateIn):
    project = selectors.project_by_public_id(public_id=project_id)
    return Status(201, services.post_update(project=project, actor=request.user, body=payload.body))


# --- pledges ----------------------------------------------------------------------------------


@router.post("/tiers/{tier_id}/back", response={201: PledgeOut})
@money_endpoint
def back(request, tier_id: str, payload: DealAddressIn):
    """A pledge awaiting payment, its reward shipped to ``address_id`` (one of the backer's
    addresses); pay at its ``pay_url`` before ``expires_at``."""
    tier = selectors.tier_by_public_id(public_id=tier_id)
    pledge = services.back(tier=tier, user=request.user, address_id=payload.address_id)
    return Status(201, _pledge(pledge))


@router.get("/pledges/mine", response=list[PledgeOut])
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def my_pledges(request):
    return selectors.my_pledges(user=request.user)


@router.get("/pledges/{pledge_id}", response=PledgeOut)
def get_pledge(request, pledge_id: str):
    return selectors.pledge_for_backer(public_id=pledge_id, user=request.user)


@router.post("/pledges/{pledge_id}/cancel", response=PledgeOut)
def cancel_pledge(request, pledge_id: str):
    pledge = selectors.pledge_for_backer(public_id=pledge_id, user=request.user)
    if pledge.backer_id != request.user.pk:
        raise PermissionDenied()
    services.cancel_pledge(pledge=pledge, actor=request.user)
    return selectors.pledge_for_backer(public_id=pledge_id, user=request.user)
