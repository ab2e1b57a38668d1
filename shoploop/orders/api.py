"""Orders API: cart, checkout, orders (buyer and merchant) and after-sale.

Handlers parse, call a service or selector and return a schema. Prices are never read from the
client: unknown fields such as ``price_fen`` are ignored.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Router, Schema, Status, UploadedFile
from ninja.pagination import CursorPagination, paginate

from shoploop.core.errors import ValidationFailed
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema
from shoploop.orders import address_services, regions, selectors, services
from shoploop.orders.models import Checkout
from shoploop.orders.pickup_api import PickupPointOut
from shoploop.orders.pickup_api import router as pickup_router

router = Router(tags=["orders"])
# Mounted first, so /pickup/… is matched before the /{order_id}/… paths.
router.add_router("/pickup", pickup_router)


# --- schemas ----------------------------------------------------------------------------------


class CartLineOut(Schema):
    sku_id: str
    product_id: str
    title: str
    options: dict
    shop_id: str
    shop_name: str
    quantity: int
    unit_price_fen: int
    line_total_fen: int
    available: bool
    problem: str


class CartOut(Schema):
    lines: list[CartLineOut]
    total_fen: int
    count: int
    can_check_out: bool


class CartLineIn(InputSchema):
    sku_id: str = Field(..., max_length=40)
    quantity: int = 1


class QuantityIn(InputSchema):
    quantity: int


class AddressIn(InputSchema):
    recipient_name: str = Field(..., max_length=200)
    phone: str = Field(..., max_length=40)
    province_code: str = Field(..., max_length=12)
    city_code: str = Field(..., max_length=12)
    district_code: str = Field(..., max_length=12)
    street: str = Field(..., max_length=500)
    postcode: str = Field("", max_length=12)


class NewAddressIn(AddressIn):
    is_default: bool = False


class AddressOut(Schema):
    id: str = Field(..., alias="public_id")
    recipient_name: str
    phone: str = Field(..., alias="national_phone")
    province_code: str
    city_code: str
    district_code: str
    region: str = Field(..., alias="region_label")
    street: str
    postcode: str
    is_default: bool


class RegionOut(Schema):
    code: str
    name: str


class CheckoutIn(InputSchema):
    # {shop id: coupon claim id}, at most one coupon per shop.
    coupons: dict[str, str] = Field(default_factory=dict)
    # One of the buyer's addresses (GET /addresses); required: every product is a physical good.
    address_id: str = Field("", max_length=40)
    # "delivery" or "pickup"; a pickup names one of GET /orders/pickup/available instead of an
    # address (each shop of the cart must offer pickup: 409 pickup_not_offered).
    delivery_method: str = Field("delivery", max_length=16)
    pickup_point_id: str = Field("", max_length=40)


class CheckoutQuoteIn(InputSchema):
    # Omitted: each shop's best usable coupon is chosen; {} means no coupons.
    coupons: dict[str, str] | None = None
    # Omitted: the default address.
    address_id: str = Field("", max_length=40)
    delivery_method: str = Field("delivery", max_length=16)
    pickup_point_id: str = Field("", max_length=40)


class CheckoutQuoteLineOut(Schema):
    sku_id: str
    title: str
    options: dict
    quantity: int
    unit_price_fen: int
    line_total_fen: int


class CouponChoiceOut(Schema):
    claim_id: str
    name: str
    discount_fen: int


class CheckoutQuoteShopOut(Schema):
    shop_id: str
    shop_name: str
    lines: list[CheckoutQuoteLineOut]
    subtotal_fen: int
    coupon_claim_id: str
    discount_fen: int
    total_fen: int
    coupon_choices: list[CouponChoiceOut]


class CheckoutQuoteOut(Schema):
    shops: list[CheckoutQuoteShopOut]
    delivery_method: str
    address: AddressOut | None
    # The pickup points the buyer may choose (empty if a shop does not offer pickup), and the
    # chosen one.
    pickup_points: list[PickupPointOut]
    pickup_point: PickupPointOut | None
    subtotal_fen: int
    discount_fen: int
    total_fen: int
    can_confirm: bool


class OrderAddressIn(InputSchema):
    address_id: str = Field(..., max_length=40)


class ShipAddressOut(Schema):
    recipient: str = Field(..., alias="ship_recipient")
    phone: str = Field(..., alias="ship_national_phone")
    province: str = Field(..., alias="ship_province")
    city: str = Field(..., alias="ship_city")
    district: str = Field(..., alias="ship_district")
    district_code: str = Field(..., alias="ship_district_code")
    street: str = Field(..., alias="ship_street")
    postcode: str = Field(..., alias="ship_postcode")


class OrderLineOut(Schema):
    id: str = Field(..., alias="public_id")
    title: str
    options: dict
    unit_price_fen: int
    quantity: int
    paid_fen: int
    refunded_quantity: int
    refunded_fen: int


class EventOut(Schema):
    kind: str
    note: str
    created_at: datetime


class OrderOut(Schema):
    id: str = Field(..., alias="public_id")
    state: str
    shop_id: str = Field(..., alias="shop.public_id")
    shop_name: str = Field(..., alias="shop.name")
    buyer_id: str = Field(..., alias="buyer.public_id")
    subtotal_fen: int
    discount_fen: int
    total_fen: int
    refunded_fen: int
    delivery_method: str
    address: ShipAddressOut | None
    pickup_point: PickupPointOut | None
    carrier: str
    tracking_number: str
    cancel_reason: str
    reservation_expires_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())

    @staticmethod
    def resolve_address(obj):
        return obj if obj.has_address else None


class OrderDetailOut(OrderOut):
    timeline: list[EventOut]
    # A pickup order's code, for its buyer only (they show it at the point); "" otherwise.
    pickup_code: str

    @staticmethod
    def resolve_pickup_code(obj, context) -> str:
        viewer = context["request"].user if context else None
        return obj.pickup_code if viewer is not None and viewer.pk == obj.buyer_id else ""

    @staticmethod
    def resolve_timeline(obj):
        return list(selectors.timeline(order=obj))


class CheckoutOut(Schema):
    id: str
    total_fen: int
    payment_id: str
    pay_url: str
    expires_at: datetime
    orders: list[OrderOut]


class ShipIn(InputSchema):
    # Both may be "" for a pickup order (sent to the pickup point by the shop itself).
    carrier: str = Field(..., max_length=200)
    tracking_number: str = Field(..., max_length=200)


class ShipmentIn(InputSchema):
    order_id: str = Field(..., max_length=40)
    carrier: str = Field("", max_length=40)
    tracking_number: str = Field("", max_length=200)


class ShipManyIn(InputSchema):
    shipments: list[ShipmentIn] = Field(..., max_length=200)


class ShipManyOut(Schema):
    # {order id: "shipped" or why not (e.g. "cannot_ship")}
    results: dict[str, str]


class RefundLineIn(InputSchema):
    line_id: str = Field(..., max_length=40)
    quantity: int | None = None  # omitted: all of the line that is not refunded yet


class AfterSaleIn(InputSchema):
    kind: str = Field(..., max_length=40)
    reason_code: str = Field("other", max_length=40)
    reason: str = Field("", max_length=2000)
    # Omitted: everything not refunded yet.
    lines: list[RefundLineIn] | None = Field(None, max_length=100)


class RejectIn(InputSchema):
    reason: str = Field(..., max_length=2000)


class ReturnShipmentIn(InputSchema):
    carrier: str = Field(..., max_length=200)
    tracking_number: str = Field(..., max_length=200)


class AfterSaleLineOut(Schema):
    line_id: str = Field(..., alias="order_line.public_id")
    quantity: int
    amount_fen: int


class AfterSalePhotoOut(Schema):
    id: str = Field(..., alias="public_id")
    url: str
    width: int
    height: int

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.image.url


class AfterSaleOut(Schema):
    id: str = Field(..., alias="public_id")
    order_id: str = Field(..., alias="order.public_id")
    kind: str
    state: str
    reason_code: str
    reason: str
    # When the current state ends by itself, and what happens then (None once decided).
    due_at: datetime | None
    due_label: str
    # Shown once the shop accepted a return: where the goods go back.
    return_address: str
    return_carrier: str
    return_tracking_number: str
    amount_fen: int
    rejection_reason: str
    dispute_reason: str
    escalation: str
    created_at: datetime
    accepted_at: datetime | None
    return_shipped_at: datetime | None
    escalated_at: datetime | None
    decided_at: datetime | None
    lines: list[AfterSaleLineOut]
    photos: list[AfterSalePhotoOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.select_related("order_line"))

    @staticmethod
    def resolve_photos(obj):
        return list(obj.photos.all())

    @staticmethod
    def resolve_due_label(obj) -> str:
        return obj.due_label if obj.due_at else ""

    @staticmethod
    def resolve_return_address(obj) -> str:
        return selectors.return_address_for(after_sale=obj)


# --- converters -------------------------------------------------------------------------------


def _cart_out(view) -> dict:
    lines = [
        {
            "sku_id": item.sku.public_id,
            "product_id": item.sku.product.public_id,
            "title": item.sku.product.title,
            "options": item.sku.options,
            "shop_id": group.shop.public_id,
            "shop_name": group.shop.name,
            "quantity": item.line.quantity,
            "unit_price_fen": item.unit_price_fen,
            "line_total_fen": item.line_total_fen,
            "available": item.available,
            "problem": item.problem,
        }
        for group in view.groups
        for item in group.lines
    ]
    return {
        "lines": lines,
        "total_fen": view.total_fen,
        "count": view.count,
        "can_check_out": view.can_check_out,
    }


def _checkout_out(checkout: Checkout) -> dict:
    orders = checkout.orders.select_related("shop", "buyer").prefetch_related("lines")
    return {
        "id": checkout.public_id,
        "total_fen": checkout.total_fen,
        "payment_id": checkout.payment_public_id,
        "pay_url": selectors.pay_url(checkout=checkout),
        "expires_at": checkout.expires_at,
        "orders": list(orders.order_by("pk")),
    }


def _quote_out(quote) -> dict:
    return {
        "shops": [
            {
                "shop_id": group.shop.public_id,
                "shop_name": group.shop.name,
                "lines": [
                    {
                        "sku_id": item.sku.public_id,
                        "title": item.sku.product.title,
                        "options": item.sku.options,
                        "quantity": item.line.quantity,
                        "unit_price_fen": item.unit_price_fen,
                        "line_total_fen": item.line_total_fen,
                    }
                    for item in group.lines
                ],
                "subtotal_fen": group.subtotal_fen,
                "coupon_claim_id": group.coupon_claim_id,
                "discount_fen": group.discount_fen,
                "total_fen": group.total_fen,
                "coupon_choices": [
                    {
                        "claim_id": choice.public_id,
                        "name": choice.coupon.name,
                        "discount_fen": choice.discount_fen,
                    }
                    for choice in group.coupon_choices
                ],
            }
            for group in quote.groups
        ],
        "delivery_method": quote.delivery_method,
        "address": quote.address,
        "pickup_points": quote.pickup_points,
        "pickup_point": quote.pickup_point,
        "subtotal_fen": quote.subtotal_fen,
        "discount_fen": quote.discount_fen,
        "total_fen": quote.total_fen,
        "can_confirm": quote.can_confirm,
    }


# --- cart -------------------------------------------------------------------------------------


@router.get("/cart", response=CartOut)
def get_cart(request):
    return _cart_out(selectors.cart_view(user=request.user))


@router.post("/cart/lines", response={201: CartOut})
def add_cart_line(request, payload: CartLineIn):
    services.add_to_cart(user=request.user, sku_public_id=payload.sku_id, quantity=payload.quantity)
    return Status(201, _cart_out(selectors.cart_view(user=request.user)))


@router.put("/cart/lines/{sku_id}", response=CartOut)
def set_cart_line(request, sku_id: str, payload: QuantityIn):
    services.set_cart_quantity(user=request.user, sku_public_id=sku_id, quantity=payload.quantity)
    return _cart_out(selectors.cart_view(user=request.user))


@router.delete("/cart/lines/{sku_id}", response=CartOut)
def remove_cart_line(request, sku_id: str):
    services.remove_from_cart(user=request.user, sku_public_id=sku_id)
    return _cart_out(selectors.cart_view(user=request.user))


# --- checkout ---------------------------------------------------------------------------------


@router.post("/checkout", response={200: CheckoutOut, 201: CheckoutOut})
@money_endpoint
def create_checkout(request, payload: CheckoutIn):
    """Needs an ``Idempotency-Key`` header: the same key and body return the same checkout
    (200), another body with that key is a 409."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise ValidationFailed(
            _("Send an Idempotency-Key header."),
            code="idempotency_key_missing",
            fields={"Idempotency-Key": "required"},
        )
    checkout, replayed = services.checkout_idempotently(
        buyer=request.user,
        key=key,
        coupons=payload.coupons,
        address_public_id=payload.address_id,
        delivery_method=payload.delivery_method,
        pickup_point_public_id=payload.pickup_point_id,
    )
    return Status(200 if replayed else 201, _checkout_out(checkout))


