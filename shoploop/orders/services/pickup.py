"""Pickup points (自提点) and shops' pickup settings: a community's 团长 runs a point, members
choose it at checkout instead of delivery. Collection (which is receipt) lives in
``fulfilment.collect_pickup``; this module comes before ``placement``, which asks it where a
pickup order goes."""

import secrets

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import Shop
from shoploop.communities import leader_services
from shoploop.communities import selectors as community_selectors
from shoploop.communities.models import Community
from shoploop.core import clock
from shoploop.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.events import publish
from shoploop.core.text import clean_text
from shoploop.orders.models import (
    PICKUP_ADDRESS_MAX_LENGTH,
    PICKUP_HOURS_MAX_LENGTH,
    PICKUP_NAME_MAX_LENGTH,
    Order,
    PickupPoint,
    ShopPickupSettings,
)
from shoploop.orders.services._base import _require_user

# Codes avoid look-alikes (0/O, 1/I/L) so one read aloud or typed from a screen is right.
PICKUP_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PICKUP_CODE_LENGTH = 8
MAX_LEADER_COMMISSION_FEN = 100_000  # ¥1,000 per order: a typo guard, not a business rule
PICKUP_PREFIX = "pickup:"


def new_pickup_code() -> str:
    return "".join(secrets.choice(PICKUP_CODE_ALPHABET) for _ in range(PICKUP_CODE_LENGTH))


def normalize_pickup_code(value) -> str:
    """What the 团长 typed or scanned: spaces and dashes dropped, capitals."""
    text = str(value or "")[:40]
    return "".join(ch for ch in text if ch not in " -\t").upper()


# --- points -----------------------------------------------------------------------------------


def _clean_point_fields(*, name, address, hours) -> dict:
    return {
        "name": clean_text(name, field="name", max_length=PICKUP_NAME_MAX_LENGTH, required=True),
        "address": clean_text(
            address, field="address", max_length=PICKUP_ADDRESS_MAX_LENGTH, required=True
        ),
        "hours": clean_text(
            hours, field="hours", max_length=PICKUP_HOURS_MAX_LENGTH, required=True
        ),
    }


def create_pickup_point(
    *, actor, community: Community, name, address, hours, is_active: bool = True
) -> PickupPoint:
    """A 团长 of ``community`` opens a pickup point that they run."""
    _require_user(actor)
    leader_services.require_leader(user=actor, community=community)
    fields = _clean_point_fields(name=name, address=address, hours=hours)
    with transaction.atomic():
        point = PickupPoint.objects.create(
            community=community, leader=actor, is_active=bool(is_active), **fields
        )
        publish(
            "orders.pickup_point.created",
            aggregate=f"orders.pickup_point:{point.public_id}",
            pickup_point_public_id=point.public_id,
            community_public_id=community.public_id,
            leader_public_id=actor.public_id,
        )
    return point


def update_pickup_point(
    *, actor, point: PickupPoint, name, address, hours, is_active: bool
) -> PickupPoint:
    """Its 团长 changes the point; ``is_active=False`` stops offering it at checkout (orders
    already on their way there are still handed over)."""
    require_point_leader(actor=actor, point=point, allow_operator=False)
    fields = _clean_point_fields(name=name, address=address, hours=hours)
    with transaction.atomic():
        PickupPoint.objects.filter(pk=point.pk).update(is_active=bool(is_active), **fields)
        point.refresh_from_db()
        publish(
            "orders.pickup_point.updated",
            aggregate=f"orders.pickup_point:{point.public_id}",
            pickup_point_public_id=point.public_id,
            is_active=point.is_active,
        )
    return point


def require_point_leader(*, actor, point: PickupPoint, allow_operator: bool = True) -> None:
    """The point's own 团长, still a leader of its community (or an operator, where allowed)."""
    _require_user(actor)
    if allow_operator and actor.is_staff:
        return
    if point.leader_id != actor.pk or not community_selectors.is_leader(
        user=actor, community=point.community
    ):
        raise PermissionDenied(
            _("Only this pickup point's group leader can do that."), code="not_point_leader"
        )


