"""Every write of the orders app: cart, checkout, payment outcome, fulfilment, after-sale.

Locking order (no deadlocks): a checkout row, then its orders in primary-key order; services that
touch one paid order lock only that order. Every state change re-reads the row under its lock.

Money (see /tmp/money_contract.md, steps 1, 3, 4, 5):
- Paying moves the order total from the payment's escrow to the shop's merchant_pending account as
  a HOLD (pending transfer) keyed ``order:<id>:hold`` (a re-hold after a partial refund gets
  ``:<n>``).
- Completion posts the hold, then splits the net amount: the platform fee is
  ``net * fee_rate_bps // 10000`` — rounded DOWN, so the merchant keeps any fraction of a fen
  (999 fen at 500 bps → fee 49, merchant 950).
- A refund voids the hold, re-holds what is left, then asks payments to refund from the escrow.
Every transfer has a key derived from its cause, so a retry never moves money twice.
"""

import logging
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import SKU, Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.idempotency import fingerprint_of, run_idempotent
from shoploop.core.ids import new_public_id
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.text import clean_text
from shoploop.coupons import services as coupon_services
from shoploop.ledger.errors import PaymentStateConflict
from shoploop.ledger.models import AccountKind, Payment, Transfer
from shoploop.ledger.services import TransferSpec, open_account, payments, transfer, transfer_linked
from shoploop.ledger.services import post_hold as ledger_post_hold
from shoploop.ledger.services import void_hold as ledger_void_hold
from shoploop.orders import address_services, carriers
from shoploop.orders.models import (
    CARRIER_MAX_LENGTH,
    MAX_AFTER_SALE_PHOTOS,
    MAX_QUANTITY,
    MIN_QUANTITY,
    NOTE_AUTO_REFUND_NO_ANSWER,
    NOTE_AUTO_REFUND_RETURN,
    NOTE_NOTHING_TO_REFUND,
    NOTE_REFUND_ACCEPTED,
    NOTE_REFUNDED_BEFORE_SHIPPING,
    NOTE_RETURN_RECEIVED,
    REASON_MAX_LENGTH,
    TRACKING_MAX_LENGTH,
    Address,
    AfterSale,
    AfterSaleLine,
    AfterSalePhoto,
    Cart,
    CartLine,
    Checkout,
    Order,
    OrderEvent,
    OrderLine,
)

logger = logging.getLogger(__name__)

BPS_PER_WHOLE = 10_000
SETTLE_BATCH_SIZE = 50
MAX_COUPONS_PER_CHECKOUT = 20
# The session data field naming an anonymous visitor's cart (kept across sign-in's key rotation).
CART_SESSION_FIELD = "orders_cart_key"


def reservation_minutes() -> int:
    return int(getattr(settings, "ORDER_RESERVATION_MINUTES", 15))


def auto_receive_days() -> int:
    return int(getattr(settings, "ORDER_AUTO_RECEIVE_DAYS", 7))


def after_sale_days() -> int:
    return int(getattr(settings, "ORDER_AFTER_SALE_DAYS", 7))


# --- shared checks ----------------------------------------------------------------------------


def _require_user(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_buyer(*, order: Order, actor) -> None:
    _require_user(actor)
    if order.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your order."), code="not_your_order")


def _require_merchant(*, order: Order, actor) -> None:
    _require_user(actor)
    if order.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This order belongs to another shop."), code="not_your_shop")


def _require_operator(actor) -> None:
    _require_user(actor)
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform operators can decide this."), code="not_operator")


def _quantity(value, *, field: str = "quantity", maximum: int = MAX_QUANTITY) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(_("The quantity must be a whole number."), fields={field: "invalid"})
    if not MIN_QUANTITY <= value <= maximum:
        raise ValidationFailed(
            _("The quantity must be between %(min)d and %(max)d.")
            % {"min": MIN_QUANTITY, "max": maximum},
            code="quantity_out_of_range",
            fields={field: "range"},
        )
    return value


def _record(order: Order, kind: str, *, actor=None, note: str = "") -> None:
    OrderEvent.objects.create(
        order=order, kind=kind, actor=actor if actor and actor.is_authenticated else None, note=note
    )


def _publish(name: str, order: Order, **extra) -> None:
    """An ``orders.order.*`` or ``orders.after_sale.*`` event: every event of an order belongs to
    the order's aggregate, so it is delivered in order."""
    publish(
        name,
        aggregate=f"orders.order:{order.public_id}",
        order_public_id=order.public_id,
        buyer_public_id=order.buyer.public_id,
        shop_public_id=order.shop.public_id,
        total_fen=order.total_fen,
        **extra,
    )


# --- cart -------------------------------------------------------------------------------------


def _cart_filter(*, user, session_key) -> dict:
    if user is not None and getattr(user, "is_authenticated", False):
        return {"user": user}
    if session_key:
        return {"session_key": session_key}
    raise NotAuthenticated(_("Please sign in or enable cookies to use the cart."))


def cart_for(*, user=None, session_key: str | None = None) -> Cart:
    """The user's (or the anonymous session's) cart, created on first use."""
    owner = _cart_filter(user=user, session_key=session_key)
    found = Cart.objects.filter(**owner).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Cart.objects.create(**owner)
    except IntegrityError:
        return Cart.objects.get(**owner)


def _locked_cart(*, user=None, session_key: str | None = None) -> Cart:
    """The owner's cart, created if needed, with its row locked until the transaction ends.

    Every change to a cart's lines and the checkout that empties it take this lock first, so a
    checkout never orders lines that another request is changing or has already ordered."""
    cart = cart_for(user=user, session_key=session_key)
    return Cart.objects.select_for_update().get(pk=cart.pk)


def _purchasable_sku(*, sku_public_id, buyer=None) -> SKU:
    if not isinstance(sku_public_id, str) or not sku_public_id:
        raise NotFound(_("No such SKU."), code="sku_not_found")
    sku = (
        SKU.objects.select_related("product", "product__shop")
        .filter(public_id=sku_public_id)
        .first()
    )
    if sku is None:
        raise NotFound(_("No such SKU."), code="sku_not_found")
    _require_on_sale(sku)
    if getattr(buyer, "is_authenticated", False) and sku.product.shop.owner_id == buyer.pk:
        raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
    return sku


def _require_on_sale(sku: SKU) -> None:
    product = sku.product
    if not (sku.is_active and product.is_published and product.shop.is_approved):
        raise Conflict(
            _("“%(title)s” is not on sale any more.") % {"title": product.title},
            code="not_on_sale",
        )


def _within_stock(*, sku: SKU, quantity: int) -> None:
    if quantity > sku.stock:
        raise Conflict(
            _("Only %(stock)d of “%(title)s” left.") % {"stock": sku.stock, "title": sku.product},
            code="not_enough_stock",
            fields={"quantity": "above_stock"},
        )


def add_to_cart(
    *, user=None, session_key: str | None = None, sku_public_id: str, quantity: int = 1
) -> CartLine:
    """Add units of a SKU; the line's total stays within 1..99 and the current stock."""
    quantity = _quantity(quantity)
    sku = _purchasable_sku(sku_public_id=sku_public_id, buyer=user)
    with transaction.atomic():
        cart = _locked_cart(user=user, session_key=session_key)
        line = CartLine.objects.filter(cart=cart, sku=sku).first()
        current = line.quantity if line else 0
        wanted = current + quantity
        if wanted > MAX_QUANTITY:
            raise ValidationFailed(
                _("At most %(max)d of one item per order.") % {"max": MAX_QUANTITY},
                code="quantity_out_of_range",
                fields={"quantity": "range"},
            )
        _within_stock(sku=sku, quantity=wanted)
        if line is None:
            try:
                with transaction.atomic():
                    return CartLine.objects.create(cart=cart, sku=sku, quantity=quantity)
            except IntegrityError:
                line = CartLine.objects.get(cart=cart, sku=sku)
        # A conditional update, so two quick "add" presses never exceed the limit together.
        changed = CartLine.objects.filter(
            pk=line.pk, quantity__lte=min(MAX_QUANTITY, sku.stock) - quantity
        ).update(quantity=F("quantity") + quantity)
        if not changed:
            raise Conflict(_("That is more than you can buy."), code="not_enough_stock")
        line.refresh_from_db()
    return line


def set_cart_quantity(
    *, user=None, session_key: str | None = None, sku_public_id: str, quantity: int
) -> CartLine:
    quantity = _quantity(quantity)
    sku = _purchasable_sku(sku_public_id=sku_public_id, buyer=user)
    _within_stock(sku=sku, quantity=quantity)
    with transaction.atomic():
        cart = _locked_cart(user=user, session_key=session_key)
        # One statement: a line that a checkout just ordered is gone, not silently "updated".
        changed = CartLine.objects.filter(cart=cart, sku=sku).update(quantity=quantity)
        if not changed:
            raise NotFound(_("This item is not in your cart."), code="not_in_cart")
        line = CartLine.objects.get(cart=cart, sku=sku)
    return line


def remove_from_cart(*, user=None, session_key: str | None = None, sku_public_id: str) -> None:
    with transaction.atomic():
        cart = _locked_cart(user=user, session_key=session_key)
        deleted, _details = CartLine.objects.filter(
            cart=cart, sku__public_id=str(sku_public_id)
        ).delete()
        if not deleted:
            raise NotFound(_("This item is not in your cart."), code="not_in_cart")


def merge_session_cart(*, session_key: str | None, user) -> int:
    """At sign-in: move the anonymous session's lines into the user's cart (quantities add up,
    capped at 99 and the stock). Returns how many lines were merged."""
    if not session_key or user is None or not user.is_authenticated:
        return 0
    with transaction.atomic():
        # Lock order: the user's cart, then the anonymous one (two sign-ins of one session
        # merge it once: the second finds it gone).
        cart = _locked_cart(user=user)
        anonymous = Cart.objects.select_for_update().filter(session_key=session_key).first()
        if anonymous is None:
            return 0
        merged = 0
        for line in anonymous.lines.select_related("sku", "sku__product__shop"):
            if line.sku.product.shop.owner_id == user.pk:
                continue  # one's own products are not for sale to oneself
            existing = CartLine.objects.filter(cart=cart, sku=line.sku).first()
            wanted = min(
                (existing.quantity if existing else 0) + line.quantity,
                MAX_QUANTITY,
                max(line.sku.stock, MIN_QUANTITY),
            )
            if existing:
                CartLine.objects.filter(pk=existing.pk).update(quantity=wanted)
            else:
                CartLine.objects.create(cart=cart, sku=line.sku, quantity=wanted)
            merged += 1
        anonymous.delete()
    return merged


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


def shipping_fields(*, buyer, address_public_id, delivery_method: str) -> dict:
    """The order's delivery method and its copy of the chosen address. Every product of the
    catalog is a physical good today (its "digital" category is 数码, electronics), so a cart
    checkout always needs an address; deal orders are placed by the deals apps."""
    fields = {"delivery_method": clean_delivery_method(delivery_method)}
    address = buyer_address(buyer=buyer, address_public_id=address_public_id)
    return fields | address_services.address_snapshot(address)


def buyer_address(*, buyer, address_public_id) -> Address:
    """The address a buyer chose to ship to: required (``address_required``) and one of their
    own (another's or an unknown id is ``address_not_found``). Cart checkouts and deal orders
    both ask here, before they take any lock."""
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
) -> Checkout:
    """Turn the buyer's cart into one order per shop and one payment for all of them, shipped
    to a copy of the chosen address (required: every product is a physical good).

    Reserves the stock (released if unpaid after ``ORDER_RESERVATION_MINUTES``); out of stock →
    ``out_of_stock`` and nothing is reserved or created."""
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


