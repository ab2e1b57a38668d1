"""Group buying (拼团): every write.

Lock order (PostgreSQL, deadlock-free), the same on every path:

    the buyer's campaign row (opens and joins only, ``_lock_buyer``) → group → its seats
    (primary-key order) → orders services (checkout → payment → order → …)
    → campaign stock, then the chosen variant's stock (conditional UPDATEs, the last
    statements) → SKU stock

The per-buyer limit is counted under the lock of the buyer's own row (``GroupBuyer``), the first
row an open or a join locks; paths that free or refund seats never take it (a closed seat simply
stops counting), so they cannot wait on it.

The campaign row is the hot row every buyer of a campaign touches, so it is changed by one
conditional UPDATE placed last in each transaction: its row lock is held only from that statement
to the commit. Nothing else locks a campaign row except ``end_campaign`` (campaign → SKU), so
taking it after the orders' rows cannot deadlock. Stock units follow seats: a seat (reserved or
paid) holds one unit of its variant (and so of the campaign, whose stock is the sum of its
variants'); a freed seat or a failed group gives its units back, a succeeded group keeps them
(they are sold). A variant's row is only ever changed right after its campaign's, in the same
transaction, so the campaign row orders them: no two paths wait on each other.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import SKU, Shop
from shoploop.communities.models import Community, Membership
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish, publish_many
from shoploop.core.ids import new_public_id
from shoploop.core.money import validate_fen
from shoploop.deals import registry
from shoploop.deals.groups.models import (
    DEFAULT_GROUP_MINUTES,
    MAX_GROUP_MINUTES,
    MAX_GROUP_SIZE,
    MIN_GROUP_MINUTES,
    MIN_GROUP_SIZE,
    Group,
    GroupBuyer,
    GroupCampaign,
    GroupCampaignSKU,
    Seat,
)
from shoploop.orders import services as order_services
from shoploop.orders.models import Order

DEAL_PREFIX = "group_seat"
SETTLE_BATCH_SIZE = 50
CLOSE_BATCH_SIZE = 1000  # empty groups closed per conditional UPDATE
MAX_PER_USER_LIMIT = 100
MAX_VARIANTS = 20
LIVE_SEAT_STATES = (Seat.State.RESERVED, Seat.State.PAID)


def seat_hold_minutes() -> int:
    """How long a reserved seat waits for its payment (``SHOPLOOP_GROUP_SEAT_HOLD_MINUTES``)."""
    return settings.DEALS_GROUP_SEAT_HOLD_MINUTES


# --- campaigns (merchant) ---------------------------------------------------------------------


def _require_user(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def _require_owner(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is another shop's campaign."), code="not_your_shop")


def _whole(value, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("This must be a whole number."), fields={field: "not_integer"})
    return value


def _validate_prices(*, sku: SKU, group_price_fen, leader_price_fen) -> tuple[int, int | None]:
    group_price_fen = validate_fen(group_price_fen, field="group_price_fen")
    if group_price_fen >= sku.price_fen:
        raise ValidationFailed(
            _("The group price must be below the normal price."),
            code="group_price_too_high",
            fields={"group_price_fen": "not_below_price"},
        )
    if leader_price_fen is not None:
        leader_price_fen = validate_fen(leader_price_fen, field="leader_price_fen", allow_zero=True)
        if leader_price_fen > group_price_fen:
            raise ValidationFailed(
                _("The leader price cannot be above the group price."),
                code="leader_price_too_high",
                fields={"leader_price_fen": "above_group_price"},
            )
    return group_price_fen, leader_price_fen


def _validate_size_and_time(*, group_size, group_minutes, min_paid_to_complete):
    group_size = _whole(group_size, field="group_size")
    if not MIN_GROUP_SIZE <= group_size <= MAX_GROUP_SIZE:
        raise ValidationFailed(
            _("A group has between %(min)d and %(max)d members.")
            % {"min": MIN_GROUP_SIZE, "max": MAX_GROUP_SIZE},
            code="group_size_out_of_range",
            fields={"group_size": "range"},
        )
    group_minutes = _whole(group_minutes, field="group_minutes")
    if not MIN_GROUP_MINUTES <= group_minutes <= MAX_GROUP_MINUTES:
        raise ValidationFailed(
            _("The time limit per group must be between %(min)d minutes and %(max)d hours.")
            % {"min": MIN_GROUP_MINUTES, "max": MAX_GROUP_MINUTES // 60},
            code="group_time_out_of_range",
            fields={"group_minutes": "range"},
        )
    if min_paid_to_complete is not None:
        min_paid_to_complete = _whole(min_paid_to_complete, field="min_paid_to_complete")
        if not 1 <= min_paid_to_complete < group_size:
            raise ValidationFailed(
                _("K must be at least 1 and smaller than the group size."),
                code="min_paid_out_of_range",
                fields={"min_paid_to_complete": "range"},
            )
    return group_size, group_minutes, min_paid_to_complete


def _validate_window(*, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise ValidationFailed(
            _("Give the campaign's start and end times."),
            code="window_missing",
            fields={"starts_at": "required", "ends_at": "required"},
        )
    if ends_at <= starts_at:
        raise ValidationFailed(
            _("The campaign must end after it starts."),
            code="window_ends_before_start",
            fields={"ends_at": "before_start"},
        )
    if ends_at <= now:
        raise ValidationFailed(
            _("The campaign's end is in the past."),
            code="window_in_past",
            fields={"ends_at": "in_past"},
        )


def _validate_stock(*, sku: SKU, stock, per_user_limit) -> tuple[int, int]:
    stock = _whole(stock, field="stock")
    if stock < 1:
        raise ValidationFailed(
            _("Give the campaign at least one unit of stock."),
            code="stock_too_low",
            fields={"stock": "range"},
        )
    if stock > sku.stock:
        raise ValidationFailed(
            _("The SKU has only %(stock)d units in stock.") % {"stock": sku.stock},
            code="stock_above_sku",
            fields={"stock": "above_sku_stock"},
        )
    return stock, _validate_per_user_limit(per_user_limit)


def _validate_per_user_limit(per_user_limit) -> int:
    per_user_limit = _whole(per_user_limit, field="per_user_limit")
    if not 1 <= per_user_limit <= MAX_PER_USER_LIMIT:
        raise ValidationFailed(
            _("The limit per buyer must be between 1 and 100."),
            code="per_user_limit_out_of_range",
            fields={"per_user_limit": "range"},
        )
    return per_user_limit


@dataclass(frozen=True)
class VariantSpec:
    """One SKU a new campaign sells: its group price, optional leader price and units."""

    sku: SKU
    group_price_fen: int
    stock: int
    leader_price_fen: int | None = None


def _clean_variants(*, shop: Shop, variants) -> list[tuple[SKU, int, int | None, int]]:
    """(sku, group price, leader price, stock) per variant, validated: SKUs of one product of
    this shop, each once, on sale, each price below its SKU's and stock within its SKU's."""
    variants = list(variants)
    if not variants:
        raise ValidationFailed(
            _("Choose at least one SKU."), code="sku_required", fields={"sku_id": "required"}
        )
    if len(variants) > MAX_VARIANTS:
        raise ValidationFailed(
            _("A campaign sells at most %(max)d variants.") % {"max": MAX_VARIANTS},
            code="too_many_variants",
            fields={"variants": "too_many"},
        )
    product_id = variants[0].sku.product_id
    seen = set()
    cleaned = []
    for spec in variants:
        sku = spec.sku
        if sku.product.shop_id != shop.pk:
            raise PermissionDenied(_("This is another shop's SKU."), code="not_your_shop")
        if sku.product_id != product_id:
            raise ValidationFailed(
                _("Every variant of a campaign is a SKU of the same product."),
                code="variants_of_several_products",
                fields={"variants": "several_products"},
            )
        if sku.pk in seen:
            raise ValidationFailed(
                _("Each SKU can be in the campaign once."),
                code="variant_repeated",
                fields={"variants": "repeated"},
            )
        seen.add(sku.pk)
        if not sku.is_active:
            raise Conflict(_("This SKU is not on sale."), code="sku_inactive")
        group_price_fen, leader_price_fen = _validate_prices(
            sku=sku, group_price_fen=spec.group_price_fen, leader_price_fen=spec.leader_price_fen
        )
        stock, _limit = _validate_stock(sku=sku, stock=spec.stock, per_user_limit=1)
        cleaned.append((sku, group_price_fen, leader_price_fen, stock))
    return cleaned


def create_campaign(
    *,
    actor,
    group_size: int,
    starts_at: datetime,
    ends_at: datetime,
    sku: SKU | None = None,
    group_price_fen: int | None = None,
    stock: int | None = None,
    leader_price_fen: int | None = None,
    variants: list[VariantSpec] | tuple = (),
    group_minutes: int = DEFAULT_GROUP_MINUTES,
    per_user_limit: int = 1,
    min_paid_to_complete: int | None = None,
    communities: list[Community] | tuple = (),
) -> GroupCampaign:
    """A merchant's group-buying campaign; its stock is carved from the SKUs now.

    Either one SKU (``sku``, ``group_price_fen``, ``stock``, ``leader_price_fen``) or several
    ``variants`` of one product, each with its own prices and stock; buyers then choose one."""
    if not variants:
        if sku is None:
            raise ValidationFailed(
                _("Choose one of your SKUs."), code="sku_required", fields={"sku_id": "required"}
            )
        variants = [
            VariantSpec(
                sku=sku,
                group_price_fen=group_price_fen,
                stock=stock,
                leader_price_fen=leader_price_fen,
            )
        ]
    first = variants[0].sku
    shop = first.product.shop
    _require_owner(shop=shop, actor=actor)
    if not shop.is_approved:
        raise Conflict(_("Only approved shops can run campaigns."), code="shop_not_approved")
    cleaned = _clean_variants(shop=shop, variants=variants)
    group_size, group_minutes, min_paid_to_complete = _validate_size_and_time(
        group_size=group_size,
        group_minutes=group_minutes,
        min_paid_to_complete=min_paid_to_complete,
    )
    _validate_window(starts_at=starts_at, ends_at=ends_at, now=clock.now())
    per_user_limit = _validate_per_user_limit(per_user_limit)
    total = sum(row[3] for row in cleaned)
    with transaction.atomic():
        campaign = GroupCampaign.objects.create(
            shop=shop,
            sku=first,
            group_price_fen=min(row[1] for row in cleaned),
            leader_price_fen=cleaned[0][2],
            group_size=group_size,
            group_minutes=group_minutes,
            starts_at=starts_at,
            ends_at=ends_at,
            stock=total,
            stock_total=total,
            per_user_limit=per_user_limit,
            min_paid_to_complete=min_paid_to_complete,
        )
        GroupCampaignSKU.objects.bulk_create(
            [
                GroupCampaignSKU(
                    campaign=campaign,
                    sku=variant_sku,
                    group_price_fen=price,
                    leader_price_fen=leader,
                    stock=units,
                    stock_total=units,
                )
                for variant_sku, price, leader, units in cleaned
            ]
        )
        if communities:
            campaign.communities.set(communities)
        # SKUs in primary-key order; raises out_of_stock (nothing created) if one sold meanwhile.
        for variant_sku, _price, _leader, units in sorted(cleaned, key=lambda row: row[0].pk):
            catalog_services.reserve_stock(sku_id=variant_sku.pk, quantity=units)
        publish("deals.campaign.created", campaign_public_id=campaign.public_id)
    return campaign


def _set_state(*, campaign: GroupCampaign, actor, from_state: str, to_state: str) -> GroupCampaign:
    _require_owner(shop=campaign.shop, actor=actor)
    changed = GroupCampaign.objects.filter(pk=campaign.pk, state=from_state).update(state=to_state)
    campaign.refresh_from_db()
    if not changed and campaign.state != to_state:
        raise Conflict(
            _("This campaign is %(state)s.") % {"state": campaign.get_state_display()},
            code="campaign_state",
        )
    return campaign


def pause_campaign(*, campaign: GroupCampaign, actor) -> GroupCampaign:
    """No new groups or joins; open groups run to their deadline."""
    return _set_state(
        campaign=campaign,
        actor=actor,
        from_state=GroupCampaign.State.ACTIVE,
        to_state=GroupCampaign.State.PAUSED,
    )


def resume_campaign(*, campaign: GroupCampaign, actor) -> GroupCampaign:
    return _set_state(
        campaign=campaign,
        actor=actor,
        from_state=GroupCampaign.State.PAUSED,
        to_state=GroupCampaign.State.ACTIVE,
    )


def end_campaign(*, campaign: GroupCampaign, actor) -> GroupCampaign:
    """Stop the campaign now: the units no seat holds go back to the SKU (exactly once)."""
    _require_owner(shop=campaign.shop, actor=actor)
    _end(campaign_pk=campaign.pk, now=clock.now())
    campaign.refresh_from_db()
    return campaign


def _end(*, campaign_pk: int, now: datetime) -> bool:
    with transaction.atomic():
        campaign = GroupCampaign.objects.select_for_update().get(pk=campaign_pk)
        if campaign.state == GroupCampaign.State.ENDED:
            return False
        leftover = campaign.stock
        GroupCampaign.objects.filter(pk=campaign.pk).update(
            state=GroupCampaign.State.ENDED, stock=0, ended_at=now
        )
        # Under the campaign's lock no variant's stock can change (each change follows a change
        # of the campaign row in its transaction): read them, zero them, give them back.
        variants = list(
            GroupCampaignSKU.objects.select_for_update()
            .filter(campaign_id=campaign.pk, stock__gt=0)
            .order_by("pk")
            .values_list("pk", "sku_id", "stock")
        )
        GroupCampaignSKU.objects.filter(pk__in=[row[0] for row in variants]).update(stock=0)
        for _pk, sku_id, units in sorted(variants, key=lambda row: row[1]):
            catalog_services.release_stock(sku_id=sku_id, quantity=units)
        publish("deals.campaign.ended", campaign_public_id=campaign.public_id, returned=leftover)
    return True


def _return_units(*, campaign_id: int, units: Counter) -> None:
    """Units that seats held (variant id → quantity): to the campaign and its variants while it
    runs, else (it ended and gave its leftovers back already) straight to the SKUs. The state
    filter re-checks under the row lock, so an ``_end`` committing meanwhile cannot make a unit
    count twice."""
    units = Counter({pk: quantity for pk, quantity in units.items() if pk and quantity > 0})
    if not units:
        return
    kept = GroupCampaign.objects.filter(
        pk=campaign_id, state__in=(GroupCampaign.State.ACTIVE, GroupCampaign.State.PAUSED)
    ).update(stock=F("stock") + sum(units.values()))
    if kept:
        for variant_id in sorted(units):
            GroupCampaignSKU.objects.filter(pk=variant_id).update(
                stock=F("stock") + units[variant_id]
            )
        return
    sku_of = dict(GroupCampaignSKU.objects.filter(pk__in=list(units)).values_list("pk", "sku_id"))
    to_sku = Counter()
    for variant_id, quantity in units.items():
        to_sku[sku_of[variant_id]] += quantity
    for sku_id in sorted(to_sku):
        catalog_services.release_stock(sku_id=sku_id, quantity=to_sku[sku_id])


def _units_of(seats) -> Counter:
    return Counter(seat.variant_id for seat in seats)


def return_units_of_order(*, order: Order, quantity: int) -> None:
    """A paid seat's order that the shop or the buyer cancelled (or refunded before shipping):
    its units go back to the campaign's reserve while it runs, else to the SKU. Called by the
    orders services inside their transaction (lock order: … order → campaign → variant)."""
    seat = Seat.objects.select_related("group").filter(order_id=order.pk).first()
    if seat is None or quantity <= 0:
        return
    _return_units(campaign_id=seat.group.campaign_id, units=Counter({seat.variant_id: quantity}))


# --- opening and joining (buyers) -------------------------------------------------------------


def _check_campaign_open(campaign: GroupCampaign, now: datetime) -> None:
    if campaign.state != GroupCampaign.State.ACTIVE:
        raise Conflict(_("This campaign is not running right now."), code="campaign_not_active")
    if now < campaign.starts_at:
        raise Conflict(_("This campaign has not started yet."), code="campaign_not_started")
    if now >= campaign.ends_at:
        raise Conflict(_("This campaign is over."), code="campaign_over")


def _check_buyer(
    campaign: GroupCampaign, user, *, restricted: bool | None = None, count_seats: bool = True
) -> None:
    """``restricted`` (the campaign is community-only) when the caller has read it already;
    else it is read here. ``count_seats=False``: the caller counts the buyer's live seats under
    the buyer's lock only (``_lock_buyer``), not here as well."""
    _require_user(user)
    if campaign.shop.owner_id == user.pk:
        raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
    allowed = GroupCampaign.communities.through.objects.filter(groupcampaign_id=campaign.pk)
    if restricted is None:
        restricted = allowed.exists()
    if (
        restricted
        and not Membership.objects.filter(
            user=user,
            community_id__in=allowed.values("community_id"),
            state=Membership.State.ACTIVE,
        ).exists()
    ):
        raise PermissionDenied(
            _("Only members of the campaign's communities may join."),
            code="community_only",
        )
    # A fast answer before any lock; ``_lock_buyer`` decides under the buyer's row lock.
    if count_seats and (
        _live_seats_of(user, campaign_id=campaign.pk).count() >= campaign.per_user_limit
    ):
        raise _per_user_limit()