# --- the buyer's choice -----------------------------------------------------------------------


def pickup_destination(*, buyer, point_public_id) -> PickupPoint:
    """The pickup point a buyer chose: active, its 团长 still a leader, and the buyer an active
    member of its community. Anything else is ``pickup_point_not_found`` (404), read before any
    lock so a refused choice takes nothing."""
    _require_user(buyer)
    from shoploop.orders import pickup_selectors

    if not point_public_id:
        raise ValidationFailed(
            _("Choose a pickup point."),
            code="pickup_point_required",
            fields={"pickup_point_id": "required"},
        )
    point = (
        pickup_selectors.points_for_buyer(user=buyer)
        .filter(public_id=str(point_public_id)[:40])
        .first()
    )
    if point is None:
        raise NotFound(
            _("No such pickup point in your communities."), code="pickup_point_not_found"
        )
    return point


def pickup_fields(*, point: PickupPoint) -> dict:
    """An order's delivery fields for a pickup at ``point`` (no address copy)."""
    return {
        "delivery_method": Order.DeliveryMethod.PICKUP,
        "pickup_point": point,
        "pickup_leader_id": point.leader_id,
    }


def pickup_order_fields(*, shop: Shop, buyer, point: PickupPoint, total_fen: int) -> dict:
    """Per order at checkout: the shop must offer pickup; the order gets its code and the
    commission it owes the 团长, snapshotted (never more than the order; none on the leader's
    own order, so a 团长 cannot pay themself)."""
    settings_row = shop_pickup_settings(shop=shop)
    if not settings_row.offers_pickup:
        raise Conflict(
            _("%(shop)s does not offer pickup; choose delivery to an address.")
            % {"shop": shop.name},
            code="pickup_not_offered",
            fields={"shop_id": shop.public_id},
        )
    commission = 0 if buyer.pk == point.leader_id else settings_row.leader_commission_fen
    return {
        "pickup_code": new_pickup_code(),
        "leader_commission_fen": max(0, min(commission, total_fen)),
    }


# --- shop settings ----------------------------------------------------------------------------


def shop_pickup_settings(*, shop: Shop) -> ShopPickupSettings:
    """The shop's row, or the unsaved defaults (pickup offered, no commission)."""
    found = ShopPickupSettings.objects.filter(shop=shop).first()
    return found or ShopPickupSettings(shop=shop)


def update_shop_pickup_settings(
    *, actor, shop: Shop, offers_pickup: bool, leader_commission_fen
) -> ShopPickupSettings:
    """The shop's owner chooses whether buyers may pick up its orders at community points, and
    the commission per order its 团长 earn (fen). Orders already placed keep theirs."""
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is another shop."), code="not_your_shop")
    if (
        not isinstance(leader_commission_fen, int)
        or isinstance(leader_commission_fen, bool)
        or not 0 <= leader_commission_fen <= MAX_LEADER_COMMISSION_FEN
    ):
        raise ValidationFailed(
            _("The commission must be a whole number of fen between 0 and %(max)d.")
            % {"max": MAX_LEADER_COMMISSION_FEN},
            code="commission_invalid",
            fields={"leader_commission_fen": "invalid"},
        )
    with transaction.atomic():
        row, _created = ShopPickupSettings.objects.update_or_create(
            shop=shop,
            defaults={
                "offers_pickup": bool(offers_pickup),
                "leader_commission_fen": leader_commission_fen,
                "updated_at": clock.now(),
            },
        )
        publish(
            "orders.shop_pickup.updated",
            aggregate=f"catalog.shop:{shop.public_id}",
            shop_public_id=shop.public_id,
            offers_pickup=row.offers_pickup,
            leader_commission_fen=row.leader_commission_fen,
        )
    return row