def checkout_idempotently(
    *,
    buyer,
    key: str,
    coupons: dict | None = None,
    address_public_id: str = "",
    delivery_method: str = Order.DeliveryMethod.DELIVERY,
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

    def compute():
        created = checkout(
            buyer=buyer,
            coupons=coupons,
            address_public_id=address_public_id,
            delivery_method=delivery_method,
        )
        return 201, {"checkout_id": created.public_id}

    result = run_idempotent(
        scope=f"orders.checkout:{buyer.pk}",
        key=key,
        fingerprint=fingerprint_of(body),
        compute=compute,
    )
    return Checkout.objects.get(public_id=result.body["checkout_id"]), result.replayed


# --- payment outcome (contract step 3) --------------------------------------------------------


def _escrow(payment):
    return payments.escrow_account(payment)


def _merchant_account(shop: Shop, kind: str):
    return open_account(kind=kind, owner_ref=f"shop:{shop.public_id}")


def _hold_key(order: Order, version: int) -> str:
    return f"order:{order.public_id}:hold" + (f":{version}" if version else "")


def _payment_of(checkout_row: Checkout):
    return payments.payment_by_public_id(public_id=checkout_row.payment_public_id)


def _lock_payment_of(checkout_row: Checkout):
    """Lock order: checkout, its payment, its orders, then shared rows (accounts, stock).
    Payment callbacks lock the payment and then accounts, so taking the payment right after the
    checkout keeps every path in one order and rules out deadlocks between them. A free deal
    order has no payment: None."""
    if not checkout_row.payment_public_id:
        return None
    return payments.lock_payment(public_id=checkout_row.payment_public_id)


def _refund(*, payment, amount: int, key: str, reason: str) -> None:
    if amount > 0:
        payments.refund(payment=payment, amount=amount, key=key, reason=reason)


def record_payment_success(*, reference: str, payment_public_id: str) -> int:
    """Mark the checkout's orders paid and hold their money toward each shop; refund what can no
    longer be sold (orders cancelled meanwhile, or a payment whose amount is not the checkout's).
    The amount is the payment's captured amount (payments already refused a wrong callback).
    Idempotent: a replayed event changes nothing. Returns how many orders became paid."""
    if not isinstance(reference, str) or not reference.startswith("checkout:"):
        return 0
    with transaction.atomic():
        checkout_row = (
            Checkout.objects.select_for_update()
            .filter(public_id=reference.removeprefix("checkout:"))
            .first()
        )
        if checkout_row is None or checkout_row.payment_public_id != payment_public_id:
            logger.error("payment %s for unknown checkout %s", payment_public_id, reference)
            return 0
        if checkout_row.deal_ref:
            return 0  # the deals app settles its own checkouts (settle_deal_payment)
        return _settle_captured_payment(
            checkout_row=checkout_row, payment=_lock_payment_of(checkout_row)
        )


def _settle_captured_payment(*, checkout_row: Checkout, payment) -> int:
    """Under the checkout's lock: pay its pending orders, refund the cancelled ones."""
    if payment.captured_fen != checkout_row.total_fen:
        # Payments refuses a callback whose amount differs from the payment's; this guards the
        # other seam (a payment that is not this checkout's total) and returns the money whole.
        logger.error(
            "payment %s captured %s but checkout %s totals %s; refunding it whole",
            payment.public_id,
            payment.captured_fen,
            checkout_row.public_id,
            checkout_row.total_fen,
        )
        _refund(
            payment=payment,
            amount=payment.captured_fen - payment.refunded_fen,
            key=f"{checkout_row.reference}:mismatch",
            reason="mismatch",
        )
        return 0
    orders = (
        Order.objects.select_for_update(of=("self",))
        .filter(checkout=checkout_row)
        .select_related("shop")
    )
    paid = 0
    for order in orders.order_by("pk"):
        if order.state == Order.State.PENDING_PAYMENT:
            _mark_paid(order=order, payment=payment)
            paid += 1
        elif order.state == Order.State.CANCELLED and order.paid_at is None:
            _refund_late_payment(order=order, payment=payment)
    return paid


def _mark_paid(*, order: Order, payment, state: str = Order.State.PAID) -> None:
    now = clock.now()
    transfer(
        key=_hold_key(order, 0),
        debit=_escrow(payment),
        credit=_merchant_account(order.shop, AccountKind.MERCHANT_PENDING),
        amount=order.total_fen,
        reason="order_hold",
        cause=order.ref,
        pending=True,
    )
    # The reservation becomes the sale: the stock stays taken.
    Order.objects.filter(pk=order.pk, state=Order.State.PENDING_PAYMENT).update(
        state=state, paid_at=now, has_hold=True
    )
    order.state, order.paid_at, order.has_hold = state, now, True
    _record(order, "paid")
    _publish(
        "orders.order.paid" if state == Order.State.PAID else "orders.order.awaiting_deal", order
    )


def _refund_late_payment(*, order: Order, payment) -> None:
    """The buyer paid for an order that was cancelled (or expired) in the meantime."""
    if order.refunded_fen == order.total_fen:
        return
    _refund(
        payment=payment, amount=order.total_fen, key=f"{order.ref}:refund:late", reason="cancelled"
    )
    Order.objects.filter(pk=order.pk, refunded_fen=0).update(refunded_fen=order.total_fen)
    _record(order, "refunded", note=str(_("Paid after cancellation; refunded in full.")))
    _publish("orders.order.refunded", order, amount_fen=order.total_fen)


def record_payment_failure(*, reference: str, payment_public_id: str = "") -> int:
    """A declined, abandoned or canceled payment leaves the checkout's orders unpaid and payable
    again (``retry_payment``) until their reservation ends; then ``expire_unpaid_checkouts``
    cancels them. The orders' timelines say the payment was not completed. A failure of an
    earlier attempt (replaced by a newer one) changes nothing. Returns how many orders are still
    waiting for payment."""
    if not isinstance(reference, str) or not reference.startswith("checkout:"):
        return 0
    with transaction.atomic():
        checkout_row = (
            Checkout.objects.select_for_update()
            .filter(public_id=reference.removeprefix("checkout:"))
            .first()
        )
        if checkout_row is None or checkout_row.deal_ref:
            return 0
        if payment_public_id and checkout_row.payment_public_id != payment_public_id:
            return 0  # an earlier attempt: the buyer is already paying with a newer one
        payment = _lock_payment_of(checkout_row)
        if payment.state not in (Payment.State.FAILED, Payment.State.CANCELED):
            return 0
        waiting = list(
            Order.objects.select_for_update()
            .filter(checkout=checkout_row, state=Order.State.PENDING_PAYMENT)
            .order_by("pk")
        )
        for order in waiting:
            _record(order, "payment_failed", note=str(_("You can pay again until the deadline.")))
            _publish("orders.order.payment_failed", order, payment_public_id=payment.public_id)
        return len(waiting)


def retry_payment(*, order: Order, actor) -> Checkout:
    """The buyer's "pay" on an unpaid order: a new payment attempt for its whole checkout, while
    the reservation lasts. An attempt still waiting for the buyer is reused; one the cashier is
    processing is left to finish (``payment_processing``). Each attempt has its own key
    (``checkout:<id>:attempt:<n>``), so a retried request never makes two."""
    _require_buyer(order=order, actor=actor)
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        payment = _lock_payment_of(checkout_row)
        if not checkout_row.orders.filter(state=Order.State.PENDING_PAYMENT).exists():
            raise Conflict(_("There is nothing left to pay here."), code="nothing_to_pay")
        if clock.now() >= checkout_row.expires_at:
            raise Conflict(
                _("The time to pay has run out; the order will be cancelled."),
                code="reservation_expired",
            )
        if payment is not None and payment.state == Payment.State.REQUIRES_PAYMENT:
            return checkout_row
        if checkout_row.deal_ref or payment is None:
            # A deal settles its own payments (a failed one ends the seat or the purchase).
            raise Conflict(
                _("This order belongs to a running deal; see the deal's page."), code="deal_order"
            )
        if payment.state != Payment.State.FAILED and payment.state != Payment.State.CANCELED:
            raise Conflict(
                _("Your payment is being processed; please wait a moment."),
                code="payment_processing",
            )
        attempt = checkout_row.payment_attempts + 1
        new_payment = payments.create_payment(
            payer=actor,
            amount=checkout_row.total_fen,
            reference=checkout_row.reference,
            description=payment.description,
            idempotency_key=f"{checkout_row.reference}:attempt:{attempt}",
        )
        Checkout.objects.filter(pk=checkout_row.pk).update(
            payment_public_id=new_payment.public_id, payment_attempts=attempt
        )
        checkout_row.payment_public_id, checkout_row.payment_attempts = (
            new_payment.public_id,
            attempt,
        )
    return checkout_row


def _cancel_unpaid_orders(*, checkout_row: Checkout, reason: str, actor) -> int:
    orders = list(
        Order.objects.select_for_update()
        .filter(checkout=checkout_row, state=Order.State.PENDING_PAYMENT)
        .order_by("pk")
    )
    for order in orders:
        _cancel_unpaid(order=order, reason=reason, actor=actor)
    return len(orders)


def _cancel_unpaid(*, order: Order, reason: str, actor, release_stock: bool = True) -> None:
    now = clock.now()
    changed = Order.objects.filter(pk=order.pk, state=Order.State.PENDING_PAYMENT).update(
        state=Order.State.CANCELLED, cancel_reason=reason, cancelled_at=now
    )
    if not changed:
        return
    if release_stock and reason == Order.CancelReason.EXPIRED:
        # An abandoned payment does not cost the buyer their cart: the lines come back (before
        # the stock is released: lock order cart, then SKU stock, as in checkout).
        _restore_to_cart(order)
    if release_stock:
        _release_stock(order)
    if order.coupon_claim_public_id:
        coupon_services.release(order_ref=order.ref)
    order.state, order.cancel_reason, order.cancelled_at = Order.State.CANCELLED, reason, now
    _record(order, "cancelled", actor=actor, note=str(Order.CancelReason(reason).label))
    _publish("orders.order.cancelled", order, reason=reason)


def _restore_to_cart(order: Order) -> None:
    """Put an expired cart order's items back in the buyer's cart (quantities add up, at most
    99 per item); the cart page then shows what is no longer on sale or in stock."""
    cart = _locked_cart(user=order.buyer)
    for line in order.lines.filter(sku__isnull=False).order_by("sku_id"):
        existing = CartLine.objects.filter(cart=cart, sku_id=line.sku_id).first()
        if existing is None:
            CartLine.objects.create(cart=cart, sku_id=line.sku_id, quantity=line.quantity)
        else:
            CartLine.objects.filter(pk=existing.pk).update(
                quantity=min(existing.quantity + line.quantity, MAX_QUANTITY)
            )


def _release_stock(order: Order) -> None:
    """Give back the units this order still holds: units refunded before shipping went back to
    stock when they were refunded (``_unship_refunded_units``), so they are not given twice."""
    for line in order.lines.filter(sku__isnull=False).order_by("sku_id"):
        if line.to_ship_quantity > 0:
            catalog_services.release_stock(sku_id=line.sku_id, quantity=line.to_ship_quantity)


def _cancel_payment_if_nothing_left(checkout_row: Checkout) -> None:
    """When no order of a checkout can still be paid, the payment is cancelled too."""
    if checkout_row.orders.filter(state=Order.State.PENDING_PAYMENT).exists():
        return
    if checkout_row.orders.filter(paid_at__isnull=False).exists():
        return
    # If it was captured a moment ago, its "ledger.payment.succeeded" finds the orders cancelled and
    # refunds them (record_payment_success).
    with suppress(PaymentStateConflict):
        payments.cancel_payment(payment=_payment_of(checkout_row))


# --- buyer and merchant actions ---------------------------------------------------------------


def _locked(order: Order) -> Order:
    # Only the order row is locked (of=self): the joined shop and checkout are read, not locked, so
    # this never fights the payment handler, which locks checkout first and then its orders.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("shop", "checkout")
        .get(pk=order.pk)
    )