def _per_user_limit() -> Conflict:
    return Conflict(
        _("You already hold as many seats in this campaign as a buyer may."),
        code="per_user_limit",
    )


def _lock_buyer(campaign: GroupCampaign, user, *, group_id: int | None = None) -> None:
    """The first statements of an open or a join (the buyer's own row, before the group, the
    orders and the campaign): lock the buyer's row of the campaign, then count their live seats.
    Every open and join of this buyer in this campaign waits here for the one before it to
    commit, so the count includes its seat: the per-buyer limit holds however many requests
    race. One statement creates the row or locks it: ``INSERT … ON CONFLICT (campaign, user)
    DO UPDATE`` waits for any transaction holding the row, then locks it (the "update" rewrites
    the campaign with itself: nothing in the row changes). A join (``group_id``) also learns
    here, in the same count, whether the buyer is in that group."""
    GroupBuyer.objects.bulk_create(
        [GroupBuyer(campaign_id=campaign.pk, user_id=user.pk)],
        update_conflicts=True,
        unique_fields=["campaign", "user"],
        update_fields=["campaign"],
    )
    # A new statement after the lock: it sees every seat the transactions we waited for made.
    seats = _live_seats_of(user, campaign_id=campaign.pk).aggregate(
        live=Count("pk"), here=Count("pk", filter=Q(group_id=group_id))
    )
    if group_id is not None and seats["here"]:
        raise _already_joined()
    if seats["live"] >= campaign.per_user_limit:
        raise _per_user_limit()


