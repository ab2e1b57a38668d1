"""What a deal's confirm step shows before anything is taken or charged: the product and its
variant, the price this buyer pays (the leader price for whoever opens a group), the quantity, the
amount to pay and the delivery address (the default unless one is chosen).

One shape for every deal kind, read by the shared confirm page (``deals/confirm.html``) and by
``POST /api/v1/deals/quote``. A read: nothing is reserved; the action itself (open, join, buy,
pledge) decides under its locks and may still refuse (sold out meanwhile).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.orders import address_services, pickup_selectors
from shoploop.orders import selectors as order_selectors
from shoploop.orders import services as order_services
from shoploop.orders.models import Address

# The actions a quote can be asked for, with the id each one takes.
KINDS = ("group_open", "group_join", "bargain_buy", "flash_buy", "pledge")


@dataclass(frozen=True)
class VariantChoice:
    """One variant a buyer may choose (a group campaign of several SKUs): the SKU's public id,
    its options, the price this buyer would pay for it and the units left."""

    sku_id: str
    options: dict
    unit_price_fen: int
    stock: int

    @property
    def options_label(self) -> str:
        return " / ".join(str(value) for value in self.options.values())


@dataclass
class DealQuote:
    kind: str
    title: str
    unit_price_fen: int
    quantity: int
    addresses: list[Address]
    address: Address | None
    options: dict = field(default_factory=dict)
    normal_price_fen: int | None = None
    # Why this buyer cannot do it now ("" if they can): the page shows it instead of the button.
    refusal: str = ""
    # A deal of several variants: the choices, and the SKU chosen ("" until one is; the price
    # is then the lowest and nothing can be confirmed).
    variants: list[VariantChoice] = field(default_factory=list)
    sku_id: str = ""
    # The buyer's communities' pickup points, and the one chosen instead of an address (the
    # action's ``address_id`` is then "pickup:<point id>"; see docs/pickup.md).
    pickup_points: list = field(default_factory=list)
    pickup_point: object = None

    @property
    def total_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def options_label(self) -> str:
        return " / ".join(str(value) for value in self.options.values())

    @property
    def needs_variant(self) -> bool:
        return bool(self.variants) and not self.sku_id

    @property
    def can_confirm(self) -> bool:
        destination = self.address is not None or self.pickup_point is not None
        return destination and not self.refusal and not self.needs_variant


def build_quote(
    *,
    user,
    kind: str,
    title: str,
    unit_price_fen: int,
    address_id: str = "",
    quantity: int = 1,
    options: dict | None = None,
    normal_price_fen: int | None = None,
    refusal: str = "",
    variants: list[VariantChoice] | None = None,
    sku_id: str = "",
) -> DealQuote:
    """The buyer's addresses (default first) and the chosen one: ``address_id`` if given (one of
    theirs, else ``address_not_found``), else the default, else None (add one first). An
    ``address_id`` of "pickup:<point id>" chooses one of the buyer's pickup points instead."""
    addresses = list(order_selectors.addresses_of(user=user))
    pickup_point = None
    if address_id.startswith(order_services.PICKUP_PREFIX):
        address = None
        pickup_point = order_services.buyer_address(buyer=user, address_public_id=address_id)
    elif address_id:
        address = address_services.own_address(user=user, address_public_id=address_id)
    else:
        address = addresses[0] if addresses else None
    return DealQuote(
        kind=kind,
        title=title,
        unit_price_fen=unit_price_fen,
        quantity=quantity,
        addresses=addresses,
        address=address,
        options=dict(options or {}),
        normal_price_fen=normal_price_fen,
        refusal=str(refusal or ""),
        variants=list(variants or []),
        sku_id=sku_id,
        pickup_points=list(pickup_selectors.points_for_buyer(user=user)),
        pickup_point=pickup_point,
    )


def quote(
    *, kind: str, target_id: str, user, address_id: str = "", quantity: int = 1, sku_id: str = ""
):
    """The quote of one action on one deal (``KINDS``), for the API. ``sku_id`` chooses the
    variant of a group campaign with several."""
    from shoploop.deals.bargains import selectors as bargains
    from shoploop.deals.crowdfunding import selectors as crowdfunding
    from shoploop.deals.flash import selectors as flash
    from shoploop.deals.groups import selectors as groups

    target_id = str(target_id or "")[:40]
    if kind == "group_open":
        campaign = groups.campaign_by_public_id(public_id=target_id)
        return groups.open_quote(campaign=campaign, user=user, address_id=address_id, sku_id=sku_id)
    if kind == "group_join":
        group = groups.group_by_public_id(public_id=target_id)
        return groups.join_quote(group=group, user=user, address_id=address_id, sku_id=sku_id)
    if kind == "bargain_buy":
        bargain = bargains.bargain_by_public_id(public_id=target_id)
        return bargains.buy_quote(bargain=bargain, user=user, address_id=address_id)
    if kind == "flash_buy":
        sale = flash.sale_by_public_id(public_id=target_id)
        return flash.buy_quote(sale=sale, user=user, quantity=quantity, address_id=address_id)
    if kind == "pledge":
        tier = crowdfunding.tier_by_public_id(public_id=target_id)
        return crowdfunding.pledge_quote(tier=tier, user=user, address_id=address_id)
    raise ValidationFailed(
        _("Unknown kind of deal action."), code="kind_invalid", fields={"kind": "invalid"}
    )


def chosen_or_default(*, quote_of, address_id: str) -> DealQuote:
    """``quote_of(address_id)``, or the default address's quote when the chosen one is gone
    (deleted in another tab): a page then simply shows the default again."""
    try:
        return quote_of(address_id)
    except NotFound as error:
        if error.code not in ("address_not_found", "pickup_point_not_found") or not address_id:
            raise
        return quote_of("")