def cancel_order(*, order: Order, actor) -> Order:
    """The buyer or the shop cancels before shipping; a paid order is refunded in full."""
    _require_user(actor)
    is_buyer = order.buyer_id == actor.pk
    if not is_buyer and order.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your order."), code="not_your_order")
    reason = Order.CancelReason.BUYER if is_buyer else Order.CancelReason.MERCHANT
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        _lock_payment_of(checkout_row)
        order = _locked(order)
        if checkout_row.deal_ref and order.state in DEAL_OWNED_STATES:
            raise Conflict(
                _("This order belongs to a running deal; see the deal's page."),
                code="deal_order",
            )
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=reason, actor=actor)
            _cancel_payment_if_nothing_left(checkout_row)
        elif order.state == Order.State.PAID:
            _cancel_paid(order=order, reason=reason, actor=actor, checkout_row=checkout_row)
        else:
            raise Conflict(
                _("This order can no longer be cancelled (it is %(state)s).")
                % {"state": order.get_state_display()},
                code="cannot_cancel",
            )
    order.refresh_from_db()
    return order


def _cancel_paid(
    *, order: Order, reason: str, actor, checkout_row: Checkout, release_stock: bool = True
) -> None:
    now = clock.now()
    amount = order.net_fen
    _void_current_hold(order)
    Order.objects.filter(pk=order.pk, state=order.state).update(
        state=Order.State.CANCELLED,
        cancel_reason=reason,
        cancelled_at=now,
        has_hold=False,
        refunded_fen=order.total_fen,
    )
    if amount > 0:
        _refund(
            payment=_payment_of(checkout_row),
            amount=amount,
            key=f"{order.ref}:refund:cancel",
            reason="cancelled",
        )
    if release_stock:
        _release_stock(order)
    _record(order, "cancelled", actor=actor, note=str(Order.CancelReason(reason).label))
    _record(order, "refunded", note=str(_("Refunded in full.")))
    _publish("orders.order.cancelled", order, reason=reason)
    _publish("orders.order.refunded", order, amount_fen=amount)