def _already_joined() -> Conflict:
    return Conflict(_("You are already in this group."), code="already_joined")


def _live_seats_of(user, *, campaign_id: int, group_id: int | None = None):
    if group_id is not None:
        return Seat.objects.filter(group_id=group_id, user_id=user.pk, state__in=LIVE_SEAT_STATES)
    return Seat.objects.filter(
        group__campaign_id=campaign_id, user_id=user.pk, state__in=LIVE_SEAT_STATES
    )


def _take_campaign_unit(campaign: GroupCampaign, variant: GroupCampaignSKU) -> None:
    """The campaign's unit, then its variant's (the order every path keeps); either at 0 raises
    and the caller's transaction unwinds whole."""
    taken = GroupCampaign.objects.filter(
        pk=campaign.pk, state=GroupCampaign.State.ACTIVE, stock__gte=1
    ).update(stock=F("stock") - 1)
    if not taken:
        raise Conflict(_("Sorry, this group deal is sold out."), code="sold_out")
    taken = GroupCampaignSKU.objects.filter(pk=variant.pk, stock__gte=1).update(
        stock=F("stock") - 1
    )
    if not taken:
        raise Conflict(_("Sorry, this variant is sold out."), code="variant_sold_out")


def choose_variant(*, campaign: GroupCampaign, sku_id: str = "") -> GroupCampaignSKU:
    """The variant a buyer chose by its SKU's public id; a campaign of one variant needs no
    choice. Several and none chosen: ``variant_required``; not one of them:
    ``variant_not_found``."""
    variants = list(
        GroupCampaignSKU.objects.select_related("sku__product").filter(campaign_id=campaign.pk)
    )
    sku_id = str(sku_id or "")[:40]
    if not sku_id:
        if len(variants) == 1:
            return variants[0]
        raise ValidationFailed(
            _("Choose a variant first."), code="variant_required", fields={"sku_id": "required"}
        )
    for variant in variants:
        if variant.sku.public_id == sku_id:
            return variant
    raise NotFound(_("This campaign has no such variant."), code="variant_not_found")