@router.post("/checkout/quote", response=CheckoutQuoteOut)
@money_endpoint
def quote_checkout(request, payload: CheckoutQuoteIn):
    """What confirming would charge (lines, coupons applied, address, total). Charges nothing
    and reserves nothing; POST /checkout with the same choices places the orders."""
    return _quote_out(
        selectors.checkout_quote(
            buyer=request.user,
            coupons=payload.coupons,
            address_public_id=payload.address_id,
            delivery_method=payload.delivery_method,
            pickup_point_public_id=payload.pickup_point_id,
        )
    )


@router.get("/checkouts/{checkout_id}", response=CheckoutOut)
def get_checkout(request, checkout_id: str):
    return _checkout_out(selectors.checkout_for_buyer(public_id=checkout_id, buyer=request.user))


# --- address book -----------------------------------------------------------------------------


@router.get("/regions", response=list[RegionOut])
def list_regions(request, parent: str = ""):
    """Provinces (no ``parent``), a province's cities or a city's districts."""
    found = regions.children_of(parent) if parent else regions.provinces()
    return [{"code": region.code, "name": region.name} for region in found]


@router.get("/addresses", response=list[AddressOut])
def list_addresses(request):
    return list(selectors.addresses_of(user=request.user))


@router.post("/addresses", response={201: AddressOut})
def add_address(request, payload: NewAddressIn):
    fields = payload.dict()
    make_default = fields.pop("is_default")
    address = address_services.add_address(user=request.user, make_default=make_default, **fields)
    return Status(201, address)


