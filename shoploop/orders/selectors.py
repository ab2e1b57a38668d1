"""Reads for carts and orders, with what their pages need loaded up front.

Who may see an order: its buyer, its shop's owner, and operators. Unknown → 404; someone else's →
403 (it exists, but not for you).
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.catalog.selectors import shop_of
from shoploop.core.errors import NotAuthenticated, NotFound, PermissionDenied
from shoploop.orders.models import AfterSale, Cart, CartLine, Checkout, Order, OrderEvent


@dataclass
class CartLineView:
    line: CartLine
    unit_price_fen: int
    line_total_fen: int
    available: bool
    problem: str = ""

    @property
    def sku(self):
        return self.line.sku


@dataclass
class CartShopGroup:
    shop: Shop
    lines: list[CartLineView] = field(default_factory=list)
    coupon_choices: list = field(default_factory=list)

    @property
    def subtotal_fen(self) -> int:
        return sum(item.line_total_fen for item in self.lines if item.available)


@dataclass
class CartView:
    groups: list[CartShopGroup]

    @property
    def total_fen(self) -> int:
        return sum(group.subtotal_fen for group in self.groups)

    @property
    def count(self) -> int:
        return sum(item.line.quantity for group in self.groups for item in group.lines)

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def can_check_out(self) -> bool:
        return bool(self.groups) and all(
            item.available for group in self.groups for item in group.lines
        )


def _line_problem(line: CartLine) -> str:
    sku = line.sku
    product = sku.product
    if not (sku.is_active and product.is_published and product.shop.is_approved):
        return str(_("No longer on sale."))
    if line.quantity > sku.stock:
        return str(_("Only %(stock)d left.") % {"stock": sku.stock})
    return ""


def cart_view(*, user=None, session_key: str | None = None) -> CartView:
    """The cart with today's prices (the server computes every price; nothing comes from the
    client), grouped by shop."""
    if user is not None and user.is_authenticated:
        cart = Cart.objects.filter(user=user).first()
    elif session_key:
        cart = Cart.objects.filter(session_key=session_key).first()
    else:
        cart = None
    if cart is None:
        return CartView(groups=[])
    lines = cart.lines.select_related("sku", "sku__product", "sku__product__shop").prefetch_related(
        "sku__product__images"
    )
    groups: dict[int, CartShopGroup] = {}
    for line in lines:
        shop = line.sku.product.shop
        problem = _line_problem(line)
        groups.setdefault(shop.pk, CartShopGroup(shop=shop)).lines.append(
            CartLineView(
                line=line,
                unit_price_fen=line.sku.price_fen,
                line_total_fen=line.sku.price_fen * line.quantity,
                available=not problem,
                problem=problem,
            )
        )
    return CartView(groups=list(groups.values()))


def _order_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("shop", "buyer", "checkout").prefetch_related("lines")


def order_by_public_id(*, public_id: str) -> Order:
    order = _order_queryset().filter(public_id=str(public_id)).first()
    if order is None:
        raise NotFound(_("No such order."), code="order_not_found")
    return order


def order_for_viewer(*, public_id: str, viewer) -> Order:
    """The order for its buyer, its shop's owner or an operator."""
    if viewer is None or not viewer.is_authenticated:
        raise NotAuthenticated()
    order = order_by_public_id(public_id=public_id)
    if viewer.pk not in (order.buyer_id, order.shop.owner_id) and not viewer.is_staff:
        raise PermissionDenied(_("This is not your order."), code="not_your_order")
    return order


def order_detail(*, public_id: str, viewer) -> Order:
    order = order_for_viewer(public_id=public_id, viewer=viewer)
    order.timeline = list(order.events.select_related("actor").order_by("created_at", "id"))
    order.after_sale_list = list(
        order.after_sales.prefetch_related("lines", "lines__order_line").order_by("-created_at")
    )
    return order


def buyer_orders(*, buyer, state: str | None = None) -> QuerySet[Order]:
    orders = _order_queryset().filter(buyer=buyer)
    if state in Order.State.values:
        orders = orders.filter(state=state)
    return orders.order_by("-created_at")


def merchant_shop(*, user) -> Shop:
    shop = shop_of(user=user)
    if shop is None:
        raise PermissionDenied(_("You do not have a shop."), code="no_shop")
    return shop


def shop_orders(*, shop: Shop, state: str | None = None) -> QuerySet[Order]:
    orders = _order_queryset().filter(shop=shop)
    if state in Order.State.values:
        orders = orders.filter(state=state)
    return orders.order_by("-created_at")