def _place_seat(
    *,
    group: Group,
    user,
    variant: GroupCampaignSKU,
    is_leader: bool,
    now: datetime,
    address,
    announce: Callable[[Seat], None],
) -> Seat:
    """Inside the caller's transaction (which a failure here rolls back whole): the deal order
    first, so the seat row is written once, complete with its order. The leader pays the
    variant's leader price (if it has one), everyone else its group price. ``announce(seat)``
    publishes the caller's event before the hot campaign row is taken."""
    campaign = group.campaign
    sku = variant.sku
    price_fen = variant.price_for_leader if is_leader else variant.group_price_fen
    seat = Seat(
        public_id=new_public_id(),
        group=group,
        user=user,
        variant=variant,
        price_fen=price_fen,
        is_leader=is_leader,
        reserved_until=now + timedelta(minutes=seat_hold_minutes()),
        created_at=now,
    )
    seat.order = order_services.place_deal_order(
        buyer=user,
        shop=campaign.shop,
        title=sku.product.title,
        unit_price_fen=price_fen,
        quantity=1,
        deal_ref=registry.deal_ref(DEAL_PREFIX, seat.public_id),
        expires_at=seat.reserved_until,
        address=address,
        sku=sku,
    )
    try:
        seat.save(force_insert=True)
    except IntegrityError:  # one live seat per user per group; the caller's transaction unwinds
        raise _already_joined() from None
    announce(seat)
    # Last statement of the transaction: the hot campaign row is locked only until the commit.
    _take_campaign_unit(campaign, variant)
    return seat


