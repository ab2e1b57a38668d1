"""Shared by every part of the orders services: settings, constants, checks, the order's
history and its events."""

import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import (
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish, publish_many
from shoploop.orders.models import (
    MAX_QUANTITY,
    MIN_QUANTITY,
    Order,
    OrderEvent,
    OrderLine,
)

logger = logging.getLogger("shoploop.orders.services")

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


DEAL_OWNED_STATES = (Order.State.PENDING_PAYMENT, Order.State.AWAITING_DEAL)


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


def _record_many(orders: list[Order], kind: str) -> None:
    """``_record`` for several orders at once (a group's members), in one INSERT."""
    OrderEvent.objects.bulk_create(OrderEvent(order=order, kind=kind) for order in orders)


def _publish(name: str, order: Order, **extra) -> None:
    """An ``orders.order.*`` or ``orders.after_sale.*`` event: every event of an order belongs to
    the order's aggregate, so it is delivered in order."""
    publish(
        name,
        aggregate=f"orders.order:{order.public_id}",
        **_order_payload(order),
        **(_paid_lines(order) if name == "orders.order.paid" else {}),
        **extra,
    )


def _publish_paid_many(orders: list[Order]) -> None:
    """``orders.order.paid`` for several orders at once: their lines in one read, their events
    in one INSERT (each still the order's own aggregate, as ``_publish`` names it)."""
    lines = _paid_lines_of([order.pk for order in orders])
    publish_many(
        "orders.order.paid",
        [{**_order_payload(order), "lines": lines.get(order.pk, [])} for order in orders],
    )


def _order_payload(order: Order) -> dict:
    return {
        "order_public_id": order.public_id,
        "buyer_public_id": order.buyer.public_id,
        "shop_public_id": order.shop.public_id,
        "total_fen": order.total_fen,
    }


def _paid_lines(order: Order) -> dict:
    """What a paid order bought, for insights' segments (category and price band by line)."""
    return {"lines": _paid_lines_of([order.pk]).get(order.pk, [])}


def _paid_lines_of(order_ids: list[int]) -> dict[int, list[dict]]:
    """``_paid_lines`` of several orders, in one read: their lines by order id."""
    lines = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "pk")
        .values_list(
            "order_id", "product_public_id", "sku__product__category", "quantity", "paid_fen"
        )
    )
    by_order: dict[int, list[dict]] = {}
    for order_id, product, category, quantity, paid_fen in lines:
        by_order.setdefault(order_id, []).append(
            {
                "product_public_id": product,
                "category": category or "other",
                "quantity": quantity,
                "paid_fen": paid_fen,
            }
        )
    return by_order