def _current_hold(order: Order) -> Transfer:
    return Transfer.objects.get(idempotency_key=_hold_key(order, order.hold_version))


def _void_current_hold(order: Order) -> None:
    if order.has_hold:
        hold = _current_hold(order)
        ledger_void_hold(key=f"{hold.idempotency_key}:void", hold=hold)


ADDRESS_CHANGEABLE_STATES = (
    Order.State.PENDING_PAYMENT,
    Order.State.AWAITING_DEAL,
    Order.State.PAID,
)


def change_order_address(*, order: Order, actor, address_public_id) -> Order:
    """The buyer ships the order to another address of their book, until it ships. The order
    takes a new copy; the merchant sees it in the ship queue and on the packing list."""
    _require_buyer(order=order, actor=actor)
    address = address_services.own_address(user=actor, address_public_id=address_public_id)
    snapshot = address_services.address_snapshot(address)
    with transaction.atomic():
        # One conditional statement: a shipment committed a moment ago wins, never a silent
        # change of an order already on its way.
        changed = Order.objects.filter(pk=order.pk, state__in=ADDRESS_CHANGEABLE_STATES).update(
            **snapshot
        )
        if not changed:
            raise Conflict(
                _("The address can no longer be changed: the order has shipped or ended."),
                code="address_locked",
            )
        order.refresh_from_db()
        _record(order, "address_changed", actor=actor, note=order.ship_address_line)
        _publish("orders.order.address_changed", order)
    return order


def ship_order(*, order: Order, actor, carrier: str, tracking_number: str) -> Order:
    """The shop hands a paid order to a carrier (a code of carriers.Carrier) with its tracking
    number in that carrier's format."""
    _require_merchant(order=order, actor=actor)
    carrier = carriers.clean_carrier(carrier)
    tracking_number = carriers.clean_tracking_number(carrier=carrier, value=tracking_number)
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, state=Order.State.PAID).update(
            state=Order.State.SHIPPED,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=clock.now(),
        )
        if not changed:
            raise Conflict(_("Only paid orders can be shipped."), code="cannot_ship")
        order.refresh_from_db()
        _record(order, "shipped", actor=actor, note=f"{order.carrier_label} {tracking_number}")
        _publish("orders.order.shipped", order)
    return order


MAX_SHIPMENTS_AT_ONCE = 200


def ship_orders(*, shop: Shop, actor, shipments) -> dict[str, str]:
    """Ship several of the shop's paid orders at once, each with its carrier and number.

    Every line is checked first, so bad input ships nothing. Then each order ships in its own
    transaction: one cancelled a moment ago does not hold back the others. Returns
    {order id: "shipped" or the refusal's code}."""
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This order belongs to another shop."), code="not_your_shop")
    if not isinstance(shipments, list | tuple) or not 1 <= len(shipments) <= MAX_SHIPMENTS_AT_ONCE:
        raise ValidationFailed(
            _("Choose the orders to ship (at most %(max)d at once).")
            % {"max": MAX_SHIPMENTS_AT_ONCE},
            code="no_orders_chosen",
            fields={"shipments": "count"},
        )
    planned = _planned_shipments(shop=shop, shipments=shipments)
    outcomes = {}
    for order, carrier, number in planned:
        try:
            ship_order(order=order, actor=actor, carrier=carrier, tracking_number=number)
            outcomes[order.public_id] = "shipped"
        except Conflict as refused:
            outcomes[order.public_id] = refused.code
    return outcomes


def _planned_shipments(*, shop: Shop, shipments) -> list[tuple[Order, str, str]]:
    by_id = {}
    for item in shipments:
        order_id = item.get("order_id") if isinstance(item, dict) else None
        if not isinstance(order_id, str) or order_id in by_id:
            raise ValidationFailed(_("Each order once, please."), fields={"shipments": "invalid"})
        by_id[order_id] = item
    orders = {
        order.public_id: order
        for order in Order.objects.select_related("shop").filter(
            shop=shop, public_id__in=list(by_id)
        )
    }
    planned = []
    for order_id, item in by_id.items():
        if order_id not in orders:
            raise NotFound(_("No such order."), code="order_not_found")
        try:
            carrier = carriers.clean_carrier(item.get("carrier"))
            number = carriers.clean_tracking_number(
                carrier=carrier, value=item.get("tracking_number")
            )
        except ValidationFailed as error:
            error.fields = {**error.fields, "order_id": order_id}
            raise
        planned.append((orders[order_id], carrier, number))
    return planned


def confirm_receipt(*, order: Order, actor) -> Order:
    _require_buyer(order=order, actor=actor)
    with transaction.atomic():
        if not _mark_received(order=order, actor=actor):
            raise Conflict(_("Only shipped orders can be received."), code="cannot_receive")
    order.refresh_from_db()
    return order


def _mark_received(*, order: Order, actor, now=None) -> bool:
    changed = Order.objects.filter(pk=order.pk, state=Order.State.SHIPPED).update(
        state=Order.State.RECEIVED, received_at=now or clock.now()
    )
    if changed:
        _record(order, "received", actor=actor)
        _publish("orders.order.received", order, auto=actor is None)
    return bool(changed)


def platform_fee(*, net_fen: int, fee_rate_bps: int) -> int:
    """The platform's cut, rounded down: the merchant keeps any fraction of a fen."""
    return net_fen * fee_rate_bps // BPS_PER_WHOLE


def complete_order(*, order: Order, now=None) -> bool:
    """Post the hold and pay the shop its share minus the platform fee (contract step 4).
    Only once the after-sale window has closed with nothing open; False if not due."""
    now = now or clock.now()
    with transaction.atomic():
        order = _locked(order)
        if order.state != Order.State.RECEIVED or now < order.received_at + timedelta(
            days=after_sale_days()
        ):
            return False
        if order.after_sales.filter(state__in=AfterSale.OPEN_STATES).exists():
            return False
        net = order.net_fen
        fee = platform_fee(net_fen=net, fee_rate_bps=order.shop.fee_rate_bps)
        if order.has_hold:
            _settle_hold(order=order, net=net, fee=fee)
        Order.objects.filter(pk=order.pk).update(
            state=Order.State.COMPLETED, completed_at=now, fee_fen=fee, has_hold=False
        )
        _record(order, "completed")
        _publish("orders.order.completed", order, net_fen=net, fee_fen=fee)
    return True