def open_group(*, campaign: GroupCampaign, user, address_id: str, sku_id: str = "") -> Seat:
    """The buyer opens a group as its leader: a seat reserved for ``seat_hold_minutes()`` and an
    order to pay (the variant's leader price if it has one), shipped to the buyer's address
    ``address_id``. ``sku_id`` chooses the variant when the campaign has several. Others can
    join once the leader paid."""
    now = clock.now()
    _check_campaign_open(campaign, now)
    _check_buyer(campaign, user)
    # Read before any lock: a missing or foreign address or variant takes nothing.
    address = order_services.buyer_address(buyer=user, address_public_id=address_id)
    variant = choose_variant(campaign=campaign, sku_id=sku_id)
    if campaign.stock < 1:
        raise Conflict(_("Sorry, this group deal is sold out."), code="sold_out")
    if variant.stock < 1:
        raise Conflict(_("Sorry, this variant is sold out."), code="variant_sold_out")
    with transaction.atomic():
        _lock_buyer(campaign, user)
        group = Group.objects.create(
            campaign=campaign,
            leader=user,
            size=campaign.group_size,
            deadline=now + timedelta(minutes=campaign.group_minutes),
            seats_taken=1,
            created_at=now,
        )
        seat = _place_seat(
            group=group,
            user=user,
            variant=variant,
            is_leader=True,
            now=now,
            address=address,
            announce=lambda seat: publish(
                "deals.group.opened",
                group_public_id=group.public_id,
                campaign_public_id=campaign.public_id,
                leader_public_id=user.public_id,
            ),
        )
    seat.group = group
    return seat


def _check_joinable(group: Group, user, now: datetime) -> None:
    if group.state != Group.State.OPEN or group.deadline <= now:
        raise Conflict(_("This group is closed."), code="group_closed")
    if group.leader_id == user.pk:
        raise Conflict(_("You opened this group; you are already in it."), code="leader_in_group")
    # About to refuse a group not ready or full: a member of the group hears that first (a join
    # that goes on learns it under the buyer's lock instead, ``_lock_buyer``: one count).
    refusing = group.paid_count < 1 or group.seats_taken >= group.size
    if refusing and _live_seats_of(user, campaign_id=group.campaign_id, group_id=group.pk).exists():
        raise _already_joined()
    if group.paid_count < 1:
        raise Conflict(
            _("This group opens to others once its leader has paid."), code="group_not_ready"
        )
    if group.seats_taken >= group.size:
        raise Conflict(_("This group is full."), code="group_full")


