"""Reads for the catalog: querysets with what their pages need loaded up front."""

from dataclasses import dataclass

from django.db.models import Min, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import SKU, Product, ProductImage, Shop, ShopFollow
from shoploop.communities.models import Community, Membership
from shoploop.core.errors import NotFound, PermissionDenied

LOW_STOCK_THRESHOLD = 5
SEARCH_QUERY_MAX_LENGTH = 100


# --- shops ------------------------------------------------------------------------------------


def shop_of(*, user) -> Shop | None:
    """The user's own shop, whatever its status."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Shop.objects.filter(owner=user).first()


def shop_by_public_id(*, public_id: str) -> Shop:
    shop = Shop.objects.select_related("owner").filter(public_id=public_id).first()
    if shop is None:
        raise NotFound(_("No such shop."), code="shop_not_found")
    return shop


def visible_shop(*, public_id: str, viewer) -> Shop:
    """An approved shop for everyone; a pending or rejected one only for its owner."""
    shop = shop_by_public_id(public_id=public_id)
    if shop.status != Shop.Status.APPROVED and not _is_owner(shop, viewer):
        raise NotFound(_("No such shop."), code="shop_not_found")
    return shop


def shop_communities(*, shop: Shop) -> QuerySet[Community]:
    return shop.communities.filter(state=Community.State.ACTIVE).order_by("name")


def listable_communities(*, user) -> QuerySet[Community]:
    """Active communities the user is an active member of: where their shop may be offered."""
    return Community.objects.filter(
        state=Community.State.ACTIVE,
        memberships__user=user,
        memberships__state=Membership.State.ACTIVE,
    ).order_by("name")


def _is_owner(shop: Shop, viewer) -> bool:
    return bool(viewer is not None and getattr(viewer, "is_authenticated", False)) and (
        shop.owner_id == viewer.pk
    )


# --- products ---------------------------------------------------------------------------------


def _with_tile_data(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """What a product tile shows: shop, cover image, lowest active price and stock."""
    return (
        queryset.select_related("shop")
        .prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "created_at"))
        )
        .annotate(
            min_price_fen=Min("skus__price_fen", filter=Q(skus__is_active=True)),
            total_stock=Sum("skus__stock", filter=Q(skus__is_active=True)),
        )
    )


def on_sale_products() -> QuerySet[Product]:
    """Published products of approved shops, newest first."""
    return _with_tile_data(
        Product.objects.filter(is_published=True, shop__status=Shop.Status.APPROVED)
    ).order_by("-created_at")


def shop_products(*, shop: Shop) -> QuerySet[Product]:
    return on_sale_products().filter(shop=shop)


def merchant_products(*, shop: Shop) -> QuerySet[Product]:
    """Every product of the shop, published or not, with its SKUs (the console's list)."""
    return (
        _with_tile_data(Product.objects.filter(shop=shop))
        .prefetch_related(Prefetch("skus", queryset=SKU.objects.order_by("created_at", "id")))
        .order_by("-created_at")
    )


def _product_detail_queryset() -> QuerySet[Product]:
    return Product.objects.select_related("shop", "shop__owner").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "created_at")),
        Prefetch("skus", queryset=SKU.objects.order_by("created_at", "id")),
        "tags",
        Prefetch("communities", queryset=Community.objects.filter(state=Community.State.ACTIVE)),
    )


def product_for_viewer(*, public_id: str, viewer) -> Product:
    """A product on sale, or any of the viewer's own; anything else is 'not found' (404)."""
    product = _product_detail_queryset().filter(public_id=public_id).first()
    if product is None:
        raise NotFound(_("No such product."), code="product_not_found")
    on_sale = product.is_published and product.shop.status == Shop.Status.APPROVED
    if not on_sale and not _is_owner(product.shop, viewer):
        raise NotFound(_("No such product."), code="product_not_found")
    return product


def product_for_owner(*, public_id: str, actor) -> Product:
    """A product its merchant is about to edit: unknown → 404, someone else's → 403."""
    product = _product_detail_queryset().filter(public_id=public_id).first()
    if product is None:
        raise NotFound(_("No such product."), code="product_not_found")
    if not _is_owner(product.shop, actor):
        raise PermissionDenied(_("This is not your shop."), code="not_shop_owner")
    return product