def _settle_hold(*, order: Order, net: int, fee: int) -> None:
    hold = _current_hold(order)
    ledger_post_hold(key=f"{hold.idempotency_key}:post", hold=hold)
    pending = _merchant_account(order.shop, AccountKind.MERCHANT_PENDING)
    specs = [
        TransferSpec(
            key=f"{order.ref}:merchant_share",
            debit=pending,
            credit=_merchant_account(order.shop, AccountKind.MERCHANT_AVAILABLE),
            amount=net - fee,
            reason="order_completed",
            cause=order.ref,
        ),
        TransferSpec(
            key=f"{order.ref}:platform_fee",
            debit=pending,
            credit=open_account(kind=AccountKind.PLATFORM_FEES),
            amount=fee,
            reason="platform_fee",
            cause=order.ref,
        ),
    ]
    transfer_linked(specs=[spec for spec in specs if spec.amount > 0])


# --- after-sale -------------------------------------------------------------------------------
#
# Every open request ends by itself or reaches an operator: REQUESTED waits for the shop until
# ``due_at`` (answer deadline), ACCEPTED (a return) waits for the buyer's return shipment, and
# RETURN_SHIPPED waits for the shop to confirm or dispute the returned goods; at each ``due_at``
# ``settle_after_sale_deadlines`` decides. ESCALATED waits for an operator (the admin queue).
# Locks: checkout → payment → order → after-sale, like every other money path.

PHOTO_MAX_SIDE = 1600


def answer_hours() -> int:
    return int(getattr(settings, "AFTER_SALE_ANSWER_HOURS", 48))


def return_ship_days() -> int:
    return int(getattr(settings, "AFTER_SALE_RETURN_SHIP_DAYS", 7))


def return_auto_refund_days() -> int:
    return int(getattr(settings, "AFTER_SALE_RETURN_AUTO_REFUND_DAYS", 7))


def _line_refund_amount(line: OrderLine, quantity: int) -> int:
    """Partial refunds take their share rounded down; the last unit returns the exact rest, so a
    line's refunds always add up to what was paid for it."""
    if line.refunded_quantity + quantity == line.quantity:
        return line.paid_fen - line.refunded_fen
    return line.paid_fen * quantity // line.quantity


def _all_refundable_lines(order: Order) -> list[dict]:
    """No lines chosen: everything not yet refunded, each line's whole quantity."""
    return [
        {"line_id": line.public_id, "quantity": line.refundable_quantity}
        for line in order.lines.all()
        if line.refundable_quantity
    ]


def _clean_refund_lines(*, order: Order, lines) -> list[tuple[OrderLine, int]]:
    if lines is None:
        lines = _all_refundable_lines(order)
    if not isinstance(lines, list | tuple) or not lines or len(lines) > 100:
        raise ValidationFailed(_("Choose what to refund."), fields={"lines": "required"})
    by_id = {line.public_id: line for line in order.lines.all()}
    chosen: dict[str, int] = {}
    for item in lines:
        if not isinstance(item, dict | tuple | list):
            raise ValidationFailed(_("Choose what to refund."), fields={"lines": "invalid"})
        line_id, quantity = (
            (item.get("line_id"), item.get("quantity")) if isinstance(item, dict) else item
        )
        if not isinstance(line_id, str) or line_id not in by_id:
            raise NotFound(_("No such line in this order."), code="line_not_found")
        if line_id in chosen:
            raise ValidationFailed(_("Each line once, please."), fields={"lines": "duplicate"})
        line = by_id[line_id]
        available = line.refundable_quantity
        if available < MIN_QUANTITY:
            raise Conflict(_("This line was already refunded."), code="already_refunded")
        # No quantity given: what was bought (and is not refunded yet).
        chosen[line_id] = _quantity(available if quantity is None else quantity, maximum=available)
    return [(by_id[line_id], quantity) for line_id, quantity in chosen.items()]


def _within_after_sale_window(order: Order) -> bool:
    return (
        order.state == Order.State.RECEIVED
        and order.received_at is not None
        and clock.now() < order.received_at + timedelta(days=after_sale_days())
    )


def after_sale_possible(order: Order) -> bool:
    """Paid (before shipping: refund only), shipped, or received and inside the window."""
    return order.state in (Order.State.PAID, Order.State.SHIPPED) or _within_after_sale_window(
        order
    )


def _clean_kind(*, kind: str, order: Order) -> str:
    if kind not in AfterSale.Kind.values:
        raise ValidationFailed(
            _("Choose refund only or return and refund."), fields={"kind": "invalid"}
        )
    if kind == AfterSale.Kind.RETURN_AND_REFUND and order.state == Order.State.PAID:
        raise Conflict(
            _("Nothing was shipped yet: ask for a refund only."), code="nothing_to_return"
        )
    return kind


def _clean_reason(*, reason_code: str, reason) -> tuple[str, str]:
    if reason_code not in AfterSale.Reason.values:
        raise ValidationFailed(
            _("Choose a reason from the list."), fields={"reason_code": "invalid"}
        )
    # "Other" must say what; a reason from the list may add details.
    details = clean_text(
        reason,
        field="reason",
        max_length=REASON_MAX_LENGTH,
        required=reason_code == AfterSale.Reason.OTHER,
    )
    return reason_code, details