def join_group(*, group: Group, user, address_id: str, sku_id: str = "") -> Seat:
    """Reserve a seat (``seat_hold_minutes()`` to pay) in someone's open group, and its order
    shipped to the buyer's address ``address_id``. ``sku_id`` chooses the variant when the
    campaign has several (each member chooses their own)."""
    now = clock.now()
    _require_user(user)
    # Judge the group as it is now, not as the caller loaded it: one query for the group with
    # its campaign (and whether that is community-only). The buyer's live seats (in the
    # campaign and in this group) are counted once, under the buyer's row lock
    # (``_lock_buyer``): a count before the lock would only be repeated after it.
    group = (
        Group.objects.select_related("campaign__shop")
        .annotate(
            campaign_restricted=Exists(
                GroupCampaign.communities.through.objects.filter(
                    groupcampaign_id=OuterRef("campaign_id")
                )
            )
        )
        .get(pk=group.pk)
    )
    campaign = group.campaign
    _check_joinable(group, user, now)
    _check_campaign_open(campaign, now)
    _check_buyer(campaign, user, restricted=group.campaign_restricted, count_seats=False)
    address = order_services.buyer_address(buyer=user, address_public_id=address_id)
    variant = choose_variant(campaign=campaign, sku_id=sku_id)
    with transaction.atomic():
        _lock_buyer(campaign, user, group_id=group.pk)
        # The seat is taken by one conditional UPDATE: however many join at once, seats_taken
        # never passes the size (and the CHECK constraint says so too). The group row stays
        # locked to this transaction; the campaign row is taken last (``_place_seat``).
        taken = Group.objects.filter(
            pk=group.pk,
            state=Group.State.OPEN,
            deadline__gt=now,
            paid_count__gte=1,
            seats_taken__lt=F("size"),
        ).update(seats_taken=F("seats_taken") + 1)
        if not taken:
            group.refresh_from_db(fields=["state", "deadline", "seats_taken", "size"])
            if group.state != Group.State.OPEN or group.deadline <= now:
                raise Conflict(_("This group is closed."), code="group_closed")
            raise Conflict(_("This group is full."), code="group_full")
        seat = _place_seat(
            group=group,
            user=user,
            variant=variant,
            is_leader=False,
            now=now,
            address=address,
            announce=lambda seat: publish(
                "deals.group.joined",
                group_public_id=group.public_id,
                campaign_public_id=campaign.public_id,
                member_public_id=user.public_id,
                seat_public_id=seat.public_id,
            ),
        )
    group.seats_taken += 1  # as of this join (not re-read: the page or API reads it again)
    return seat


# --- payments ---------------------------------------------------------------------------------


def _lock_group_and_seat_of_order(order: Order) -> tuple[Group | None, Seat | None]:
    """The group (found through the seat: a seat never changes group), then the seat, locked in
    that order; (None, None) when no seat has this order."""
    group = (
        Group.objects.select_related("campaign")
        .select_for_update(of=("self",))
        .filter(pk__in=Seat.objects.filter(order_id=order.pk).values("group_id"))
        .first()
    )
    if group is None:
        return None, None
    seat = Seat.objects.select_for_update().get(order_id=order.pk)
    seat.order = order
    return group, seat


def _succeed(group: Group, now: datetime) -> list[Seat]:
    """Every paid member's order goes to fulfilment; unpaid seats (K rule) are freed."""
    Group.objects.filter(pk=group.pk).update(state=Group.State.SUCCEEDED, closed_at=now)
    group.state, group.closed_at = Group.State.SUCCEEDED, now
    seats = list(
        Seat.objects.select_for_update(of=("self",))
        # The order's buyer and shop name each member's "orders.order.paid" event.
        .select_related("order__buyer", "order__shop", "user")
        .filter(group=group, state__in=LIVE_SEAT_STATES)
        .order_by("pk")
    )
    paid = [seat for seat in seats if seat.state == Seat.State.PAID]
    order_services.confirm_deal_orders(orders=[seat.order for seat in paid])
    freed = []
    for seat in seats:
        if seat.state != Seat.State.PAID:
            _close_seat(seat, state=Seat.State.FREED, now=now)
            order_services.cancel_deal_order(
                order=seat.order, reason=Order.CancelReason.DEAL_FAILED
            )
            freed.append(seat)
    if freed:  # the K rule left unpaid seats: they are no longer taken
        Group.objects.filter(pk=group.pk).update(seats_taken=F("seats_taken") - len(freed))
        group.seats_taken -= len(freed)
    _return_units(campaign_id=group.campaign_id, units=_units_of(freed))
    publish(
        "deals.group.completed",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
        shop_public_id=group.campaign.shop.public_id,
        member_public_ids=[seat.user.public_id for seat in paid],
    )
    return paid


