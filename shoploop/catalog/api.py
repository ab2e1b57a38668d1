"""Catalog API (/api/v1/catalog): parse, call a service or selector, return a schema."""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema, Status, UploadedFile
from ninja.pagination import CursorPagination, paginate
from pydantic import Field, StrictInt

from shoploop.accounts.auth import optional_auth
from shoploop.catalog import selectors, services
from shoploop.catalog.models import (
    PRODUCT_TITLE_MAX_LENGTH,
    Product,
    Shop,
)
from shoploop.core.errors import NotFound
from shoploop.core.schemas import InputSchema, PublicSchema

router = Router(tags=["catalog"])


# --- schemas ----------------------------------------------------------------------------------


class CommunityRef(PublicSchema):
    name: str


class ShopRef(PublicSchema):
    name: str


class ShopOut(PublicSchema):
    name: str
    description: str
    public_contact: str
    contact: str = Field(
        description="How the platform reaches the merchant: only its owner sees it, others get ''."
    )
    logo_url: str | None
    status: str
    fee_rate_bps: int
    rejection_reason: str
    communities: list[CommunityRef]
    created_at: datetime

    @staticmethod
    def resolve_logo_url(obj) -> str | None:
        return obj.logo.url if obj.logo else None

    @staticmethod
    def resolve_contact(obj, context) -> str:
        viewer = context["request"].user if context else None
        return obj.contact if getattr(viewer, "pk", None) == obj.owner_id else ""

    @staticmethod
    def resolve_rejection_reason(obj, context) -> str:
        """Why an application was rejected is between the operator and the applicant."""
        viewer = context["request"].user if context else None
        return obj.rejection_reason if getattr(viewer, "pk", None) == obj.owner_id else ""

    @staticmethod
    def resolve_communities(obj) -> list:
        return list(selectors.shop_communities(shop=obj))


class ShopFollowOut(PublicSchema):
    """A shop as its (would-be) follower sees it: the count of its 粉丝 and whether they are one."""

    name: str
    follower_count: int
    following: bool

    @staticmethod
    def resolve_follower_count(obj) -> int:
        return selectors.shop_follower_count(shop=obj)

    @staticmethod
    def resolve_following(obj, context) -> bool:
        viewer = context["request"].user if context else None
        return selectors.follows_shop(user=viewer, shop=obj)


class FollowedShopOut(Schema):
    shop: ShopRef
    followed_at: datetime

    @staticmethod
    def resolve_shop(obj) -> Shop:
        return obj.shop

    @staticmethod
    def resolve_followed_at(obj) -> datetime:
        return obj.created_at


class ShopApplyIn(InputSchema):
    name: str
    contact: str
    description: str = ""


class ShopUpdateIn(InputSchema):
    name: str | None = None
    contact: str | None = None
    public_contact: str | None = None
    description: str | None = None
    return_address: str | None = None


class CommunityIdIn(InputSchema):
    community: str


class ImageOut(PublicSchema):
    url: str
    width: int
    height: int
    position: int

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.image.url


class SkuOut(PublicSchema):
    options: dict[str, str]
    price_fen: int
    list_price_fen: int | None
    stock: int
    stock_state: str
    is_active: bool

    @staticmethod
    def resolve_stock_state(obj) -> str:
        return selectors.stock_state(obj.stock).code


class ProductTile(PublicSchema):
    title: str
    category: str
    shop: ShopRef
    cover_url: str | None
    min_price_fen: int | None
    is_published: bool
    created_at: datetime

    @staticmethod
    def resolve_cover_url(obj) -> str | None:
        images = list(obj.images.all())
        return images[0].image.url if images else None

    @staticmethod
    def resolve_min_price_fen(obj) -> int | None:
        if hasattr(obj, "min_price_fen"):  # annotated by the list selectors
            return obj.min_price_fen
        prices = [sku.price_fen for sku in obj.skus.all() if sku.is_active]
        return min(prices) if prices else None


class ProductOut(ProductTile):
    description: str
    description_html: str
    tags: list[str]
    images: list[ImageOut]
    skus: list[SkuOut]
    communities: list[CommunityRef]

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_images(obj) -> list:
        return list(obj.images.all())

    @staticmethod
    def resolve_skus(obj) -> list:
        return list(obj.skus.all())

    @staticmethod
    def resolve_communities(obj) -> list:
        return list(obj.communities.all())


