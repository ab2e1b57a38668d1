"""Checkout: the cart's lines become one order per shop, stock reserved, coupons applied,
the payment created."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    ValidationFailed,
)
from shoploop.core.idempotency import fingerprint_of, run_idempotent
from shoploop.core.ids import new_public_id
from shoploop.coupons import services as coupon_services
from shoploop.ledger.services import payments
from shoploop.orders import address_services
from shoploop.orders.models import (
    Cart,
    CartLine,
    Checkout,
    Order,
    OrderLine,
)
from shoploop.orders.services._base import (
    MAX_COUPONS_PER_CHECKOUT,
    _publish,
    _record,
    _require_user,
    reservation_minutes,
)
from shoploop.orders.services.cart import (
    _require_on_sale,
)
from shoploop.orders.services.pickup import (
    PICKUP_PREFIX,
    pickup_destination,
    pickup_fields,
    pickup_order_fields,
)

# --- checkout ---------------------------------------------------------------------------------


def clean_coupons(coupons) -> dict[str, str]:
    """{shop public id: coupon claim public id}; at most one coupon per shop."""
    if coupons is None:
        return {}
    if not isinstance(coupons, dict) or len(coupons) > MAX_COUPONS_PER_CHECKOUT:
        raise ValidationFailed(
            _("Choose at most one coupon per shop."), fields={"coupons": "invalid"}
        )
    cleaned = {}
    for shop_id, claim_id in coupons.items():
        if not isinstance(shop_id, str) or not isinstance(claim_id, str) or len(claim_id) > 40:
            raise ValidationFailed(_("Unknown coupon."), fields={"coupons": "invalid"})
        if claim_id:
            cleaned[shop_id] = claim_id
    return cleaned


def _allocate_discount(amounts: list[int], discount: int) -> list[int]:
    """Split ``discount`` over lines in proportion to their amounts, in whole fen, never more than
    a line's amount; what floor division leaves over goes one fen at a time to lines with room."""
    subtotal = sum(amounts)
    shares = [discount * amount // subtotal for amount in amounts]
    leftover = discount - sum(shares)
    index = 0
    while leftover > 0:
        if shares[index] < amounts[index]:
            shares[index] += 1
            leftover -= 1
        index = (index + 1) % len(amounts)
    return shares


def clean_delivery_method(value) -> str:
    if value not in Order.DeliveryMethod.values:
        raise ValidationFailed(
            _("Choose a delivery method."),
            code="delivery_method_invalid",
            fields={"delivery_method": "invalid"},
        )
    return value


def shipping_fields(
    *, buyer, address_public_id, delivery_method: str, pickup_point_public_id: str = ""
) -> dict:
    """The order's delivery method and its copy of the chosen address, or, for a pickup, the
    chosen pickup point (no address then). Every product of the catalog is a physical good
    today (its "digital" category is 数码, electronics), so a cart checkout always needs one of
    the two; deal orders are placed by the deals apps."""
    delivery_method = clean_delivery_method(delivery_method)
    if delivery_method == Order.DeliveryMethod.PICKUP:
        point = pickup_destination(buyer=buyer, point_public_id=pickup_point_public_id)
        return pickup_fields(point=point)
    fields = {"delivery_method": delivery_method}
    address = buyer_address(buyer=buyer, address_public_id=address_public_id)
    return fields | address_services.address_snapshot(address)


def buyer_address(*, buyer, address_public_id):
    """The address a buyer chose to ship to: required (``address_required``) and one of their
    own (another's or an unknown id is ``address_not_found``). Cart checkouts and deal orders
    both ask here, before they take any lock.

    A deal's confirm step may name a pickup point instead, as ``pickup:<point id>``; that returns
    the ``PickupPoint`` (see ``pickup_destination``), which ``place_deal_order`` accepts."""
    if isinstance(address_public_id, str) and address_public_id.startswith(PICKUP_PREFIX):
        return pickup_destination(
            buyer=buyer, point_public_id=address_public_id.removeprefix(PICKUP_PREFIX)
        )
    if not address_public_id:
        raise ValidationFailed(
            _("Choose a delivery address."),
            code="address_required",
            fields={"address_id": "required"},
        )
    return address_services.own_address(user=buyer, address_public_id=address_public_id)


def group_by_shop(*, buyer, lines, coupons: dict) -> dict[Shop, list[CartLine]]:
    """Lines by shop, each still on sale and not the buyer's own; coupons only for those shops."""
    by_shop: dict[Shop, list[CartLine]] = {}
    for line in lines:
        _require_on_sale(line.sku)
        if line.sku.product.shop.owner_id == buyer.pk:
            raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
        by_shop.setdefault(line.sku.product.shop, []).append(line)
    unknown_shops = set(coupons) - {shop.public_id for shop in by_shop}
    if unknown_shops:
        raise ValidationFailed(
            _("A coupon was chosen for a shop that is not in your cart."),
            code="coupon_shop_not_in_cart",
            fields={"coupons": "unknown_shop"},
        )
    return by_shop


def capped_discount(*, discount: int, subtotal: int) -> int:
    """An order always costs at least one fen, so there is a payment to hold and refund."""
    return max(0, min(int(discount), subtotal - 1))


def checkout(
    *,
    buyer,
    coupons: dict | None = None,
    address_public_id: str = "",
    delivery_method: str = Order.DeliveryMethod.DELIVERY,
    pickup_point_public_id: str = "",
) -> Checkout:
    """Turn the buyer's cart into one order per shop and one payment for all of them, shipped
    to a copy of the chosen address (required: every product is a physical good).

    Reserves the stock (released if unpaid after ``ORDER_RESERVATION_MINUTES``); out of stock →
    ``out_of_stock`` and nothing is reserved or created. ``delivery_method="pickup"`` sends every
    order to ``pickup_point_public_id`` instead (each shop must offer pickup)."""
    _require_user(buyer)
    coupons = clean_coupons(coupons)
    now = clock.now()
    expires_at = now + timedelta(minutes=reservation_minutes())
    with transaction.atomic():
        lines = _claimable_lines(buyer)
        shipping = shipping_fields(
            buyer=buyer,
            address_public_id=address_public_id,
            delivery_method=delivery_method,
            pickup_point_public_id=pickup_point_public_id,
        )
        by_shop = group_by_shop(buyer=buyer, lines=lines, coupons=coupons)
        for line in lines:  # in SKU primary-key order, so concurrent checkouts cannot deadlock
            _reserve(line)
        checkout_row = Checkout.objects.create(
            buyer=buyer, total_fen=1, expires_at=expires_at, created_at=now
        )
        orders = [
            _create_order(
                checkout=checkout_row,
                buyer=buyer,
                shop=shop,
                lines=shop_lines,
                claim_public_id=coupons.get(shop.public_id, ""),
                expires_at=expires_at,
                shipping=shipping,
            )
            for shop, shop_lines in sorted(by_shop.items(), key=lambda item: item[0].pk)
        ]
        checkout_row.total_fen = sum(order.total_fen for order in orders)
        payment = payments.create_payment(
            payer=buyer,
            amount=checkout_row.total_fen,
            reference=checkout_row.reference,
            # The buyer recognises the order numbers shown on their order pages.
            description=str(
                _("Shoploop order %(ids)s") % {"ids": ", ".join(o.public_id for o in orders)}
            ),
            idempotency_key=checkout_row.reference,
        )
        checkout_row.payment_public_id = payment.public_id
        checkout_row.save(update_fields=["total_fen", "payment_public_id"])
        _claim_lines(lines)
        for order in orders:
            _publish("orders.order.placed", order, checkout_public_id=checkout_row.public_id)
    return checkout_row


def _claimable_lines(buyer) -> list[CartLine]:
    """The buyer's cart lines, read under the cart's row lock: a second checkout of the same cart
    waits here and then finds the lines gone (``cart_empty``)."""
    cart = Cart.objects.select_for_update().filter(user=buyer).first()
    if cart is None:
        raise ValidationFailed(_("Your cart is empty."), code="cart_empty")
    lines = list(
        CartLine.objects.filter(cart=cart)
        .select_related("sku", "sku__product", "sku__product__shop")
        .order_by("sku_id")
    )
    if not lines:
        raise ValidationFailed(_("Your cart is empty."), code="cart_empty")
    return lines


def _claim_lines(lines: list[CartLine]) -> None:
    """Delete exactly the lines this checkout ordered, unchanged. Fewer rows deleted means another
    request ordered or changed them meanwhile: this checkout is refused and rolled back whole."""
    claimed = Q()
    for line in lines:
        claimed |= Q(pk=line.pk, quantity=line.quantity)
    deleted, _details = CartLine.objects.filter(claimed).delete()
    if deleted != len(lines):
        raise Conflict(
            _("This cart is already being checked out; see your orders."),
            code="checkout_in_progress",
        )


def _reserve(line: CartLine) -> None:
    try:
        catalog_services.reserve_stock(sku_id=line.sku_id, quantity=line.quantity)
    except DomainError as error:
        if error.code != "out_of_stock":
            raise
        raise Conflict(
            _("Sorry, “%(title)s” is sold out or has fewer left than you want.")
            % {"title": line.sku.product.title},
            code="out_of_stock",
            fields={"sku_id": line.sku.public_id},
        ) from None


def _create_order(
    *, checkout, buyer, shop, lines, claim_public_id, expires_at, shipping: dict
) -> Order:
    public_id = new_public_id()
    amounts = [line.sku.price_fen * line.quantity for line in lines]
    subtotal = sum(amounts)
    discount = 0
    if claim_public_id:
        discount = coupon_services.redeem(
            claim_public_id=claim_public_id,
            user=buyer,
            shop=shop,
            subtotal_fen=subtotal,
            order_ref=f"order:{public_id}",
        )
        discount = capped_discount(discount=discount, subtotal=subtotal)
    order = Order.objects.create(
        public_id=public_id,
        checkout=checkout,
        buyer=buyer,
        shop=shop,
        subtotal_fen=subtotal,
        discount_fen=discount,
        total_fen=subtotal - discount,
        coupon_claim_public_id=claim_public_id,
        reservation_expires_at=expires_at,
        created_at=checkout.created_at,
        **shipping,
        **_pickup_extras(shop=shop, buyer=buyer, shipping=shipping, total_fen=subtotal - discount),
    )
    shares = _allocate_discount(amounts, discount)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            sku=line.sku,
            product_public_id=line.sku.product.public_id,
            title=line.sku.product.title,
            options=line.sku.options,
            unit_price_fen=line.sku.price_fen,
            quantity=line.quantity,
            paid_fen=amount - share,
        )
        for line, amount, share in zip(lines, amounts, shares, strict=True)
    )
    _record(order, "placed", actor=buyer)
    return order


