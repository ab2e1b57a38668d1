"""Reads for carts and orders, with what their pages need loaded up front.

Who may see an order: its buyer, its shop's owner, and operators. Unknown → 404; someone else's →
403 (it exists, but not for you).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.catalog.selectors import shop_of
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.orders.models import (
    Address,
    AfterSale,
    Cart,
    CartLine,
    Checkout,
    Order,
    OrderEvent,
)


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
    return Order.objects.select_related(
        "shop", "buyer", "checkout", "pickup_point__community", "pickup_point__leader"
    ).prefetch_related("lines")


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


def buyer_orders(*, buyer, state: str | None = None, tab: str | None = None) -> QuerySet[Order]:
    orders = _order_queryset().filter(buyer=buyer)
    if state in Order.State.values:
        orders = orders.filter(state=state)
    if tab in BUYER_TABS:
        orders = orders.filter(_buyer_tab_filter(tab)).distinct()
    return orders.order_by("-created_at")


# The buyer's shortcuts (待付款, 待发货, 待收货, 待评价, 退款/售后): key → label. The "to review"
# tab holds received orders still inside the after-sale window, until reviews exist.
BUYER_TABS = {
    "to_pay": _("To pay"),
    "to_ship": _("To ship"),
    "to_receive": _("To receive"),
    "to_review": _("To review"),
    "after_sale": _("Refunds & after-sale"),
}


def _buyer_tab_filter(tab: str) -> Q:
    from shoploop.orders.services import after_sale_days

    if tab == "to_pay":
        return Q(state=Order.State.PENDING_PAYMENT)
    if tab == "to_ship":
        # Paid for a deal that is still running counts too: paid, nothing shipped yet.
        return Q(state__in=[Order.State.PAID, Order.State.AWAITING_DEAL])
    if tab == "to_receive":
        return Q(state=Order.State.SHIPPED)
    if tab == "to_review":
        window_start = clock.now() - timedelta(days=after_sale_days())
        return Q(state=Order.State.RECEIVED, received_at__gt=window_start)
    # "after_sale": every order with a request, open or decided (the count shows the open ones).
    return Q(after_sales__isnull=False)


def buyer_tab_counts(*, buyer) -> dict[str, int]:
    """How many of the buyer's orders each shortcut holds, in one query; "after_sale" counts the
    requests still waiting for the shop or the platform (what needs the buyer's attention)."""
    orders = Order.objects.filter(buyer=buyer)
    counts = orders.aggregate(
        **{
            tab: Count("pk", filter=_buyer_tab_filter(tab), distinct=True)
            for tab in BUYER_TABS
            if tab != "after_sale"
        },
        after_sale=Count(
            "after_sales", filter=Q(after_sales__state__in=AfterSale.OPEN_STATES), distinct=True
        ),
    )
    return {tab: counts[tab] for tab in BUYER_TABS}


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
    return shop_orders(shop=shop, state=Order.State.PAID).order_by("paid_at", "pk")


def packing_list(*, shop: Shop, order_ids=()) -> list[Order]:
    """The shop's paid orders to pack: the chosen ones, or all of them if none is chosen."""
    orders = to_ship(shop=shop)
    chosen = [str(order_id)[:40] for order_id in order_ids if order_id][:500]
    if chosen:
        orders = orders.filter(public_id__in=chosen)
    return list(orders[:500])


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


def shop_to_do_counts(*, shop: Shop) -> dict[str, int]:
    """What waits for the merchant: paid orders to ship, after-sale requests to answer."""
    return {
        "to_ship": to_ship(shop=shop).count(),
        "after_sales": AfterSale.objects.filter(
            order__shop=shop, state=AfterSale.State.REQUESTED
        ).count(),
    }


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


def payment_is_open(*, checkout: Checkout) -> bool:
    """The checkout's current payment attempt can still be paid at the cashier."""
    from shoploop.ledger.models import Payment

    return payment_of(checkout=checkout).state == Payment.State.REQUIRES_PAYMENT


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


# --- address book -----------------------------------------------------------------------------


def addresses_of(*, user) -> QuerySet[Address]:
    if user is None or not user.is_authenticated:
        raise NotAuthenticated()
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def address_of(*, user, public_id) -> Address:
    """One of the user's addresses; someone else's is "not found" (its existence is private)."""
    found = addresses_of(user=user).filter(public_id=str(public_id or "")[:40]).first()
    if found is None:
        raise NotFound(_("No such address."), code="address_not_found")
    return found


def default_address(*, user) -> Address | None:
    return addresses_of(user=user).first()


# --- checkout quote ---------------------------------------------------------------------------


@dataclass
class QuoteGroup:
    """One shop's part of a quote: its lines, the coupon applied and what it will cost."""

    shop: Shop
    lines: list[CartLineView]
    subtotal_fen: int
    coupon_choices: list = field(default_factory=list)
    coupon_claim_id: str = ""
    discount_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.subtotal_fen - self.discount_fen


@dataclass
class CheckoutQuote:
    """What "confirm" would charge, computed as the checkout computes it; nothing is reserved."""

    groups: list[QuoteGroup]
    delivery_method: str
    address: Address | None
    addresses: list[Address]
    # The pickup points this buyer may choose (empty when a shop of the cart does not offer
    # pickup) and the chosen one (delivery_method "pickup").
    pickup_points: list = field(default_factory=list)
    pickup_point: object = None
    # Shops of the cart that do not offer pickup, named on the page.
    no_pickup_shops: list = field(default_factory=list)

    @property
    def subtotal_fen(self) -> int:
        return sum(group.subtotal_fen for group in self.groups)

    @property
    def discount_fen(self) -> int:
        return sum(group.discount_fen for group in self.groups)

    @property
    def total_fen(self) -> int:
        return sum(group.total_fen for group in self.groups)

    @property
    def coupons(self) -> dict[str, str]:
        return {g.shop.public_id: g.coupon_claim_id for g in self.groups if g.coupon_claim_id}

    @property
    def can_confirm(self) -> bool:
        if self.delivery_method == Order.DeliveryMethod.PICKUP:
            return bool(self.groups) and self.pickup_point is not None
        return bool(self.groups) and self.address is not None


def checkout_quote(
    *,
    buyer,
    coupons: dict | None = None,
    address_public_id: str = "",
    delivery_method: str = Order.DeliveryMethod.DELIVERY,
    pickup_point_public_id: str = "",
) -> CheckoutQuote:
    """The confirm step: the cart's lines by shop, each shop's coupon with its discount already
    in the total, the delivery method and the address (the default unless one is chosen).

    ``coupons=None`` preselects each shop's best usable coupon; a dict is the buyer's choice
    ({shop id: claim id}, "" for none) and a claim that cannot be used raises its DomainError, as
    the checkout would. A line that cannot be bought raises as the checkout would."""
    from shoploop.coupons import selectors as coupon_selectors
    from shoploop.coupons import services as coupon_services
    from shoploop.orders import address_services, services

    if buyer is None or not buyer.is_authenticated:
        raise NotAuthenticated()
    delivery_method = services.clean_delivery_method(delivery_method)
    chosen = None if coupons is None else services.clean_coupons(coupons)
    cart = cart_view(user=buyer)
    if cart.is_empty:
        raise ValidationFailed(_("Your cart is empty."), code="cart_empty")
    lines = [item.line for group in cart.groups for item in group.lines]
    services.group_by_shop(buyer=buyer, lines=lines, coupons=chosen or {})
    for group in cart.groups:
        for item in group.lines:
            if item.problem:
                raise Conflict(item.problem, code="cart_line_unavailable")
    groups = []
    for group in cart.groups:
        subtotal = group.subtotal_fen
        choices = coupon_selectors.usable_claims(user=buyer, shop=group.shop, subtotal_fen=subtotal)
        if chosen is None:
            claim_id = choices[0].public_id if choices else ""
        else:
            claim_id = chosen.get(group.shop.public_id, "")
        discount = 0
        if claim_id:
            discount = services.capped_discount(
                discount=coupon_services.quote(
                    claim_public_id=claim_id, user=buyer, shop=group.shop, subtotal_fen=subtotal
                ),
                subtotal=subtotal,
            )
        groups.append(
            QuoteGroup(
                shop=group.shop,
                lines=group.lines,
                subtotal_fen=subtotal,
                coupon_choices=choices,
                coupon_claim_id=claim_id,
                discount_fen=discount,
            )
        )
    addresses = list(addresses_of(user=buyer))
    if address_public_id:
        address = address_services.own_address(user=buyer, address_public_id=address_public_id)
    else:
        address = addresses[0] if addresses else None
    quote = CheckoutQuote(
        groups=groups, delivery_method=delivery_method, address=address, addresses=addresses
    )
    _add_pickup_choice(quote, buyer=buyer, pickup_point_public_id=pickup_point_public_id)
    return quote


def _add_pickup_choice(quote: CheckoutQuote, *, buyer, pickup_point_public_id: str) -> None:
    """The points the buyer may pick up at, if every shop of the cart offers pickup; a pickup
    chosen where it is not possible raises as the checkout would."""
    from shoploop.orders import pickup_selectors, services

    quote.no_pickup_shops = [
        group.shop
        for group in quote.groups
        if not services.shop_pickup_settings(shop=group.shop).offers_pickup
    ]
    if not quote.no_pickup_shops:
        quote.pickup_points = list(pickup_selectors.points_for_buyer(user=buyer))
    if quote.delivery_method != Order.DeliveryMethod.PICKUP:
        return
    quote.pickup_point = services.pickup_destination(
        buyer=buyer, point_public_id=pickup_point_public_id
    )
    if quote.no_pickup_shops:
        raise Conflict(
            _("%(shop)s does not offer pickup; choose delivery to an address.")
            % {"shop": quote.no_pickup_shops[0].name},
            code="pickup_not_offered",
        )