@router.get("/addresses/{address_id}", response=AddressOut)
def get_address(request, address_id: str):
    return selectors.address_of(user=request.user, public_id=address_id)


@router.put("/addresses/{address_id}", response=AddressOut)
def update_address(request, address_id: str, payload: AddressIn):
    return address_services.update_address(
        user=request.user, address_public_id=address_id, **payload.dict()
    )


@router.post("/addresses/{address_id}/default", response=AddressOut)
def set_default_address(request, address_id: str):
    return address_services.set_default_address(user=request.user, address_public_id=address_id)


@router.delete("/addresses/{address_id}", response={204: None})
def delete_address(request, address_id: str):
    address_services.delete_address(user=request.user, address_public_id=address_id)
    return Status(204, None)


# --- orders -----------------------------------------------------------------------------------


@router.get("/", response=list[OrderOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_my_orders(request, state: str = ""):
    return selectors.buyer_orders(buyer=request.user, state=state or None)


@router.get("/shop", response=list[OrderOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_shop_orders(request, state: str = ""):
    shop = selectors.merchant_shop(user=request.user)
    return selectors.shop_orders(shop=shop, state=state or None)


@router.post("/shop/ship", response=ShipManyOut)
def ship_many(request, payload: ShipManyIn):
    """Ship several paid orders at once. Bad input ships nothing (422 naming the order in
    ``fields.order_id``); an order that is no longer paid is reported, the others ship."""
    shop = selectors.merchant_shop(user=request.user)
    outcomes = services.ship_orders(
        shop=shop, actor=request.user, shipments=[item.dict() for item in payload.shipments]
    )
    return {"results": outcomes}


@router.get("/shop/after-sales", response=list[AfterSaleOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_shop_after_sales(request, open_only: bool = True):
    shop = selectors.merchant_shop(user=request.user)
    return selectors.shop_after_sales(shop=shop, open_only=open_only)


@router.get("/after-sales/{after_sale_id}", response=AfterSaleOut)
def get_after_sale(request, after_sale_id: str):
    return selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)


@router.post("/after-sales/{after_sale_id}/accept", response=AfterSaleOut)
def accept_after_sale(request, after_sale_id: str):
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.accept_after_sale(after_sale=after_sale, actor=request.user)


@router.post("/after-sales/{after_sale_id}/reject", response=AfterSaleOut)
def reject_after_sale(request, after_sale_id: str, payload: RejectIn):
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.reject_after_sale(
        after_sale=after_sale, actor=request.user, reason=payload.reason
    )


@router.post("/after-sales/{after_sale_id}/escalate", response=AfterSaleOut)
def escalate_after_sale(request, after_sale_id: str):
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.escalate_after_sale(after_sale=after_sale, actor=request.user)


@router.post("/after-sales/{after_sale_id}/return", response=AfterSaleOut)
def ship_return(request, after_sale_id: str, payload: ReturnShipmentIn):
    """The buyer sent the goods back (only after the shop accepted the return)."""
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.ship_return(
        after_sale=after_sale,
        actor=request.user,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
    )


@router.post("/after-sales/{after_sale_id}/confirm-return", response=AfterSaleOut)
def confirm_return_received(request, after_sale_id: str):
    """The shop received the returned goods: the buyer is refunded."""
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.confirm_return_received(after_sale=after_sale, actor=request.user)


@router.post("/after-sales/{after_sale_id}/dispute", response=AfterSaleOut)
def dispute_return(request, after_sale_id: str, payload: RejectIn):
    """The shop disputes the returned goods: the platform decides."""
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return services.dispute_return(after_sale=after_sale, actor=request.user, reason=payload.reason)


@router.post("/after-sales/{after_sale_id}/photos", response={201: AfterSalePhotoOut})
def add_after_sale_photo(request, after_sale_id: str, photo: File[UploadedFile]):
    """Multipart upload (field ``photo``): JPEG, PNG or WebP, at most 5 MB; stored resized; at
    most 6 per request."""
    after_sale = selectors.after_sale_for_viewer(public_id=after_sale_id, viewer=request.user)
    return Status(
        201, services.add_after_sale_photo(after_sale=after_sale, actor=request.user, upload=photo)
    )


@router.get("/{order_id}", response=OrderDetailOut)
def get_order(request, order_id: str):
    return selectors.order_for_viewer(public_id=order_id, viewer=request.user)


@router.post("/{order_id}/cancel", response=OrderDetailOut)
def cancel_order(request, order_id: str):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    return services.cancel_order(order=order, actor=request.user)


@router.post("/{order_id}/pay", response=CheckoutOut)
@money_endpoint
def pay_order(request, order_id: str):
    """Pay an unpaid order again after a declined or abandoned payment: a new attempt for its
    checkout (the open one is reused), until the reservation ends. Go to ``pay_url``."""
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    return _checkout_out(services.retry_payment(order=order, actor=request.user))


@router.post("/{order_id}/address", response=OrderDetailOut)
def change_order_address(request, order_id: str, payload: OrderAddressIn):
    """The buyer ships the order to another of their addresses (until it ships)."""
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    return services.change_order_address(
        order=order, actor=request.user, address_public_id=payload.address_id
    )


@router.post("/{order_id}/ship", response=OrderDetailOut)
def ship_order(request, order_id: str, payload: ShipIn):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    return services.ship_order(
        order=order,
        actor=request.user,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
    )


@router.post("/{order_id}/receive", response=OrderDetailOut)
def confirm_receipt(request, order_id: str):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    return services.confirm_receipt(order=order, actor=request.user)


@router.post("/{order_id}/after-sales", response={201: AfterSaleOut})
def request_after_sale(request, order_id: str, payload: AfterSaleIn):
    order = selectors.order_for_viewer(public_id=order_id, viewer=request.user)
    after_sale = services.request_after_sale(
        order=order,
        actor=request.user,
        kind=payload.kind,
        reason_code=payload.reason_code,
        reason=payload.reason,
        lines=None if payload.lines is None else [line.dict() for line in payload.lines],
    )
    return Status(201, after_sale)