def _close_seat(seat: Seat, *, state: str, now: datetime) -> None:
    Seat.objects.filter(pk=seat.pk).update(state=state, closed_at=now)
    seat.state, seat.closed_at = state, now


def _accept_payment(group: Group, seat: Seat, now: datetime) -> str:
    """Under the group and seat locks: a captured payment for a reserved seat of an open group
    becomes a paid member (money held until the group completes)."""
    result = order_services.settle_deal_payment(order=seat.order, accept=True, await_deal=True)
    if result != "awaiting":
        return result
    counted = Group.objects.filter(
        pk=group.pk, state=Group.State.OPEN, paid_count__lt=F("size")
    ).update(paid_count=F("paid_count") + 1)
    if not counted:  # impossible while paid ≤ seats ≤ size; refuse rather than over-fill
        order_services.cancel_deal_order(order=seat.order, reason=Order.CancelReason.DEAL_FAILED)
        _close_seat(seat, state=Seat.State.REFUNDED, now=now)
        return "refunded"
    Seat.objects.filter(pk=seat.pk).update(state=Seat.State.PAID, paid_at=now)
    seat.state, seat.paid_at = Seat.State.PAID, now
    group.paid_count += 1
    if group.paid_count >= group.size:
        _succeed(group, now)
    return result


def on_payment_succeeded(order: Order) -> str:
    """A seat's payment was captured (replays are harmless)."""
    now = clock.now()
    # No savepoint of its own: its caller (the outbox's delivery) rolls back whole on an error.
    with transaction.atomic(savepoint=False):
        group, seat = _lock_group_and_seat_of_order(order)
        if seat is None:  # the seat's transaction never committed: nothing to hold the money for
            return order_services.settle_deal_payment(order=order, accept=False)
        if seat.state == Seat.State.RESERVED and group.state == Group.State.OPEN:
            return _accept_payment(group, seat, now)
        if seat.state == Seat.State.PAID:
            return "unchanged"
        # The seat was freed or the group closed meanwhile: the money goes back.
        return order_services.settle_deal_payment(order=order, accept=False)


def on_payment_failed(order: Order) -> bool:
    """The buyer's payment failed or was canceled: the seat and its unit are free again."""
    with transaction.atomic():
        group, seat = _lock_group_and_seat_of_order(order)
        if seat is None or seat.state != Seat.State.RESERVED:
            return False
        _free_reserved_seat(group, seat, now=clock.now(), reason=Order.CancelReason.BUYER)
    return True


def _free_reserved_seat(group: Group, seat: Seat, *, now: datetime, reason: str) -> None:
    """Under the group and seat locks: an unpaid seat goes, its unit back, its order cancelled.
    A leader who never paid takes the group with them (nobody else could join it yet)."""
    _close_seat(seat, state=Seat.State.FREED, now=now)
    if group.state == Group.State.OPEN:
        if seat.is_leader and group.paid_count == 0:
            Group.objects.filter(pk=group.pk).update(
                state=Group.State.FAILED, closed_at=now, seats_taken=F("seats_taken") - 1
            )
            group.state = Group.State.FAILED
        else:
            Group.objects.filter(pk=group.pk, seats_taken__gte=1).update(
                seats_taken=F("seats_taken") - 1
            )
    order_services.cancel_deal_order(order=seat.order, reason=reason)
    _return_units(campaign_id=group.campaign_id, units=_units_of([seat]))


def _payment_captured(order: Order) -> bool:
    """Its "ledger.payment.succeeded" may have been lost (a crash): ask the ledger itself."""
    from shoploop.ledger.services import payments

    public_id = order.checkout.payment_public_id
    if not public_id:
        return False
    return payments.payment_by_public_id(public_id=public_id).state == "succeeded"


# --- deadlines --------------------------------------------------------------------------------


def _due_seat_groups(now: datetime):
    due = Seat.objects.filter(state=Seat.State.RESERVED, reserved_until__lte=now).values("group_id")
    return (
        Group.objects.select_related("campaign")
        .select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=due)
        .order_by("pk")[:SETTLE_BATCH_SIZE]
    )


def free_unpaid_seats(now: datetime) -> int:
    """Seats unpaid at the end of their hold are freed (unless paid meanwhile)."""
    processed = 0
    while True:
        with transaction.atomic():
            groups = list(_due_seat_groups(now))
            for group in groups:
                seats = (
                    Seat.objects.select_for_update(of=("self",))
                    .select_related("order__checkout")
                    .filter(group=group, state=Seat.State.RESERVED, reserved_until__lte=now)
                    .order_by("pk")
                )
                for seat in seats:
                    if seat.order_id and _payment_captured(seat.order):
                        if group.state == Group.State.OPEN:
                            _accept_payment(group, seat, now)
                        else:
                            _close_seat(seat, state=Seat.State.FREED, now=now)
                            order_services.settle_deal_payment(order=seat.order, accept=False)
                    else:
                        _free_reserved_seat(group, seat, now=now, reason=Order.CancelReason.EXPIRED)
                    processed += 1
        if len(groups) < SETTLE_BATCH_SIZE:
            return processed