def product_by_public_id(*, public_id: str) -> Product:
    """Any product, for services to check the actor themselves (404 only when unknown)."""
    product = Product.objects.select_related("shop").filter(public_id=public_id).first()
    if product is None:
        raise NotFound(_("No such product."), code="product_not_found")
    return product


def sku_by_public_id(*, public_id: str) -> SKU:
    sku = SKU.objects.select_related("product", "product__shop").filter(public_id=public_id).first()
    if sku is None:
        raise NotFound(_("No such SKU."), code="sku_not_found")
    return sku


def image_by_public_id(*, public_id: str) -> ProductImage:
    image = (
        ProductImage.objects.select_related("product", "product__shop")
        .filter(public_id=public_id)
        .first()
    )
    if image is None:
        raise NotFound(_("No such image."), code="image_not_found")
    return image


def communities_by_public_ids(*, public_ids) -> list[Community]:
    """Communities named in a request; an unknown id is a 404 rather than silently dropped."""
    wanted = list(dict.fromkeys(public_ids))
    found = list(Community.objects.filter(public_id__in=wanted))
    if len(found) != len(wanted):
        raise NotFound(_("No such community."), code="community_not_found")
    return found


# --- search and discovery ---------------------------------------------------------------------


def search_products(*, query: str = "", tag: str = "", limit: int | None = None):
    """Products on sale matching a keyword (title, description, tag names) and/or a tag name.

    Chinese text has no spaces between words, so neither a word tokenizer nor PostgreSQL's
    default full-text parser finds "咖啡" inside "手冲咖啡豆"; a case-insensitive substring match
    (icontains) is the honest choice, and it behaves the same on SQLite and PostgreSQL.
    """
    products = on_sale_products()
    query = (query or "").strip()[:SEARCH_QUERY_MAX_LENGTH]
    tag = (tag or "").strip().lstrip("#").strip()[:SEARCH_QUERY_MAX_LENGTH]
    if query:
        matching_ids = Product.objects.filter(
            Q(title__icontains=query)
            | Q(description__icontains=query)
            | Q(tags__name__icontains=query)
        ).values("pk")
        products = products.filter(pk__in=matching_ids)
    if tag:
        products = products.filter(
            pk__in=Product.objects.filter(tags__name__iexact=tag).values("pk")
        )
    return products[:limit] if limit else products


def products_in_community(*, community: Community, limit: int = 20) -> list[Product]:
    """Products on sale offered in the community, newest first (the community page's tiles)."""
    return list(on_sale_products().filter(communities=community)[:limit])


def products_for_user(*, user, limit: int = 20) -> list[Product]:
    """Products on sale offered in the communities the user belongs to, newest first (home)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    member_of = Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values(
        "community_id"
    )
    matching = Product.objects.filter(
        communities__in=member_of, communities__state=Community.State.ACTIVE
    ).values("pk")
    return list(on_sale_products().filter(pk__in=matching)[:limit])


# --- stock as people read it ------------------------------------------------------------------


@dataclass(frozen=True)
class StockState:
    code: str  # "in_stock" | "low" | "sold_out"
    label: str


def stock_state(stock: int | None) -> StockState:
    stock = stock or 0
    if stock <= 0:
        return StockState("sold_out", gettext("Sold out"))
    if stock <= LOW_STOCK_THRESHOLD:
        label = ngettext("Only %(count)d left", "Only %(count)d left", stock) % {"count": stock}
        return StockState("low", label)
    return StockState("in_stock", gettext("In stock"))


# --- shop follows (粉丝) --------------------------------------------------------------------------


def shop_follower_count(*, shop: Shop) -> int:
    """How many people follow the shop: its 粉丝 (counted by the unique (follower, shop) rows)."""
    return ShopFollow.objects.filter(shop=shop, follower__is_active=True).count()


def follows_shop(*, user, shop: Shop) -> bool:
    if not (user and user.is_authenticated):
        return False
    return ShopFollow.objects.filter(follower=user, shop=shop).exists()


def followed_shop_links(*, user) -> QuerySet[ShopFollow]:
    """The approved shops ``user`` follows, newest follow first (``link.shop`` is the shop)."""
    return (
        ShopFollow.objects.filter(follower=user, shop__status=Shop.Status.APPROVED)
        .select_related("shop")
        .order_by("-created_at", "-pk")
    )