def _prepared_photos(photos) -> list:
    photos = [photo for photo in (photos or []) if photo is not None]
    if len(photos) > MAX_AFTER_SALE_PHOTOS:
        raise ValidationFailed(
            _("At most %(max)d photos, please.") % {"max": MAX_AFTER_SALE_PHOTOS},
            code="too_many_photos",
            fields={"photos": "too_many"},
        )
    return [
        prepared_image(photo, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos")
        for photo in photos
    ]


def _store_photos(*, after_sale: AfterSale, prepared: list, first_position: int = 0) -> None:
    for offset, image in enumerate(prepared):
        photo = AfterSalePhoto(
            after_sale=after_sale,
            width=image.width,
            height=image.height,
            position=first_position + offset,
        )
        save_with_image(photo, image.file)


def request_after_sale(
    *,
    order: Order,
    actor,
    kind: str,
    reason: str = "",
    lines=None,
    reason_code: str = AfterSale.Reason.OTHER,
    photos=(),
) -> AfterSale:
    """The buyer asks for a refund (or a return and refund) of some units: before shipping
    (refund only), while shipped, or within the window after receipt. ``lines`` None means
    everything not yet refunded; a line without a quantity means all of it. Up to
    MAX_AFTER_SALE_PHOTOS photos, each checked and re-encoded before anything is written.
    The shop must answer within ``answer_hours()``."""
    _require_buyer(order=order, actor=actor)
    kind = _clean_kind(kind=kind, order=order)
    reason_code, reason = _clean_reason(reason_code=reason_code, reason=reason)
    prepared = _prepared_photos(photos)
    with transaction.atomic():
        order = _locked(order)
        if not after_sale_possible(order):
            raise Conflict(
                _("After-sale requests are possible for %(days)d days after receipt.")
                % {"days": after_sale_days()},
                code="after_sale_window_closed",
            )
        _clean_kind(kind=kind, order=order)  # the order may have changed since the first look
        chosen = _clean_refund_lines(order=order, lines=lines)
        now = clock.now()
        try:
            with transaction.atomic():
                after_sale = AfterSale.objects.create(
                    order=order,
                    kind=kind,
                    reason_code=reason_code,
                    reason=reason,
                    amount_fen=sum(_line_refund_amount(line, qty) for line, qty in chosen),
                    created_at=now,
                    due_at=now + timedelta(hours=answer_hours()),
                )
        except IntegrityError:
            raise Conflict(
                _("This order already has an open after-sale request."),
                code="after_sale_already_open",
            ) from None
        AfterSaleLine.objects.bulk_create(
            AfterSaleLine(
                after_sale=after_sale,
                order_line=line,
                quantity=qty,
                amount_fen=_line_refund_amount(line, qty),
            )
            for line, qty in chosen
        )
        _store_photos(after_sale=after_sale, prepared=prepared)
        _record(order, "after_sale_requested", actor=actor, note=reason)
        _publish("orders.after_sale.requested", order, after_sale_public_id=after_sale.public_id)
    return after_sale


def add_after_sale_photo(*, after_sale: AfterSale, actor, upload) -> AfterSalePhoto:
    """One more photo for an open request (the API's multipart upload), at most
    MAX_AFTER_SALE_PHOTOS in all; the request's row lock keeps the limit under concurrency."""
    _require_buyer(order=after_sale.order, actor=actor)
    prepared = prepared_image(
        upload, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos"
    )
    with transaction.atomic():
        locked = AfterSale.objects.select_for_update().get(pk=after_sale.pk)
        if locked.state not in AfterSale.OPEN_STATES:
            raise Conflict(_("This request is already decided."), code="after_sale_decided")
        count = locked.photos.count()
        if count >= MAX_AFTER_SALE_PHOTOS:
            raise ValidationFailed(
                _("At most %(max)d photos, please.") % {"max": MAX_AFTER_SALE_PHOTOS},
                code="too_many_photos",
                fields={"photos": "too_many"},
            )
        _store_photos(after_sale=locked, prepared=[prepared], first_position=count)
    return locked.photos.order_by("-position").first()


def _locked_after_sale(after_sale: AfterSale) -> tuple[AfterSale, Order]:
    checkout_row = Checkout.objects.select_for_update().get(pk=after_sale.order.checkout_id)
    _lock_payment_of(checkout_row)
    order = _locked(after_sale.order)
    return AfterSale.objects.select_for_update().get(pk=after_sale.pk), order


def _set_state(after_sale: AfterSale, **changes) -> None:
    """Under the request's lock: write the changes (``due_at`` cleared unless given)."""
    changes.setdefault("due_at", None)
    AfterSale.objects.filter(pk=after_sale.pk).update(**changes)


def _require_state(after_sale: AfterSale, state: str, message, code: str) -> None:
    if after_sale.state != state:
        raise Conflict(message, code=code)


def accept_after_sale(*, after_sale: AfterSale, actor) -> AfterSale:
    """The shop agrees: "refund only" is refunded now; "return and refund" waits for the goods
    (the buyer sees the shop's return address and has ``return_ship_days()`` to send them)."""
    _require_merchant(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REQUESTED,
            _("This request was already decided."),
            "after_sale_decided",
        )
        if after_sale.kind == AfterSale.Kind.REFUND_ONLY:
            _execute_refund(after_sale=after_sale, order=order, actor=actor)
        else:
            _accept_return(after_sale=after_sale, order=order, actor=actor)
    after_sale.refresh_from_db()
    return after_sale


def _accept_return(*, after_sale: AfterSale, order: Order, actor) -> None:
    if not order.shop.return_address.strip():
        raise Conflict(
            _("Add a return address in your shop settings before accepting a return."),
            code="no_return_address",
        )
    now = clock.now()
    _set_state(
        after_sale,
        state=AfterSale.State.ACCEPTED,
        accepted_at=now,
        decided_by=actor,
        due_at=now + timedelta(days=return_ship_days()),
    )
    _record(order, "after_sale_accepted", actor=actor)
    _publish("orders.after_sale.accepted", order, after_sale_public_id=after_sale.public_id)


def ship_return(*, after_sale: AfterSale, actor, carrier: str, tracking_number: str) -> AfterSale:
    """The buyer sent the goods back; unless the shop disputes them within
    ``return_auto_refund_days()``, the refund is made automatically."""
    _require_buyer(order=after_sale.order, actor=actor)
    carrier = clean_text(carrier, field="carrier", max_length=CARRIER_MAX_LENGTH, required=True)
    tracking_number = clean_text(
        tracking_number, field="tracking_number", max_length=TRACKING_MAX_LENGTH, required=True
    )
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.ACCEPTED,
            _("Send the goods back only after the shop accepted the return."),
            "return_not_accepted",
        )
        now = clock.now()
        _set_state(
            after_sale,
            state=AfterSale.State.RETURN_SHIPPED,
            return_carrier=carrier,
            return_tracking_number=tracking_number,
            return_shipped_at=now,
            due_at=now + timedelta(days=return_auto_refund_days()),
        )
        _record(
            order, "after_sale_return_shipped", actor=actor, note=f"{carrier} {tracking_number}"
        )
        _publish(
            "orders.after_sale.return_shipped", order, after_sale_public_id=after_sale.public_id
        )
    after_sale.refresh_from_db()
    return after_sale


def confirm_return_received(*, after_sale: AfterSale, actor) -> AfterSale:
    """The shop got the goods back: the buyer is refunded now."""
    _require_merchant(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.RETURN_SHIPPED,
            _("The buyer has not sent the goods back yet."),
            "return_not_shipped",
        )
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=actor,
            note=NOTE_RETURN_RECEIVED,
        )
    after_sale.refresh_from_db()
    return after_sale


def dispute_return(*, after_sale: AfterSale, actor, reason: str) -> AfterSale:
    """The shop says the returned goods are not what was sent (or never came): an operator
    decides (the admin's escalated queue)."""
    _require_merchant(order=after_sale.order, actor=actor)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.RETURN_SHIPPED,
            _("The buyer has not sent the goods back yet."),
            "return_not_shipped",
        )
        _escalate(
            after_sale=after_sale,
            order=order,
            cause=AfterSale.Escalation.DISPUTE,
            actor=actor,
            kind="after_sale_disputed",
            note=reason,
            dispute_reason=reason,
        )
    after_sale.refresh_from_db()
    return after_sale


def reject_after_sale(*, after_sale: AfterSale, actor, reason: str) -> AfterSale:
    _require_merchant(order=after_sale.order, actor=actor)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REQUESTED,
            _("This request was already decided."),
            "after_sale_decided",
        )
        _set_state(
            after_sale,
            state=AfterSale.State.REJECTED,
            rejection_reason=reason,
            decided_by=actor,
            decided_at=clock.now(),
        )
        _record(order, "after_sale_rejected", actor=actor, note=reason)
        _publish("orders.after_sale.rejected", order, after_sale_public_id=after_sale.public_id)
    after_sale.refresh_from_db()
    return after_sale


def _escalate(
    *, after_sale: AfterSale, order: Order, cause: str, actor, kind: str, **extra
) -> None:
    note = extra.pop("note", "")
    _set_state(
        after_sale,
        state=AfterSale.State.ESCALATED,
        escalation=cause,
        escalated_at=clock.now(),
        **extra,
    )
    _record(order, kind, actor=actor, note=note)
    _publish(
        "orders.after_sale.escalated",
        order,
        after_sale_public_id=after_sale.public_id,
        cause=cause,
    )


def escalate_after_sale(*, after_sale: AfterSale, actor) -> AfterSale:
    """The buyer asks the platform to decide a rejected request (while after-sale is possible)."""
    _require_buyer(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REJECTED,
            _("Only a rejected request can be escalated."),
            "cannot_escalate",
        )
        if not after_sale_possible(order):
            raise Conflict(_("The after-sale window has closed."), code="after_sale_window_closed")
        try:
            with transaction.atomic():
                _escalate(
                    after_sale=after_sale,
                    order=order,
                    cause=AfterSale.Escalation.BUYER,
                    actor=actor,
                    kind="after_sale_escalated",
                )
        except IntegrityError:
            raise Conflict(
                _("This order already has an open after-sale request."),
                code="after_sale_already_open",
            ) from None
    after_sale.refresh_from_db()
    return after_sale


