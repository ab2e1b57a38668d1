"""Co-creation API, mounted at /api/v1/ideas: ideas, votes, comments, the merchant's answers, the
shop's changelog; wanted products, wants and the pre-sale started from them. Parse, call a
service or selector, answer."""

from datetime import date, datetime

from django.urls import reverse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from shoploop.accounts.auth import optional_auth
from shoploop.catalog.selectors import product_by_public_id, shop_by_public_id
from shoploop.communities.selectors import get_community
from shoploop.core.errors import PermissionDenied
from shoploop.core.schemas import InputSchema, rate_limited_response
from shoploop.ideas import selectors, services
from shoploop.ideas.models import Idea, PriceBand, WantedProduct

router = Router(tags=["ideas"])
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class IdeaPageIn(Schema):
    """Offset pages (lists sorted by votes move under a cursor, so they are paged by offset)."""

    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0)


class IdeaPagination(LimitOffsetPagination):
    """ninja's limit/offset pages with an input schema of our own name (every schema name in the
    document is unique; ninja's own is called ``Input`` like the cursor pagination's)."""

    Input = IdeaPageIn

    def __init__(self, **kwargs):
        super().__init__(max_limit=MAX_PAGE_SIZE, **kwargs)


RATE_LIMITED = rate_limited_response(
    "Too many proposals or comments in a minute; ``rate_limited``."
)


# ---------------------------------------------------------------------------------------------
# Schemas (names are unique across the whole API)


class IdeaPersonOut(Schema):
    id: str
    display_name: str


class IdeaPhotoOut(Schema):
    id: str
    url: str
    width: int
    height: int


class IdeaProductOut(Schema):
    id: str
    title: str


class _ShopThingOut(Schema):
    """What an idea and a wanted product share: their id, their shop's and their community's."""

    id: str
    shop_id: str
    community_id: str | None = None

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_shop_id(obj) -> str:
        return obj.shop.public_id

    @staticmethod
    def resolve_community_id(obj) -> str | None:
        return obj.community.public_id if obj.community_id else None


class IdeaOut(_ShopThingOut):
    """Read from an Idea."""

    author: IdeaPersonOut
    kind: str
    product: IdeaProductOut | None = None
    title: str
    body: str
    photos: list[IdeaPhotoOut]
    status: str
    answer: str
    shipped_product: IdeaProductOut | None = None
    shipped_at: datetime | None = None
    vote_count: int
    comment_count: int
    created_at: datetime
    url: str

    @staticmethod
    def resolve_author(obj) -> dict:
        return _person(obj.author)

    @staticmethod
    def resolve_kind(obj) -> str:
        return "improvement" if obj.product_id else "new_product"

    @staticmethod
    def resolve_product(obj) -> dict | None:
        return _product(obj.product) if obj.product_id else None

    @staticmethod
    def resolve_shipped_product(obj) -> dict | None:
        return _product(obj.shipped_product) if obj.shipped_product_id else None

    @staticmethod
    def resolve_photos(obj) -> list[dict]:
        return [_photo(photo) for photo in obj.photos.all()]

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("ideas:idea", args=[obj.public_id])


class IdeaIn(InputSchema):
    shop_id: str
    community_id: str | None = None
    product_id: str | None = None
    title: str
    body: str


class IdeaVoteOut(Schema):
    idea_id: str
    vote_count: int
    voted: bool


class IdeaCommentOut(Schema):
    id: str
    author: IdeaPersonOut
    body: str
    from_shop: bool
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_author(obj) -> dict:
        return _person(obj.author)


class IdeaCommentIn(InputSchema):
    body: str


class IdeaStatusIn(InputSchema):
    status: str
    reason: str = ""
    product_id: str | None = None


class IdeaStatusChangeOut(Schema):
    from_status: str
    to_status: str
    reason: str
    product: IdeaProductOut | None = None
    created_at: datetime

    @staticmethod
    def resolve_product(obj) -> dict | None:
        return _product(obj.product) if obj.product_id else None


class IdeaPriceBandOut(Schema):
    code: str
    label: str


class WantedProductOut(_ShopThingOut):
    """Read from a WantedProduct."""

    proposer: IdeaPersonOut
    title: str
    description: str
    state: str
    want_count: int
    project_id: str | None = None
    created_at: datetime
    url: str

    @staticmethod
    def resolve_proposer(obj) -> dict:
        return _person(obj.proposer)

    @staticmethod
    def resolve_project_id(obj) -> str | None:
        return obj.project.public_id if obj.project_id else None

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("ideas:wanted", args=[obj.public_id])


class WantedProductIn(InputSchema):
    title: str
    description: str = ""
    community_id: str | None = None


class WantIn(InputSchema):
    price_band: str | None = None
    community_id: str | None = None


class WantOut(Schema):
    id: str
    wanted_product_id: str
    price_band: str
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.public_id

    @staticmethod
    def resolve_wanted_product_id(obj) -> str:
        return obj.wanted_product.public_id


class WantBandDemandOut(Schema):
    band: str
    label: str
    count: int