def _pickup_extras(*, shop, buyer, shipping: dict, total_fen: int) -> dict:
    point = shipping.get("pickup_point")
    if point is None:
        return {}
    return pickup_order_fields(shop=shop, buyer=buyer, point=point, total_fen=total_fen)


def checkout_idempotently(
    *,
    buyer,
    key: str,
    coupons: dict | None = None,
    address_public_id: str = "",
    delivery_method: str = Order.DeliveryMethod.DELIVERY,
    pickup_point_public_id: str = "",
) -> tuple[Checkout, bool]:
    """``checkout`` at most once per (buyer, key): the same key and body return the first
    checkout; the same key with another body is a 409. Returns (checkout, replayed)."""
    _require_user(buyer)
    body = {"coupons": coupons or {}}
    # Only fields that were sent count, so a key used before addresses existed still replays.
    if address_public_id:
        body["address_id"] = address_public_id
    if delivery_method != Order.DeliveryMethod.DELIVERY:
        body["delivery_method"] = delivery_method
    if pickup_point_public_id:
        body["pickup_point_id"] = pickup_point_public_id

    def compute():
        created = checkout(
            buyer=buyer,
            coupons=coupons,
            address_public_id=address_public_id,
            delivery_method=delivery_method,
            pickup_point_public_id=pickup_point_public_id,
        )
        return 201, {"checkout_id": created.public_id}

    result = run_idempotent(
        scope=f"orders.checkout:{buyer.pk}",
        key=key,
        fingerprint=fingerprint_of(body),
        compute=compute,
    )
    return Checkout.objects.get(public_id=result.body["checkout_id"]), result.replayed