class ProductIn(InputSchema):
    title: str = Field(max_length=PRODUCT_TITLE_MAX_LENGTH * 4)  # the service has the exact rule
    description: str = ""
    category: str = Product.Category.OTHER
    tags: list[str] = []
    communities: list[str] = []


class ProductPatch(InputSchema):
    title: str | None = None
    description: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    communities: list[str] | None = None


class SkuIn(InputSchema):
    options: dict[str, str] = {}
    # StrictInt: money is whole fen; 12.5 or "12" is a client bug and answers 422.
    price_fen: StrictInt
    list_price_fen: StrictInt | None = None
    stock: StrictInt = 0


class SkuPatch(InputSchema):
    options: dict[str, str] | None = None
    price_fen: StrictInt | None = None
    list_price_fen: StrictInt | None = None
    is_active: bool | None = None


class StockAdjustIn(InputSchema):
    delta: StrictInt


# --- helpers --------------------------------------------------------------------------------


def _my_shop(user) -> Shop:
    shop = selectors.shop_of(user=user)
    if shop is None:
        raise NotFound(_("You do not have a shop yet."), code="no_shop")
    return shop


def _fresh_product(product: Product, request) -> Product:
    """The product re-read with everything ProductOut shows."""
    return selectors.product_for_owner(public_id=product.public_id, actor=request.user)


# --- shops ------------------------------------------------------------------------------------


@router.post("/shops", response={201: ShopOut})
def apply_for_shop(request, payload: ShopApplyIn):
    shop = services.apply_for_shop(user=request.user, **payload.dict())
    return Status(201, shop)


@router.get("/shops/mine", response=ShopOut)
def my_shop(request):
    return _my_shop(request.user)


@router.get("/shops/mine/products", response=list[ProductTile])
@paginate(CursorPagination, ordering=("-created_at",))
def my_products(request):
    """Every product of the caller's shop, published or not."""
    return selectors.merchant_products(shop=_my_shop(request.user))


@router.get("/shops/{shop_id}", response=ShopOut, auth=optional_auth)
def get_shop(request, shop_id: str):
    return selectors.visible_shop(public_id=shop_id, viewer=request.user)


@router.post("/shops/{shop_id}/follow", response={201: ShopFollowOut})
def follow_shop(request, shop_id: str):
    """Become one of the shop's 粉丝: 409 ``already_following``, 422 ``cannot_follow_own_shop``."""
    shop = selectors.visible_shop(public_id=shop_id, viewer=request.user)
    services.follow_shop(actor=request.user, shop=shop)
    return Status(201, shop)


@router.delete("/shops/{shop_id}/follow", response=ShopFollowOut)
def unfollow_shop(request, shop_id: str):
    """Stop following: 409 ``not_following`` when one did not."""
    shop = selectors.visible_shop(public_id=shop_id, viewer=request.user)
    services.unfollow_shop(actor=request.user, shop=shop)
    return shop


@router.get("/shops/{shop_id}/follow", response=ShopFollowOut, auth=optional_auth)
def shop_follow_state(request, shop_id: str):
    """The shop's follower count and whether the caller follows it."""
    return selectors.visible_shop(public_id=shop_id, viewer=request.user)


@router.get("/me/followed-shops", response=list[FollowedShopOut])
@paginate(CursorPagination, ordering=("-created_at",))
def followed_shops(request):
    return selectors.followed_shop_links(user=request.user)


@router.patch("/shops/{shop_id}", response=ShopOut)
def update_shop(request, shop_id: str, payload: ShopUpdateIn):
    shop = selectors.shop_by_public_id(public_id=shop_id)
    shop = services.update_shop(shop=shop, actor=request.user, **payload.dict(exclude_unset=True))
    return shop


@router.post("/shops/{shop_id}/logo", response=ShopOut)
def upload_shop_logo(request, shop_id: str, logo: File[UploadedFile]):
    shop = selectors.shop_by_public_id(public_id=shop_id)
    shop = services.set_shop_logo(shop=shop, actor=request.user, upload=logo)
    return shop