class WantCommunityDemandOut(Schema):
    community_id: str
    name: str
    total: int
    by_band: dict[str, int]


class WantPresaleDraftOut(Schema):
    title: str
    story: str
    band: str
    price_fen: int
    target_units: int
    deadline: datetime
    estimated_delivery: date


class WantDemandOut(Schema):
    want_count: int
    by_band: list[WantBandDemandOut]
    by_community: list[WantCommunityDemandOut]
    presale_draft: WantPresaleDraftOut


class WantPresaleIn(InputSchema):
    """Every field is optional: what is left out comes from the suggested draft."""

    title: str | None = None
    story: str | None = None
    price_fen: int | None = None
    target_units: int | None = None
    deadline: datetime | None = None
    estimated_delivery: date | None = None


class IdeaListQuery(Schema):
    sort: str = "votes"
    status: str | None = None


# ---------------------------------------------------------------------------------------------
# Helpers


def _person(user) -> dict:
    return {"id": user.public_id, "display_name": str(user)}


def _product(product) -> dict:
    return {"id": product.public_id, "title": product.title}


def _photo(photo) -> dict:
    return {
        "id": photo.public_id,
        "url": photo.image.url,
        "width": photo.width,
        "height": photo.height,
    }


def _idea(request, idea_id: str) -> Idea:
    return selectors.get_idea(public_id=idea_id, viewer=request.user)


def _wanted(request, wanted_id: str) -> WantedProduct:
    return selectors.get_wanted_product(public_id=wanted_id, viewer=request.user)


def _shop(request, shop_id: str):
    from shoploop.catalog.selectors import visible_shop

    return visible_shop(public_id=shop_id, viewer=request.user)


def _optional_community(community_id: str | None):
    return get_community(public_id=community_id) if community_id else None


def _optional_product(product_id: str | None):
    if not product_id:
        return None
    return product_by_public_id(public_id=product_id)


# ---------------------------------------------------------------------------------------------
# Ideas


@router.get("/communities/{community_id}/ideas", response=list[IdeaOut], auth=optional_auth)
@paginate(IdeaPagination)
def list_community_ideas(request, community_id: str, filters: Query[IdeaListQuery]):
    """A community's ideas: ``sort`` = ``votes`` (default) or ``new``; ``status`` = one status
    or ``open``."""
    community = get_community(public_id=community_id)
    return selectors.community_ideas(
        community=community, viewer=request.user, sort=filters.sort, status=filters.status
    )


@router.get("/shops/{shop_id}/ideas", response=list[IdeaOut], auth=optional_auth)
@paginate(IdeaPagination)
def list_shop_ideas(request, shop_id: str, filters: Query[IdeaListQuery]):
    shop = _shop(request, shop_id)
    return selectors.shop_ideas(
        shop=shop, viewer=request.user, sort=filters.sort, status=filters.status
    )


@router.get("/shops/{shop_id}/changelog", response=list[IdeaOut], auth=optional_auth)
@paginate(IdeaPagination)
def shop_changelog(request, shop_id: str):
    """The shop's shipped ideas, latest first, each with the product that answers it."""
    return selectors.shop_changelog(shop=_shop(request, shop_id), viewer=request.user)


@router.post("/ideas", response={201: IdeaOut}, openapi_extra=RATE_LIMITED)
def propose_idea(request, body: IdeaIn):
    """From a community the shop is offered in (``community_id``, members only) or as a follower
    of the shop; ``product_id`` makes it an improvement of that product. Add photos after."""
    shop = shop_by_public_id(public_id=body.shop_id)
    idea = services.propose_idea(
        actor=request.user,
        shop=shop,
        community=_optional_community(body.community_id),
        product=_optional_product(body.product_id),
        title=body.title,
        body=body.body,
    )
    return Status(201, selectors.get_idea(public_id=idea.public_id, viewer=request.user))


@router.get("/ideas/{idea_id}", response=IdeaOut, auth=optional_auth)
def get_idea(request, idea_id: str):
    return _idea(request, idea_id)


@router.post("/ideas/{idea_id}/photos", response={201: IdeaPhotoOut})
def add_idea_photo(request, idea_id: str, photo: File[UploadedFile]):
    """Multipart (field ``photo``): JPEG, PNG or WebP, at most 5 MB; resized, EXIF stripped; at
    most 4 per idea."""
    stored = services.add_idea_photo(actor=request.user, idea=_idea(request, idea_id), upload=photo)
    return Status(201, _photo(stored))


@router.post("/ideas/{idea_id}/vote", response={201: IdeaVoteOut})
def vote(request, idea_id: str):
    """Once per person: a second vote is a 409 ``already_voted``; a shipped or declined idea
    answers 409 ``idea_closed``; someone neither in its community nor following the shop 403
    ``not_a_member``."""
    idea = _idea(request, idea_id)
    services.vote(actor=request.user, idea=idea)
    idea.refresh_from_db(fields=["vote_count"])
    return Status(201, {"idea_id": idea.public_id, "vote_count": idea.vote_count, "voted": True})


