"""The cart: a signed-in buyer's or a visitor's (by session), merged at sign-in."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import SKU
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from shoploop.orders.models import (
    MAX_QUANTITY,
    MIN_QUANTITY,
    Cart,
    CartLine,
)
from shoploop.orders.services._base import (
    _quantity,
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