def decide_escalated_after_sale(
    *, after_sale: AfterSale, actor, refund: bool, note: str = ""
) -> AfterSale:
    """An operator's final word on an escalated request (the admin action calls this)."""
    _require_operator(actor)
    note = clean_text(note, field="note", max_length=REASON_MAX_LENGTH, required=False)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.ESCALATED,
            _("Only escalated requests are decided here."),
            "not_escalated",
        )
        AfterSale.objects.filter(pk=after_sale.pk).update(decision_note=note)
        if refund:
            _execute_refund(after_sale=after_sale, order=order, actor=actor)
        else:
            _set_state(
                after_sale, state=AfterSale.State.CLOSED, decided_by=actor, decided_at=clock.now()
            )
            _record(order, "after_sale_closed", actor=actor, note=note)
    after_sale.refresh_from_db()
    return after_sale


def _refundable(order: Order) -> bool:
    return order.has_hold and order.state in (
        Order.State.PAID,
        Order.State.SHIPPED,
        Order.State.RECEIVED,
    )


def _execute_refund(*, after_sale: AfterSale, order: Order, actor, note: str = "") -> None:
    """Refund the request's lines: void the hold, re-hold the rest, refund from the escrow.

    The order row is locked; the conditional updates below are the backstop that the sum
    refunded can never exceed what was paid, per line and per order. The refund's key is the
    request's, so a request is refunded at most once whatever path gets here."""
    if not _refundable(order):
        raise Conflict(_("This order can no longer be refunded here."), code="cannot_refund")
    amount = 0
    refunded_units = []
    for item in after_sale.lines.select_related("order_line"):
        line = item.order_line
        line_amount = _line_refund_amount(line, item.quantity)
        changed = OrderLine.objects.filter(
            pk=line.pk, refunded_quantity__lte=line.quantity - item.quantity
        ).update(
            refunded_quantity=F("refunded_quantity") + item.quantity,
            refunded_fen=F("refunded_fen") + line_amount,
        )
        if not changed:
            raise Conflict(_("This line was already refunded."), code="already_refunded")
        amount += line_amount
        refunded_units.append((line, item.quantity))
    changed = Order.objects.filter(pk=order.pk, refunded_fen__lte=order.total_fen - amount).update(
        refunded_fen=F("refunded_fen") + amount
    )
    if not changed:
        raise Conflict(_("That is more than was paid."), code="refund_exceeds_paid")
    remaining = order.net_fen - amount
    _rehold_remainder(order=order, remaining=remaining)
    _refund(
        payment=_payment_of(order.checkout),
        amount=amount,
        key=f"after_sale:{after_sale.public_id}:refund",
        reason="after_sale",
    )
    _set_state(
        after_sale,
        state=AfterSale.State.REFUNDED,
        amount_fen=amount,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_at=clock.now(),
    )
    _record(order, "refunded", actor=actor, note=note or NOTE_REFUND_ACCEPTED)
    _publish(
        "orders.order.refunded", order, amount_fen=amount, after_sale_public_id=after_sale.public_id
    )
    if order.state == Order.State.PAID:
        _unship_refunded_units(order=order, units=refunded_units, nothing_left=remaining == 0)


def _unship_refunded_units(*, order: Order, units, nothing_left: bool) -> None:
    """Refunded before shipping: those units are back in stock, and an order refunded whole is
    cancelled, so the shop no longer sees it to ship. A deal's order took no SKU stock (the
    campaign holds its own), so it gives none back either."""
    if not order.checkout.deal_ref:
        for line, quantity in sorted(units, key=lambda unit: unit[0].sku_id or 0):
            if line.sku_id:
                catalog_services.release_stock(sku_id=line.sku_id, quantity=quantity)
    if nothing_left:
        now = clock.now()
        Order.objects.filter(pk=order.pk, state=Order.State.PAID).update(
            state=Order.State.CANCELLED, cancel_reason=Order.CancelReason.BUYER, cancelled_at=now
        )
        order.state = Order.State.CANCELLED
        _record(order, "cancelled", note=NOTE_REFUNDED_BEFORE_SHIPPING)
        _publish("orders.order.cancelled", order, reason=Order.CancelReason.BUYER)


def _rehold_remainder(*, order: Order, remaining: int) -> None:
    _void_current_hold(order)
    version = order.hold_version + 1
    if remaining > 0:
        transfer(
            key=_hold_key(order, version),
            debit=_escrow(_payment_of(order.checkout)),
            credit=_merchant_account(order.shop, AccountKind.MERCHANT_PENDING),
            amount=remaining,
            reason="order_hold",
            cause=order.ref,
            pending=True,
        )
    Order.objects.filter(pk=order.pk).update(hold_version=version, has_hold=remaining > 0)
    order.hold_version, order.has_hold = version, remaining > 0


# --- after-sale deadlines (settle_due handler) ---


def settle_after_sale_deadlines(now) -> int:
    """Decide every open request whose ``due_at`` has passed. Claims the requests' checkouts with
    SKIP LOCKED (checkout first, as on every money path), a small batch per transaction, then
    re-reads each request under its lock: running twice, or in several workers at once, decides
    each request once and refunds it at most once."""
    settled = 0
    while True:
        with transaction.atomic():
            due = AfterSale.objects.filter(
                order__checkout=OuterRef("pk"),
                state__in=AfterSale.DEADLINE_STATES,
                due_at__lte=now,
            )
            batch = list(
                Checkout.objects.select_for_update(skip_locked=True)
                .filter(Exists(due))
                .order_by("pk")[:SETTLE_BATCH_SIZE]
            )
            for checkout_row in batch:
                settled += _settle_due_in_checkout(checkout_row=checkout_row, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return settled


def _settle_due_in_checkout(*, checkout_row: Checkout, now) -> int:
    _lock_payment_of(checkout_row)
    settled = 0
    orders = (
        Order.objects.select_for_update(of=("self",))
        .select_related("shop", "checkout")
        .filter(checkout=checkout_row)
        .order_by("pk")
    )
    for order in orders:
        for after_sale in AfterSale.objects.select_for_update().filter(
            order=order, state__in=AfterSale.DEADLINE_STATES, due_at__lte=now
        ):
            _settle_due_after_sale(after_sale=after_sale, order=order)
            settled += 1
    return settled


def _settle_due_after_sale(*, after_sale: AfterSale, order: Order) -> None:
    if after_sale.state == AfterSale.State.ACCEPTED:
        # The buyer never sent the goods back: the request ends without a refund.
        _set_state(after_sale, state=AfterSale.State.CLOSED, decided_at=clock.now())
        _record(order, "after_sale_expired")
        return
    if not _refundable(order):
        # Cancelled (and refunded in full) meanwhile: nothing is left to decide.
        _set_state(after_sale, state=AfterSale.State.CLOSED, decided_at=clock.now())
        _record(order, "after_sale_void", note=NOTE_NOTHING_TO_REFUND)
        return
    if after_sale.state == AfterSale.State.RETURN_SHIPPED:
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=None,
            note=NOTE_AUTO_REFUND_RETURN,
        )
    elif after_sale.kind == AfterSale.Kind.REFUND_ONLY and order.state == Order.State.PAID:
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=None,
            note=NOTE_AUTO_REFUND_NO_ANSWER,
        )
    else:
        _escalate(
            after_sale=after_sale,
            order=order,
            cause=AfterSale.Escalation.NO_ANSWER,
            actor=None,
            kind="after_sale_auto_escalated",
        )


# --- deal orders (the deals app drives them) -------------------------------------------------
#
# A deal (group seat, bargain, pledge, flash sale) buys through one checkout with one order and
# one payment, like the cart, but the deal owns its stock, its unpaid deadline and its outcome.
# Lock order, extending the one above: the deal's per-buyer rows first (group, seat, bargain,
# pledge), then checkout, payment, order, and last the rows every buyer of a campaign contends
# for (campaign stock, tier and project counters, ledger accounts, SKU stock), each changed by a
# conditional UPDATE as late in the transaction as possible so the hot row is held only until
# the commit. Deals call these with their per-buyer rows locked.

DEAL_OWNED_STATES = (Order.State.PENDING_PAYMENT, Order.State.AWAITING_DEAL)


