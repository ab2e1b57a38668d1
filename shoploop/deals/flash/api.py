"""Flash-sale API (/api/v1/deals/flash-sales): merchants create, list, pause and end sales;
anyone reads a sale; signed-in buyers buy and list their purchases. Handlers parse, call a
service or selector and return a schema."""

from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from shoploop.accounts.auth import optional_auth
from shoploop.catalog import selectors as catalog_selectors
from shoploop.core import clock
from shoploop.core.errors import PermissionDenied
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.deals.flash import selectors, services
from shoploop.deals.schemas import DealAddressIn
from shoploop.orders import selectors as order_selectors

router = Router(tags=["deals: flash"])


class SaleOut(Schema):
    id: str = Field(..., alias="public_id")
    shop_id: str = Field(..., alias="shop.public_id")
    shop_name: str = Field(..., alias="shop.name")
    sku_id: str = Field(..., alias="sku.public_id")
    product_id: str = Field(..., alias="sku.product.public_id")
    title: str = Field(..., alias="sku.product.title")
    normal_price_fen: int = Field(..., alias="sku.price_fen")
    price_fen: int
    stock: int
    remaining: int = Field(..., alias="available")
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime
    status: str

    @staticmethod
    def resolve_status(obj) -> str:
        return obj.status(clock.now())


class ShopSaleOut(SaleOut):
    reserved: int
    sold: int

    @staticmethod
    def resolve_reserved(obj) -> int:
        return selectors.counts(sale=obj).reserved

    @staticmethod
    def resolve_sold(obj) -> int:
        return selectors.counts(sale=obj).sold


class SaleIn(InputSchema):
    sku_id: str = Field(..., max_length=40)
    price_fen: int
    stock: int
    starts_at: datetime | None = None
    ends_at: datetime
    per_user_limit: int = 1


class BuyIn(DealAddressIn):
    quantity: int = 1


class PurchaseOut(Schema):
    id: str = Field(..., alias="public_id")
    sale_id: str = Field(..., alias="sale.public_id")
    order_id: str = Field(..., alias="order.public_id")
    title: str = Field(..., alias="sale.sku.product.title")
    quantity: int
    total_fen: int = Field(..., alias="order.total_fen")
    state: str
    order_state: str = Field(..., alias="order.state")
    reserved_until: datetime


class BoughtOut(PurchaseOut):
    pay_url: str


def _my_shop(request):
    shop = catalog_selectors.shop_of(user=request.user)
    if shop is None:
        raise PermissionDenied(_("Open a shop first."), code="no_shop")
    return shop


@router.post("/", response={201: ShopSaleOut})
def create_sale(request, payload: SaleIn):
    shop = _my_shop(request)
    sale = services.create_sale(
        shop=shop,
        actor=request.user,
        sku=selectors.sku_by_public_id(public_id=payload.sku_id),
        price_fen=payload.price_fen,
        stock=payload.stock,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        per_user_limit=payload.per_user_limit,
    )
    return Status(201, selectors.sale_for_merchant(public_id=sale.public_id, actor=request.user))


@router.get("/", response=list[SaleOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("starts_at", "id"))
def list_sales(request):
    """Running and upcoming sales."""
    return selectors.public_sales()


@router.get("/shop", response=list[ShopSaleOut])
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_shop_sales(request):
    return selectors.shop_sales(shop=_my_shop(request))


@router.get("/shop/{sale_id}", response=ShopSaleOut)
def get_shop_sale(request, sale_id: str):
    """One of the merchant's sales with its live counts (poll it to watch a rush)."""
    return selectors.sale_for_merchant(public_id=sale_id, actor=request.user)


@router.get("/mine", response=list[PurchaseOut])
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_my_purchases(request):
    return selectors.buyer_purchases(buyer=request.user)


@router.get("/mine/{purchase_id}", response=PurchaseOut)
def get_my_purchase(request, purchase_id: str):
    return selectors.purchase_for_buyer(public_id=purchase_id, buyer=request.user)


@router.get("/{sale_id}", response=SaleOut, auth=optional_auth)
def get_sale(request, sale_id: str):
    return selectors.sale_by_public_id(public_id=sale_id)


def _merchant_action(request, sale_id: str, service):
    sale = selectors.sale_by_public_id(public_id=sale_id)
    service(sale=sale, actor=request.user)
    return selectors.sale_for_merchant(public_id=sale_id, actor=request.user)


@router.post("/{sale_id}/pause", response=ShopSaleOut)
def pause_sale(request, sale_id: str):
    return _merchant_action(request, sale_id, services.pause_sale)


@router.post("/{sale_id}/resume", response=ShopSaleOut)
def resume_sale(request, sale_id: str):
    return _merchant_action(request, sale_id, services.resume_sale)


@router.post("/{sale_id}/end", response=ShopSaleOut)
def end_sale(request, sale_id: str):
    return _merchant_action(request, sale_id, services.end_sale)


@router.post("/{sale_id}/buy", response={200: BoughtOut, 201: BoughtOut})
@money_endpoint
def buy(request, sale_id: str, payload: BuyIn):
    """With an ``Idempotency-Key`` header a retried request returns the first purchase (200)
    instead of buying again; another body with that key is a 409."""
    sale = selectors.sale_by_public_id(public_id=sale_id)
    key = request.headers.get("Idempotency-Key")
    replayed = False
    if key is None:
        purchase = services.buy(
            sale=sale, user=request.user, quantity=payload.quantity, address_id=payload.address_id
        )
    else:
        purchase, replayed = services.buy_idempotently(
            sale=sale,
            user=request.user,
            key=key,
            quantity=payload.quantity,
            address_id=payload.address_id,
        )
    purchase.pay_url = order_selectors.pay_url(
        checkout=purchase.order.checkout, next_url=reverse("deals_flash:mine")
    )
    return Status(200 if replayed else 201, purchase)