@router.post("/shops/{shop_id}/communities", response=ShopOut)
def list_shop_in_community(request, shop_id: str, payload: CommunityIdIn):
    shop = selectors.shop_by_public_id(public_id=shop_id)
    (community,) = selectors.communities_by_public_ids(public_ids=[payload.community])
    services.list_shop_in_community(shop=shop, community=community, actor=request.user)
    return shop


@router.delete("/shops/{shop_id}/communities/{community_id}", response=ShopOut)
def unlist_shop_from_community(request, shop_id: str, community_id: str):
    shop = selectors.shop_by_public_id(public_id=shop_id)
    (community,) = selectors.communities_by_public_ids(public_ids=[community_id])
    services.unlist_shop_from_community(shop=shop, community=community, actor=request.user)
    return shop


@router.get("/shops/{shop_id}/products", response=list[ProductTile], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def shop_products(request, shop_id: str):
    shop = selectors.visible_shop(public_id=shop_id, viewer=request.user)
    return selectors.shop_products(shop=shop)


# --- products ---------------------------------------------------------------------------------


@router.get("/products", response=list[ProductTile], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def list_products(request, q: str = "", tag: str = ""):
    """Products on sale, newest first; ``q`` searches title, description and tags."""
    return selectors.search_products(query=q, tag=tag)


@router.get("/products/{product_id}", response=ProductOut, auth=optional_auth)
def get_product(request, product_id: str):
    return selectors.product_for_viewer(public_id=product_id, viewer=request.user)


@router.post("/products", response={201: ProductOut})
def create_product(request, payload: ProductIn):
    data = payload.dict()
    communities = selectors.communities_by_public_ids(public_ids=data.pop("communities"))
    product = services.create_product(
        shop=_my_shop(request.user), actor=request.user, communities=communities, **data
    )
    return Status(201, _fresh_product(product, request))


@router.patch("/products/{product_id}", response=ProductOut)
def update_product(request, product_id: str, payload: ProductPatch):
    product = selectors.product_by_public_id(public_id=product_id)
    data = payload.dict(exclude_unset=True)
    if data.get("communities") is not None:
        data["communities"] = selectors.communities_by_public_ids(public_ids=data["communities"])
    product = services.update_product(product=product, actor=request.user, **data)
    return _fresh_product(product, request)


@router.post("/products/{product_id}/publish", response=ProductOut)
def publish_product(request, product_id: str):
    product = selectors.product_by_public_id(public_id=product_id)
    services.publish_product(product=product, actor=request.user)
    return _fresh_product(product, request)


@router.post("/products/{product_id}/unpublish", response=ProductOut)
def unpublish_product(request, product_id: str):
    product = selectors.product_by_public_id(public_id=product_id)
    product = services.unpublish_product(product=product, actor=request.user)
    return product


@router.post("/products/{product_id}/images", response={201: ImageOut})
def add_product_image(request, product_id: str, image: File[UploadedFile]):
    product = selectors.product_by_public_id(public_id=product_id)
    created = services.add_product_image(product=product, actor=request.user, upload=image)
    return Status(201, created)


@router.post("/images/{image_id}/cover", response=ImageOut)
def make_cover_image(request, image_id: str):
    image = selectors.image_by_public_id(public_id=image_id)
    services.make_cover_image(image=image, actor=request.user)
    return image


@router.delete("/images/{image_id}", response={204: None})
def remove_product_image(request, image_id: str):
    image = selectors.image_by_public_id(public_id=image_id)
    services.remove_product_image(image=image, actor=request.user)
    return Status(204, None)


@router.post("/products/{product_id}/skus", response={201: SkuOut})
def add_sku(request, product_id: str, payload: SkuIn):
    product = selectors.product_by_public_id(public_id=product_id)
    sku = services.add_sku(product=product, actor=request.user, **payload.dict())
    return Status(201, sku)


@router.patch("/skus/{sku_id}", response=SkuOut)
def update_sku(request, sku_id: str, payload: SkuPatch):
    sku = selectors.sku_by_public_id(public_id=sku_id)
    sku = services.update_sku(sku=sku, actor=request.user, **payload.dict(exclude_unset=True))
    return sku


@router.post("/skus/{sku_id}/stock", response=SkuOut)
def adjust_stock(request, sku_id: str, payload: StockAdjustIn):
    sku = selectors.sku_by_public_id(public_id=sku_id)
    sku = services.adjust_stock(sku=sku, delta=payload.delta, actor=request.user)
    return sku