def place_deal_order(
    *,
    buyer,
    shop: Shop,
    title: str,
    unit_price_fen: int,
    quantity: int,
    deal_ref: str,
    expires_at,
    address: Address,
    sku: SKU | None = None,
    product_public_id: str = "",
    options: dict | None = None,
) -> Order:
    """A checkout with one order for a deal, and a payment for its total, shipped to a copy of
    ``address`` (one of the buyer's, see ``buyer_address``) exactly as a cart checkout copies it.

    No SKU stock is reserved: the deal holds its own. A free order (total 0, a bargain down to
    nothing) has no payment and is paid at once. The buyer pays at ``selectors.pay_url``; the
    deals app hears the payment's events and calls ``settle_deal_payment``."""
    _require_user(buyer)
    if shop.owner_id == buyer.pk:
        raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
    quantity = _quantity(quantity)
    unit_price_fen = int(unit_price_fen)
    if unit_price_fen < 0 or not deal_ref:
        raise ValidationFailed(code="invalid_deal_order")
    if address is None or address.user_id != buyer.pk:
        raise NotFound(_("No such address."), code="address_not_found")
    shipping = address_services.address_snapshot(address)
    total = unit_price_fen * quantity
    now = clock.now()
    with transaction.atomic():
        checkout_row = Checkout.objects.create(
            buyer=buyer, total_fen=total, deal_ref=deal_ref, expires_at=expires_at, created_at=now
        )
        order = Order.objects.create(
            checkout=checkout_row,
            buyer=buyer,
            shop=shop,
            subtotal_fen=total,
            total_fen=total,
            reservation_expires_at=expires_at,
            created_at=now,
            delivery_method=Order.DeliveryMethod.DELIVERY,
            **shipping,
        )
        OrderLine.objects.create(
            order=order,
            sku=sku,
            product_public_id=product_public_id or (sku.product.public_id if sku else ""),
            title=title,
            options=options or (sku.options if sku else {}),
            unit_price_fen=unit_price_fen,
            quantity=quantity,
            paid_fen=total,
        )
        _record(order, "placed", actor=buyer)
        if total:
            payment = payments.create_payment(
                payer=buyer,
                amount=total,
                reference=checkout_row.reference,
                description=str(_("Shoploop order %(ids)s") % {"ids": order.public_id}),
                idempotency_key=checkout_row.reference,
            )
            checkout_row.payment_public_id = payment.public_id
            checkout_row.save(update_fields=["payment_public_id"])
        else:
            Order.objects.filter(pk=order.pk).update(state=Order.State.PAID, paid_at=now)
            order.state, order.paid_at = Order.State.PAID, now
            _record(order, "paid", note=str(_("Free: nothing to pay.")))
        _publish(
            "orders.order.placed",
            order,
            checkout_public_id=checkout_row.public_id,
            deal_ref=deal_ref,
        )
        if not total:
            _publish("orders.order.paid", order)
    return order


def settle_deal_payment(*, order: Order, accept: bool, await_deal: bool = False) -> str:
    """The deal's answer to a captured payment for its order, exactly once.

    ``accept``: the money is held toward the shop and the order becomes ``awaiting_deal`` (if
    ``await_deal``) or ``paid``. Otherwise (the seat is gone, the deal closed) the order is
    cancelled and the payment refunded in full. A payment for an order already cancelled is
    refunded. Returns "paid", "awaiting", "refunded", "not_captured" or "unchanged"."""
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        payment = _lock_payment_of(checkout_row)
        order = _locked(order)
        # A capture after the payment was closed is refunded by the ledger itself (its state
        # stays closed); only a payment that succeeded is the deal's to settle.
        if (
            payment is None
            or payment.state != Payment.State.SUCCEEDED
            or payment.captured_fen != checkout_row.total_fen
        ):
            return "not_captured"
        if order.state == Order.State.PENDING_PAYMENT and accept:
            state = Order.State.AWAITING_DEAL if await_deal else Order.State.PAID
            _mark_paid(order=order, payment=payment, state=state)
            return "awaiting" if await_deal else "paid"
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=Order.CancelReason.DEAL_FAILED, actor=None)
            order.refresh_from_db()
        if order.state == Order.State.CANCELLED and order.paid_at is None:
            if order.refunded_fen == order.total_fen:
                return "unchanged"
            _refund_late_payment(order=order, payment=payment)
            return "refunded"
        return "unchanged"


def confirm_deal_order(*, order: Order) -> bool:
    """The deal succeeded: its held order goes to the shop to be shipped. Idempotent."""
    changed = Order.objects.filter(pk=order.pk, state=Order.State.AWAITING_DEAL).update(
        state=Order.State.PAID
    )
    if changed:
        order.state = Order.State.PAID
        _record(order, "deal_succeeded")
        _publish("orders.order.paid", order)
    return bool(changed)


def cancel_deal_order(*, order: Order, reason: str = Order.CancelReason.DEAL_FAILED, actor=None):
    """The deal ends this order (failed group, expired seat, cancelled pledge, unpaid flash-sale
    reservation): an unpaid order is cancelled with its payment; a held one is voided and
    refunded in full, exactly once. No SKU stock moves: the deal returns its own stock.
    Returns True if this call cancelled the order."""
    with transaction.atomic():
        checkout_row = Checkout.objects.select_for_update().get(pk=order.checkout_id)
        _lock_payment_of(checkout_row)
        order = _locked(order)
        if order.state == Order.State.PENDING_PAYMENT:
            _cancel_unpaid(order=order, reason=reason, actor=actor, release_stock=False)
            if checkout_row.payment_public_id:
                _cancel_payment_if_nothing_left(checkout_row)
            return True
        if order.state in (Order.State.AWAITING_DEAL, Order.State.PAID):
            _cancel_paid(
                order=order,
                reason=reason,
                actor=actor,
                checkout_row=checkout_row,
                release_stock=False,
            )
            return True
        return False


# --- deadlines (settle_due handlers) ----------------------------------------------------------


def expire_unpaid_checkouts(now) -> int:
    """Cancel orders whose reservation ran out unpaid: stock and coupons back, payment canceled."""
    expired = 0
    while True:
        with transaction.atomic():
            pending = Order.objects.filter(
                checkout=OuterRef("pk"), state=Order.State.PENDING_PAYMENT
            )
            batch = list(
                Checkout.objects.select_for_update(skip_locked=True)
                .filter(Exists(pending), expires_at__lte=now, deal_ref="")
                .order_by("expires_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for checkout_row in batch:
                payment = _lock_payment_of(checkout_row)
                if payment.state == Payment.State.SUCCEEDED:
                    # Its "ledger.payment.succeeded" was lost (a crashed subscriber): settle it now
                    # instead of cancelling orders the buyer has paid for.
                    _settle_captured_payment(checkout_row=checkout_row, payment=payment)
                    continue
                expired += _cancel_unpaid_orders(
                    checkout_row=checkout_row, reason=Order.CancelReason.EXPIRED, actor=None
                )
                _cancel_payment_if_nothing_left(checkout_row)
        if len(batch) < SETTLE_BATCH_SIZE:
            return expired


def auto_receive_shipped(now) -> int:
    """Orders shipped ``ORDER_AUTO_RECEIVE_DAYS`` ago count as received."""
    cutoff = now - timedelta(days=auto_receive_days())
    received = 0
    while True:
        with transaction.atomic():
            batch = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(state=Order.State.SHIPPED, shipped_at__lte=cutoff)
                .order_by("shipped_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for order in batch:
                received += _mark_received(order=order, actor=None, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return received


def complete_due_orders(now) -> int:
    """Complete received orders whose after-sale window closed with nothing open."""
    cutoff = now - timedelta(days=after_sale_days())
    completed = 0
    open_after_sale = AfterSale.objects.filter(
        order=OuterRef("pk"), state__in=AfterSale.OPEN_STATES
    )
    while True:
        with transaction.atomic():
            batch = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(state=Order.State.RECEIVED, received_at__lte=cutoff)
                .filter(~Exists(open_after_sale))
                .order_by("received_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for order in batch:
                completed += complete_order(order=order, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return completed