@router.get("/ideas/{idea_id}/comments", response=list[IdeaCommentOut], auth=optional_auth)
@paginate(IdeaPagination)
def list_comments(request, idea_id: str):
    return selectors.idea_comments(idea=_idea(request, idea_id))


@router.post(
    "/ideas/{idea_id}/comments", response={201: IdeaCommentOut}, openapi_extra=RATE_LIMITED
)
def add_comment(request, idea_id: str, body: IdeaCommentIn):
    comment = services.add_comment(actor=request.user, idea=_idea(request, idea_id), body=body.body)
    return Status(201, comment)


@router.get("/ideas/{idea_id}/history", response=list[IdeaStatusChangeOut], auth=optional_auth)
def idea_history(request, idea_id: str):
    """The merchant's answers, oldest first."""
    return list(selectors.idea_history(idea=_idea(request, idea_id)))


@router.post("/ideas/{idea_id}/status", response=IdeaOut)
def change_status(request, idea_id: str, body: IdeaStatusIn):
    """The shop's owner answers: ``under_review``, ``planned``, ``in_progress``, ``shipped``
    (with ``product_id``) or ``declined`` (with a ``reason``). Forward only; 403
    ``not_shop_owner`` for anyone else, 409 ``invalid_transition`` / ``idea_closed``."""
    idea = _idea(request, idea_id)
    product = _optional_product(body.product_id)
    services.change_status(
        actor=request.user, idea=idea, status=body.status, reason=body.reason, product=product
    )
    return _idea(request, idea_id)


# ---------------------------------------------------------------------------------------------
# Wanted products and wants


@router.get("/price-bands", response=list[IdeaPriceBandOut], auth=optional_auth)
def price_bands(request):
    return [{"code": band.value, "label": str(band.label)} for band in PriceBand]


@router.get("/shops/{shop_id}/wanted", response=list[WantedProductOut], auth=optional_auth)
@paginate(IdeaPagination)
def list_wanted_products(request, shop_id: str):
    return selectors.shop_wanted_products(shop=_shop(request, shop_id), viewer=request.user)


@router.post(
    "/shops/{shop_id}/wanted", response={201: WantedProductOut}, openapi_extra=RATE_LIMITED
)
def propose_wanted_product(request, shop_id: str, body: WantedProductIn):
    wanted = services.propose_wanted_product(
        actor=request.user,
        shop=shop_by_public_id(public_id=shop_id),
        community=_optional_community(body.community_id),
        title=body.title,
        description=body.description,
    )
    return Status(201, wanted)


@router.get("/wanted/{wanted_id}", response=WantedProductOut, auth=optional_auth)
def get_wanted_product(request, wanted_id: str):
    return _wanted(request, wanted_id)


@router.post("/wanted/{wanted_id}/wants", response={201: WantOut})
def add_want(request, wanted_id: str, body: WantIn):
    """想要 at a price band (``GET /price-bands``): 422 ``price_band_required`` without one,
    409 ``already_wanted`` a second time, 409 ``presale_already_started`` after the pre-sale."""
    want = services.add_want(
        actor=request.user,
        wanted_product=_wanted(request, wanted_id),
        price_band=body.price_band,
        community=_optional_community(body.community_id),
    )
    return Status(201, want)


def _owned_wanted(request, wanted_id: str) -> WantedProduct:
    wanted = _wanted(request, wanted_id)
    if not selectors.is_shop_owner(user=request.user, shop=wanted.shop):
        raise PermissionDenied(code="not_shop_owner")
    return wanted


@router.get("/wanted/{wanted_id}/demand", response=WantDemandOut)
def demand(request, wanted_id: str):
    """The shop's owner: wants by price band and by the wanters' communities, and the suggested
    pre-sale."""
    wanted = _owned_wanted(request, wanted_id)
    return {
        "want_count": wanted.want_count,
        "by_band": selectors.demand_by_band(wanted_product=wanted),
        "by_community": [
            {
                "community_id": row.community_public_id,
                "name": row.name,
                "total": row.total,
                "by_band": row.by_band,
            }
            for row in selectors.demand_by_community(wanted_product=wanted)
        ],
        "presale_draft": selectors.presale_draft(wanted_product=wanted),
    }


@router.post("/wanted/{wanted_id}/presale", response={201: WantedProductOut})
def start_presale(request, wanted_id: str, body: WantPresaleIn):
    """The shop's owner starts a crowdfunding pre-sale (a units target, one tier); fields left
    out come from the suggested draft. Every wanter is notified."""
    wanted = _owned_wanted(request, wanted_id)
    draft = selectors.presale_draft(wanted_product=wanted)
    given = body.model_dump(exclude_none=True)
    fields = {
        "title": draft.title,
        "story": draft.story,
        "price_fen": draft.price_fen,
        "target_units": draft.target_units,
        "deadline": draft.deadline,
        "estimated_delivery": draft.estimated_delivery,
    }
    services.start_presale(actor=request.user, wanted_product=wanted, **{**fields, **given})
    return Status(201, _wanted(request, wanted_id))