def _fail(group: Group, now: datetime) -> None:
    """Every member's order is voided and refunded once; all units go back. The counters say
    what is true afterwards: nobody holds a seat or has paid; ``refunded_count`` members were
    refunded."""
    seats = list(
        Seat.objects.select_for_update(of=("self",))
        .select_related("order", "user")
        .filter(group=group, state__in=LIVE_SEAT_STATES)
        .order_by("pk")
    )
    refunded = sum(1 for seat in seats if seat.state == Seat.State.PAID)
    Group.objects.filter(pk=group.pk).update(
        state=Group.State.FAILED,
        closed_at=now,
        seats_taken=0,
        paid_count=0,
        refunded_count=F("refunded_count") + refunded,
    )
    group.state, group.closed_at = Group.State.FAILED, now
    group.seats_taken, group.paid_count = 0, 0
    group.refunded_count += refunded
    for seat in seats:
        closed = Seat.State.REFUNDED if seat.state == Seat.State.PAID else Seat.State.FREED
        _close_seat(seat, state=closed, now=now)
        order_services.cancel_deal_order(order=seat.order, reason=Order.CancelReason.DEAL_FAILED)
    _return_units(campaign_id=group.campaign_id, units=_units_of(seats))
    publish(
        "deals.group.failed",
        group_public_id=group.public_id,
        campaign_public_id=group.campaign.public_id,
        member_public_ids=[seat.user.public_id for seat in seats],
    )


def _settle_group(group: Group, now: datetime) -> str:
    # Payments captured but never heard of count before the group is judged.
    for seat in (
        Seat.objects.select_for_update(of=("self",))
        .select_related("order__checkout")
        .filter(group=group, state=Seat.State.RESERVED)
        .order_by("pk")
    ):
        if seat.order_id and _payment_captured(seat.order) and group.state == Group.State.OPEN:
            _accept_payment(group, seat, now)
    if group.state != Group.State.OPEN:
        return group.state
    k = group.campaign.min_paid_to_complete
    if k is not None and group.paid_count >= k:
        _succeed(group, now)
    else:
        _fail(group, now)
    return group.state


def _close_empty_groups(now: datetime) -> int:
    """One batch, one transaction: open groups past their deadline that hold no live seat (their
    unpaid seats were freed earlier: no money, no units, nobody to tell) fail by one conditional
    UPDATE. SKIP LOCKED lets other workers take the next batch meanwhile."""
    live = Seat.objects.filter(group_id=OuterRef("pk"), state__in=LIVE_SEAT_STATES)
    with transaction.atomic():
        batch = list(
            Group.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=Group.State.OPEN, deadline__lte=now, seats_taken=0)
            .filter(~Exists(live))
            # No ORDER BY: any empty group will do, and sorting every due row for each batch
            # would make closing N groups cost N²/batch; SKIP LOCKED never waits, so no
            # deadlock either.
            .values_list("pk", "public_id", "campaign__public_id")[:CLOSE_BATCH_SIZE]
        )
        if not batch:
            return 0
        closed = Group.objects.filter(
            pk__in=[row[0] for row in batch], state=Group.State.OPEN, seats_taken=0
        ).update(state=Group.State.FAILED, closed_at=now)
        publish_many(
            "deals.group.failed",
            [
                {
                    "group_public_id": group_id,
                    "campaign_public_id": campaign_id,
                    "member_public_ids": [],
                }
                for _pk, group_id, campaign_id in batch
            ],
        )
    return closed


def _settle_next_group(now: datetime) -> bool:
    """One group with members, in its own transaction (a worker never holds a batch of groups,
    with their orders and ledger rows, while another waits): K rule, else fail and refund."""
    with transaction.atomic():
        group = (
            Group.objects.select_related("campaign")
            .select_for_update(skip_locked=True, of=("self",))
            .filter(state=Group.State.OPEN, deadline__lte=now)
            .order_by("deadline", "pk")
            .first()
        )
        if group is None:
            return False
        _settle_group(group, now)
    return True


def settle_groups(now: datetime) -> int:
    """Open groups past their deadline: the empty ones closed in bulk, then every group with
    members settled one per transaction. Any number of workers may run it at once."""
    processed = 0
    while True:
        closed = _close_empty_groups(now)
        processed += closed
        if closed < CLOSE_BATCH_SIZE:
            break
    while _settle_next_group(now):
        processed += 1
    return processed


def end_campaigns(now: datetime) -> int:
    """Campaigns past their window end; their leftover stock goes back to the SKU once."""
    processed = 0
    while True:
        with transaction.atomic():
            campaigns = list(
                GroupCampaign.objects.select_for_update(skip_locked=True)
                .filter(
                    state__in=(GroupCampaign.State.ACTIVE, GroupCampaign.State.PAUSED),
                    ends_at__lte=now,
                )
                .order_by("ends_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            for campaign in campaigns:
                processed += _end(campaign_pk=campaign.pk, now=now)
        if len(campaigns) < SETTLE_BATCH_SIZE:
            return processed