def to_ship(*, shop: Shop) -> QuerySet[Order]:
    return shop_orders(shop=shop, state=Order.State.PAID).order_by("paid_at")


def after_sale_for_viewer(*, public_id: str, viewer) -> AfterSale:
    if viewer is None or not viewer.is_authenticated:
        raise NotAuthenticated()
    after_sale = (
        AfterSale.objects.select_related("order", "order__shop", "order__buyer")
        .prefetch_related("lines", "lines__order_line", "photos")
        .filter(public_id=str(public_id))
        .first()
    )
    if after_sale is None:
        raise NotFound(_("No such after-sale request."), code="after_sale_not_found")
    order = after_sale.order
    if viewer.pk not in (order.buyer_id, order.shop.owner_id) and not viewer.is_staff:
        raise PermissionDenied(_("This is not your after-sale request."), code="not_your_order")
    return after_sale


def shop_after_sales(*, shop: Shop, open_only: bool = True) -> QuerySet[AfterSale]:
    """The shop's requests; ``open_only``: those waiting for the shop or the buyer (not the
    platform), the most urgent deadline first."""
    queryset = AfterSale.objects.select_related(
        "order", "order__shop", "order__buyer"
    ).prefetch_related(Prefetch("lines"), "lines__order_line", "photos")
    queryset = queryset.filter(order__shop=shop)
    if open_only:
        return queryset.filter(state__in=AfterSale.DEADLINE_STATES).order_by("due_at", "pk")
    return queryset.order_by("-created_at")


def return_address_for(*, after_sale: AfterSale) -> str:
    """The shop's return address, once the shop accepted the return (not before)."""
    if after_sale.kind != AfterSale.Kind.RETURN_AND_REFUND or after_sale.accepted_at is None:
        return ""
    return after_sale.order.shop.return_address


def can_escalate_after_sale(*, after_sale: AfterSale) -> bool:
    """A rejected request may go to the platform while after-sale is still possible."""
    from shoploop.orders.services import after_sale_possible

    return after_sale.state == AfterSale.State.REJECTED and after_sale_possible(after_sale.order)


def escalated_after_sales() -> QuerySet[AfterSale]:
    """The operators' queue: escalated requests, the longest waiting first."""
    return (
        AfterSale.objects.filter(state=AfterSale.State.ESCALATED)
        .select_related("order", "order__shop", "order__buyer")
        .order_by("escalated_at", "pk")
    )


def checkout_for_buyer(*, public_id: str, buyer) -> Checkout:
    found = Checkout.objects.filter(public_id=str(public_id)).first()
    if found is None:
        raise NotFound(_("No such checkout."), code="checkout_not_found")
    if found.buyer_id != buyer.pk:
        raise PermissionDenied(_("This is not your checkout."), code="not_your_order")
    return found


def timeline(*, order: Order) -> QuerySet[OrderEvent]:
    return order.events.select_related("actor").order_by("created_at", "id")


def payment_of(*, checkout: Checkout):
    from shoploop.ledger.services import payments

    return payments.payment_by_public_id(public_id=checkout.payment_public_id)


def pay_url(*, checkout: Checkout, next_url: str | None = None) -> str:
    """Where the buyer pays (the sandbox cashier, or the real provider's page). The in-app cashier
    is told to come back to ``next_url`` (default: the buyer's orders) afterwards."""
    from shoploop.ledger.services import payments

    url = payments.payment_start_url(payment_of(checkout=checkout))
    if url.startswith("/"):
        url = f"{url}?{urlencode({'next': next_url or reverse('orders:list')})}"
    return url


def deal_order_for_payment(*, reference: str) -> Order | None:
    """The order of a deal checkout paid by a payment with this reference ("checkout:<id>"), or
    None when the reference is not a deal's (cart checkouts are settled by orders itself)."""
    if not isinstance(reference, str) or not reference.startswith("checkout:"):
        return None
    return (
        Order.objects.select_related("checkout", "shop")
        .filter(checkout__public_id=reference.removeprefix("checkout:")[:40])
        .exclude(checkout__deal_ref="")
        .first()
    )


def can_request_after_sale(*, order: Order) -> bool:
    """Paid, shipped, or received inside the window; nothing open and something to refund."""
    from shoploop.orders.services import after_sale_possible

    if not after_sale_possible(order):
        return False
    if order.after_sales.filter(state__in=AfterSale.OPEN_STATES).exists():
        return False
    return any(line.refundable_quantity for line in order.lines.all())
