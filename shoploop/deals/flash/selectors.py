"""Flash-sale reads: sales with their SKU and product, live counts, a buyer's purchases."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale


def _sales() -> QuerySet[FlashSale]:
    return FlashSale.objects.select_related("shop", "shop__owner", "sku", "sku__product")


def sale_by_public_id(*, public_id: str) -> FlashSale:
    sale = _sales().filter(public_id=str(public_id)[:40]).first()
    if sale is None:
        raise NotFound(_("No such flash sale."), code="flash_sale_not_found")
    return sale


def sku_by_public_id(*, public_id: str) -> SKU:
    sku = (
        SKU.objects.select_related("product", "product__shop")
        .filter(public_id=str(public_id)[:40])
        .first()
    )
    if sku is None:
        raise NotFound(_("No such SKU."), code="sku_not_found")
    return sku


@dataclass(frozen=True)
class SaleCounts:
    stock: int
    available: int
    reserved: int
    sold: int


def _unit_totals() -> dict:
    return {
        "reserved_units": Sum(
            "purchases__quantity", filter=Q(purchases__state=FlashPurchase.State.RESERVED)
        ),
        "sold_units": Sum(
            "purchases__quantity", filter=Q(purchases__state=FlashPurchase.State.PAID)
        ),
    }


def counts(*, sale: FlashSale) -> SaleCounts:
    """Sold and reserved units come from the purchases, so paying never writes the hot row.
    A sale from ``shop_sales`` carries them already; another costs one aggregate query."""
    if hasattr(sale, "reserved_units"):
        reserved, sold = sale.reserved_units, sale.sold_units
    else:
        totals = sale.purchases.aggregate(
            reserved=Sum("quantity", filter=Q(state=FlashPurchase.State.RESERVED)),
            sold=Sum("quantity", filter=Q(state=FlashPurchase.State.PAID)),
        )
        reserved, sold = totals["reserved"], totals["sold"]
    return SaleCounts(
        stock=sale.stock, available=sale.available, reserved=reserved or 0, sold=sold or 0
    )


def current_sale_for_product(*, product, now=None) -> FlashSale | None:
    """The sale a product page shows: running, paused or upcoming, the earliest first."""
    now = now or clock.now()
    return (
        _sales()
        .filter(
            sku__product=product,
            state__in=(FlashSale.State.SCHEDULED, FlashSale.State.PAUSED),
            ends_at__gt=now,
        )
        .order_by("starts_at", "pk")
        .first()
    )


def public_sales(*, now=None) -> QuerySet[FlashSale]:
    """Running and upcoming sales (not paused), for buyers."""
    now = now or clock.now()
    return _sales().filter(state=FlashSale.State.SCHEDULED, ends_at__gt=now).order_by("starts_at")


def live_sales(*, community=None, limit: int = 5, now=None) -> list[FlashSale]:
    """Running and upcoming sales (soonest first) for a home page, or of the products offered
    in ``community``."""
    sales = public_sales(now=now).filter(sku__product__is_published=True)
    if community is not None:
        sales = sales.filter(sku__product__communities=community).distinct()
    return list(sales[:limit])


def shop_sales(*, shop) -> QuerySet[FlashSale]:
    """A merchant's sales with their live counts (reserved and sold units) in the same query."""
    return _sales().filter(shop=shop).annotate(**_unit_totals()).order_by("-created_at", "-pk")


def sale_for_merchant(*, public_id: str, actor) -> FlashSale:
    """A sale with its live counts, for its shop's owner only (anyone else: 403)."""
    sale = _sales().filter(public_id=str(public_id)[:40]).annotate(**_unit_totals()).first()
    if sale is None:
        raise NotFound(_("No such flash sale."), code="flash_sale_not_found")
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if sale.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop's flash sale."), code="not_shop_owner")
    return sale


def buyer_purchases(*, buyer) -> QuerySet[FlashPurchase]:
    return (
        FlashPurchase.objects.select_related("sale", "sale__sku__product", "sale__shop", "order")
        .filter(buyer=buyer)
        .order_by("-created_at", "-pk")
    )


def purchase_for_buyer(*, public_id: str, buyer) -> FlashPurchase:
    purchase = (
        buyer_purchases(buyer=buyer).filter(public_id=str(public_id)[:40]).first()
        if getattr(buyer, "is_authenticated", False)
        else None
    )
    if purchase is None:
        raise NotFound(_("No such flash-sale purchase."), code="flash_purchase_not_found")
    return purchase


def units_left_for(*, sale: FlashSale, user) -> int | None:
    """How many more units this buyer may reserve in the sale (its limit less the units they
    hold, reserved or paid); None for a visitor. The page shows a message instead of the Buy
    button at 0; ``services.buy`` decides under its conditional UPDATE either way."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    bought = (
        FlashQuota.objects.filter(sale=sale, buyer_id=user.pk)
        .values_list("bought", flat=True)
        .first()
    )
    return max(sale.per_user_limit - (bought or 0), 0)


# --- the confirm step -------------------------------------------------------------------------


def buy_quote(*, sale: FlashSale, user, quantity=1, address_id: str = ""):
    """What reserving ``quantity`` units of the sale charges: the sale price each."""
    from shoploop.deals.quotes import build_quote

    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not (1 <= quantity <= sale.per_user_limit)
    ):
        raise ValidationFailed(
            _("You can buy at most %(limit)d of this flash sale.") % {"limit": sale.per_user_limit},
            code="limit_reached",
            fields={"quantity": "limit"},
        )
    return build_quote(
        user=user,
        kind="flash_buy",
        refusal=_buy_refusal(sale=sale, user=user, quantity=quantity),
        title=sale.sku.product.title,
        options=sale.sku.options,
        unit_price_fen=sale.price_fen,
        normal_price_fen=sale.sku.price_fen,
        quantity=quantity,
        address_id=address_id,
    )


def _buy_refusal(*, sale: FlashSale, user, quantity: int) -> str:
    """Why buying now would be refused, as read now (the buy itself decides under its
    conditional UPDATEs): the confirm page says so instead of offering "Confirm and pay"."""
    status = sale.status(clock.now())
    if status == "scheduled":
        return _("This flash sale has not started yet.")
    if status == FlashSale.State.PAUSED:
        return _("This flash sale is paused.")
    if status != "live":
        return _("This flash sale has ended.")
    if sale.available < quantity:
        return _("Sold out. Every unit of this flash sale has been taken.")
    left = units_left_for(sale=sale, user=user)
    if left is not None and left < quantity:
        return _("You can buy at most %(limit)d of this flash sale.") % {
            "limit": sale.per_user_limit
        }
    return ""
