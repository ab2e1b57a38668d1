"""Bargaining services: every write of the bargains app.

Lock order (PostgreSQL, deadlock-free), the same on every path:

    bargain (``select_for_update``) → the orders services (checkout → payment → order → ledger
    accounts) → shared rows: the campaign (one conditional UPDATE of ``stock_left``, the last
    statement that touches it) → the SKU; a help takes the helper's daily quota row instead.

The campaign row is the hot row every buyer of a campaign touches, so it is changed only by a
conditional UPDATE placed after the orders' rows: its lock is held from that statement to the
commit, and nothing takes a checkout, payment or order after it. Ending a campaign locks only
the campaign row (then the SKU), never bargains: open bargains of an ended campaign are expired
by the ``deals_bargains.expire`` deadline handler and refused by every service.

Campaign rules: a paused campaign starts no new bargains and takes no helps; bargains already
started may still be bought. An ended campaign refuses everything; its unsold stock goes back to
the SKU exactly once, and units of a purchase cancelled later go straight back to the SKU.

Daily help limit: H (the campaign's ``helps_per_day``, default 3) counts a helper's helps on the
current local day across every bargain on Shoploop; a help on campaign C is refused when the
helper already gave C's H helps today. "New users only": the helper has never placed an order.
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import selectors as catalog_selectors
from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.deals import registry
from shoploop.deals.bargains import cuts
from shoploop.deals.bargains.models import (
    DEFAULT_HELPS_PER_DAY,
    DEFAULT_HOURS,
    MAX_HELPERS,
    MAX_HELPS_PER_DAY,
    MAX_HOURS,
    Bargain,
    BargainCampaign,
    Help,
    HelpQuota,
)
from shoploop.orders import pickup_selectors
from shoploop.orders import selectors as order_selectors
from shoploop.orders import services as order_services
from shoploop.orders.models import Order

DEAL_PREFIX = "bargain"
SETTLE_BATCH_SIZE = 50


def payment_window() -> timedelta:
    """How long a purchase waits for its payment (``SHOPLOOP_BARGAIN_PAYMENT_MINUTES``)."""
    return timedelta(minutes=settings.DEALS_BARGAIN_PAYMENT_MINUTES)


# --- helpers ----------------------------------------------------------------------------------


def _require_user(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def _whole(value, *, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationFailed(_("Enter a whole number."), fields={field: "invalid"})
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number."), fields={field: "invalid"}) from None
    if number != value and not isinstance(value, str):
        raise ValidationFailed(_("Enter a whole number."), fields={field: "invalid"})
    return number


def _invalid(message, field: str, code: str = "invalid"):
    return ValidationFailed(message, code=code, fields={field: code})


def _owned_campaign(campaign: BargainCampaign, actor) -> None:
    _require_user(actor)
    if campaign.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This campaign belongs to another shop."), code="not_your_shop")


def deal_ref_of(bargain: Bargain) -> str:
    return registry.deal_ref(DEAL_PREFIX, bargain.public_id)


def _locked_bargain(bargain: Bargain) -> Bargain:
    return (
        Bargain.objects.select_for_update(of=("self",))
        .select_related("campaign", "campaign__shop", "campaign__sku__product")
        .get(pk=bargain.pk)
    )


# --- campaigns (merchant) ---------------------------------------------------------------------


def _validate_campaign(
    *,
    sku: SKU,
    start: int,
    floor: int,
    helpers: int,
    hours: int,
    stock: int,
    helps_per_day: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    if start < 1:
        raise _invalid(_("The start price must be at least 0.01."), "start_price_fen")
    if start > sku.price_fen:
        raise _invalid(
            _("The start price cannot be above the normal price."),
            "start_price_fen",
            "start_above_price",
        )
    if floor < 0:
        raise _invalid(_("The floor price cannot be negative."), "floor_price_fen")
    if floor >= start:
        raise _invalid(
            _("The floor price must be below the start price."),
            "floor_price_fen",
            "floor_not_below_start",
        )
    if not 1 <= helpers <= MAX_HELPERS:
        raise _invalid(
            _("Helpers needed must be between 1 and %(max)d.") % {"max": MAX_HELPERS},
            "helpers_needed",
        )
    if helpers > start - floor:
        raise _invalid(
            _("Each help cuts at least 0.01: %(n)d helpers need at least %(n)d fen to cut.")
            % {"n": helpers},
            "helpers_needed",
            "too_many_helpers",
        )
    if not 1 <= hours <= MAX_HOURS:
        raise _invalid(
            _("A bargain lasts between 1 and %(max)d hours.") % {"max": MAX_HOURS},
            "hours_per_bargain",
        )
    if not 1 <= helps_per_day <= MAX_HELPS_PER_DAY:
        raise _invalid(
            _("Helps per day must be between 1 and %(max)d.") % {"max": MAX_HELPS_PER_DAY},
            "helps_per_day",
        )
    if stock < 1:
        raise _invalid(_("The campaign needs at least one unit of stock."), "stock")
    if stock > sku.stock:
        raise _invalid(
            _("Only %(n)d units are in stock.") % {"n": sku.stock}, "stock", "not_enough_stock"
        )
    if ends_at <= now:
        raise _invalid(_("The end of the campaign is in the past."), "ends_at", "ends_in_past")
    if ends_at <= starts_at:
        raise _invalid(_("The campaign must end after it starts."), "ends_at")


def create_campaign(
    *,
    actor,
    sku_public_id: str,
    start_price_fen,
    floor_price_fen,
    helpers_needed,
    stock,
    ends_at: datetime,
    starts_at: datetime | None = None,
    hours_per_bargain=DEFAULT_HOURS,
    helps_per_day=DEFAULT_HELPS_PER_DAY,
    buy_before_floor: bool = False,
    new_users_only: bool = False,
) -> BargainCampaign:
    """A merchant's bargaining campaign on one of their SKUs, with stock carved from the SKU."""
    _require_user(actor)
    shop = catalog_selectors.shop_of(user=actor)
    if shop is None or not shop.is_approved:
        raise PermissionDenied(_("Only approved shops can run campaigns."), code="no_shop")
    sku = (
        SKU.objects.select_related("product__shop")
        .filter(public_id=str(sku_public_id)[:40])
        .first()
    )
    if sku is None:
        raise _invalid(_("No such item."), "sku_id", "sku_not_found")
    if sku.product.shop_id != shop.pk:
        raise PermissionDenied(_("This item belongs to another shop."), code="not_your_shop")
    if not sku.is_active or not sku.product.is_published:
        raise _invalid(_("This item is not on sale."), "sku_id", "sku_not_on_sale")
    now = clock.now()
    values = {
        "start": _whole(start_price_fen, field="start_price_fen"),
        "floor": _whole(floor_price_fen, field="floor_price_fen"),
        "helpers": _whole(helpers_needed, field="helpers_needed"),
        "hours": _whole(hours_per_bargain, field="hours_per_bargain"),
        "stock": _whole(stock, field="stock"),
        "helps_per_day": _whole(helps_per_day, field="helps_per_day"),
    }
    starts_at = starts_at or now
    if timezone.is_naive(ends_at) or timezone.is_naive(starts_at):
        raise _invalid(_("Give a date with a time zone."), "ends_at")
    _validate_campaign(sku=sku, starts_at=starts_at, ends_at=ends_at, now=now, **values)
    with transaction.atomic():
        try:
            catalog_services.reserve_stock(sku_id=sku.pk, quantity=values["stock"])
        except DomainError:
            raise _invalid(_("Not enough stock."), "stock", "not_enough_stock") from None
        campaign = BargainCampaign.objects.create(
            shop=shop,
            sku=sku,
            title=sku.product.title[:200],
            start_price_fen=values["start"],
            floor_price_fen=values["floor"],
            helpers_needed=values["helpers"],
            hours_per_bargain=values["hours"],
            stock_total=values["stock"],
            stock_left=values["stock"],
            buy_before_floor=bool(buy_before_floor),
            new_users_only=bool(new_users_only),
            helps_per_day=values["helps_per_day"],
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
        )
        publish("bargains.campaign.created", campaign_public_id=campaign.public_id)
    return campaign


def _set_campaign_state(*, campaign, actor, source: str, target: str, code: str) -> BargainCampaign:
    _owned_campaign(campaign, actor)
    changed = BargainCampaign.objects.filter(pk=campaign.pk, state=source).update(state=target)
    campaign.refresh_from_db()
    if not changed and campaign.state != target:
        raise Conflict(_("The campaign cannot change to that state now."), code=code)
    return campaign


def pause_campaign(*, campaign: BargainCampaign, actor) -> BargainCampaign:
    """No new bargains or helps until resumed; started bargains may still be bought."""
    return _set_campaign_state(
        campaign=campaign, actor=actor, source="active", target="paused", code="not_running"
    )


def resume_campaign(*, campaign: BargainCampaign, actor) -> BargainCampaign:
    return _set_campaign_state(
        campaign=campaign, actor=actor, source="paused", target="active", code="not_paused"
    )


def end_campaign(*, campaign: BargainCampaign, actor=None, now: datetime | None = None) -> int:
    """End the campaign and give its unsold stock back to the SKU, exactly once.

    ``actor`` is the shop's owner or a platform operator (staff), recorded in the
    ``bargains.campaign_ended`` event (``ended_by``); ``actor=None`` is the deadline handler.
    Returns the units given back (0 if already ended)."""
    if actor is not None and not (getattr(actor, "is_authenticated", False) and actor.is_staff):
        _owned_campaign(campaign, actor)
    now = now or clock.now()
    with transaction.atomic():
        row = BargainCampaign.objects.select_for_update().get(pk=campaign.pk)
        if row.state == BargainCampaign.State.ENDED:
            return 0
        left = row.stock_left
        BargainCampaign.objects.filter(pk=row.pk).update(
            state=BargainCampaign.State.ENDED, stock_left=0, stock_returned=left, ended_at=now
        )
        if left:
            catalog_services.release_stock(sku_id=row.sku_id, quantity=left)
        publish(
            "bargains.campaign.ended",
            campaign_public_id=row.public_id,
            returned=left,
            ended_by=actor.public_id if actor is not None else "",
        )
    campaign.refresh_from_db()
    return left


def _return_unit(campaign_id: int, sku_id: int) -> None:
    """One unit of a cancelled purchase back to the campaign, or to the SKU once it has ended
    (the ended campaign already gave its stock back; the WHERE decides under the row lock)."""
    back = (
        BargainCampaign.objects.filter(pk=campaign_id)
        .exclude(state=BargainCampaign.State.ENDED)
        .update(stock_left=F("stock_left") + 1)
    )
    if not back:
        catalog_services.release_stock(sku_id=sku_id, quantity=1)


def return_units_of_order(*, order: Order, quantity: int) -> None:
    """A bought bargain's paid order that the shop or the buyer cancelled (or refunded before
    shipping): its unit goes back to the campaign while it runs, else to the SKU."""
    row = (
        Bargain.objects.select_related("campaign")
        .filter(order_id=order.pk, state=Bargain.State.BOUGHT)
        .first()
    )
    if row is None:
        return
    for _unit in range(quantity):
        _return_unit(row.campaign_id, row.campaign.sku_id)


# --- bargains (buyers) ------------------------------------------------------------------------


def _campaign_running(campaign: BargainCampaign, now: datetime) -> None:
    if campaign.state == BargainCampaign.State.ENDED or campaign.ends_at <= now:
        raise Conflict(_("This campaign has ended."), code="campaign_ended")
    if campaign.state == BargainCampaign.State.PAUSED:
        raise Conflict(_("This campaign is paused."), code="campaign_paused")
    if campaign.starts_at > now:
        raise Conflict(_("This campaign has not started yet."), code="campaign_not_started")


def start_bargain(*, campaign: BargainCampaign, user) -> Bargain:
    """The user starts a bargain at the start price; friends then help cut it."""
    _require_user(user)
    now = clock.now()
    campaign = BargainCampaign.objects.select_related("shop").get(pk=campaign.pk)
    if campaign.shop.owner_id == user.pk:
        raise Conflict(_("You cannot bargain in your own shop."), code="own_shop")
    _campaign_running(campaign, now)
    if campaign.stock_left < 1:
        raise Conflict(_("Sorry, this campaign is sold out."), code="sold_out")
    deadline = min(now + timedelta(hours=campaign.hours_per_bargain), campaign.ends_at)
    try:
        with transaction.atomic():
            bargain = Bargain.objects.create(
                campaign=campaign,
                initiator=user,
                seed=secrets.token_hex(16),
                cuts_version=cuts.CURRENT_VERSION,
                current_price_fen=campaign.start_price_fen,
                deadline=deadline,
                created_at=now,
            )
            publish("bargains.bargain.started", bargain_public_id=bargain.public_id)
    except IntegrityError:
        raise Conflict(
            _("You already have a bargain running in this campaign."), code="already_bargaining"
        ) from None
    return bargain


def _is_new_user(user) -> bool:
    return not order_selectors.buyer_orders(buyer=user).exists()


def _local_day(now: datetime):
    return timezone.localtime(now).date()


def _take_daily_help(*, helper, limit: int, now: datetime) -> None:
    day = _local_day(now)
    try:
        with transaction.atomic():
            HelpQuota.objects.get_or_create(helper=helper, day=day)
    except IntegrityError:
        pass  # created by a parallel help of the same user; the update below counts
    taken = HelpQuota.objects.filter(helper=helper, day=day, used__lt=limit).update(
        used=F("used") + 1
    )
    if not taken:
        raise Conflict(
            _("You have used your %(n)d helps for today. Come back tomorrow!") % {"n": limit},
            code="daily_help_limit",
        )


def help_bargain(*, bargain: Bargain, helper) -> Help:
    """A friend's help: the k-th help cuts the k-th amount of the bargain's sequence."""
    _require_user(helper)
    if helper.phone_verified_at is None:
        raise PermissionDenied(
            _("Verify your phone number before helping."), code="phone_not_verified"
        )
    if bargain.initiator_id == helper.pk:
        raise Conflict(_("You cannot help your own bargain."), code="own_bargain")
    now = clock.now()
    with transaction.atomic():
        row = _locked_bargain(bargain)
        campaign = row.campaign
        if Help.objects.filter(bargain=row, helper=helper).exists():
            raise Conflict(_("You already helped this bargain."), code="already_helped")
        if row.state != Bargain.State.ACTIVE or row.deadline <= now:
            raise Conflict(_("This bargain is over."), code="bargain_closed")
        if row.helps_count >= campaign.helpers_needed:
            raise Conflict(
                _("This bargain already reached its lowest price."), code="floor_reached"
            )
        _campaign_running(campaign, now)
        if campaign.shop.owner_id == helper.pk:
            raise Conflict(_("You cannot help in your own shop."), code="own_shop")
        if campaign.new_users_only and not _is_new_user(helper):
            raise Conflict(
                _("Only new users (who have never ordered) can help in this campaign."),
                code="new_users_only",
            )
        _take_daily_help(helper=helper, limit=campaign.helps_per_day, now=now)
        position = row.helps_count + 1
        cut = cuts.cut_at(
            seed=row.seed,
            helpers=campaign.helpers_needed,
            total=campaign.total_cut_fen,
            position=position,
            version=row.cuts_version,
        )
        try:
            with transaction.atomic():
                help_row = Help.objects.create(
                    bargain=row, helper=helper, position=position, cut_fen=cut, created_at=now
                )
        except IntegrityError:
            raise Conflict(_("You already helped this bargain."), code="already_helped") from None
        # Conditional on the count we read under the lock: never two helps at one position,
        # never a price below the floor.
        moved = Bargain.objects.filter(
            pk=row.pk,
            state=Bargain.State.ACTIVE,
            helps_count=position - 1,
            current_price_fen__gte=campaign.floor_price_fen + cut,
        ).update(helps_count=position, current_price_fen=F("current_price_fen") - cut)
        if not moved:
            raise Conflict(_("This bargain changed; please try again."), code="bargain_changed")
        publish(
            "bargains.bargain.helped",
            bargain_public_id=row.public_id,
            helper_public_id=helper.public_id,
            cut_fen=cut,
            position=position,
        )
        if position == campaign.helpers_needed:
            publish("bargains.bargain.floor_reached", bargain_public_id=row.public_id)
    bargain.refresh_from_db()
    return help_row


def buy(*, bargain: Bargain, user, address_id: str) -> Order:
    """The initiator buys at the current price (the floor once N friends helped), shipped to
    their address ``address_id``."""
    _require_user(user)
    if bargain.initiator_id != user.pk:
        raise PermissionDenied(_("Only the person who started this bargain can buy."))
    # Read before any lock: a missing or foreign address takes nothing.
    address = order_services.buyer_address(buyer=user, address_public_id=address_id)
    now = clock.now()
    with transaction.atomic():
        row = _locked_bargain(bargain)
        campaign = row.campaign
        if row.state == Bargain.State.BUYING:
            raise Conflict(_("You already bought this; please pay."), code="already_buying")
        if row.state != Bargain.State.ACTIVE or row.deadline <= now:
            raise Conflict(_("This bargain is over."), code="bargain_closed")
        if campaign.state == BargainCampaign.State.ENDED or campaign.ends_at <= now:
            raise Conflict(_("This campaign has ended."), code="campaign_ended")
        if not campaign.buy_before_floor and row.helps_count < campaign.helpers_needed:
            raise Conflict(
                _("%(n)d more helps are needed before you can buy.") % {"n": row.helps_left},
                code="floor_not_reached",
            )
        if campaign.stock_left < 1:  # a fast answer; the conditional UPDATE below decides
            raise Conflict(_("Sorry, this campaign is sold out."), code="sold_out")
        window = payment_window()
        order = order_services.place_deal_order(
            buyer=user,
            shop=campaign.shop,
            title=campaign.title,
            unit_price_fen=row.current_price_fen,
            quantity=1,
            deal_ref=deal_ref_of(row),
            expires_at=now + window,
            address=address,
            sku=campaign.sku,
        )
        free = order.state == Order.State.PAID
        Bargain.objects.filter(pk=row.pk).update(
            state=Bargain.State.BOUGHT if free else Bargain.State.BUYING,
            order=order,
            bought_at=now,
            pay_deadline=now + window,
            paid_at=now if free else None,
        )
        publish(
            "bargains.bargain.bought",
            bargain_public_id=row.public_id,
            order_public_id=order.public_id,
            price_fen=order.total_fen,
        )
        # The campaign's unit last (lock order: checkout → payment → order → campaign); sold
        # out here rolls the order, the bargain's change and the event back with it.
        taken = (
            BargainCampaign.objects.filter(pk=campaign.pk, stock_left__gte=1)
            .exclude(state=BargainCampaign.State.ENDED)
            .update(stock_left=F("stock_left") - 1)
        )
        if not taken:
            raise Conflict(_("Sorry, this campaign is sold out."), code="sold_out")
    bargain.refresh_from_db()
    return order


# --- payments of bargain orders ---------------------------------------------------------------


def _bargain_of_order(order: Order) -> Bargain | None:
    ref = order.checkout.deal_ref
    if not ref.startswith(f"{DEAL_PREFIX}:"):
        return None
    return Bargain.objects.filter(public_id=ref.split(":", 1)[1][:40]).first()


def _reopen_or_expire(row: Bargain, now: datetime) -> None:
    """A purchase that will never be paid: the bargain runs on if it still can, else expires."""
    campaign = row.campaign
    still_open = (
        row.deadline > now
        and campaign.state != BargainCampaign.State.ENDED
        and campaign.ends_at > now
    )
    Bargain.objects.filter(pk=row.pk).update(
        state=Bargain.State.ACTIVE if still_open else Bargain.State.EXPIRED,
        order=None,
        pay_deadline=None,
        bought_at=None,
    )


def _settle_paid(row: Bargain, order: Order, now: datetime) -> str:
    """Under the bargain lock: accept the captured payment of the bargain's current order, or
    refund a payment that arrived for a purchase already cancelled."""
    accept = row.order_id == order.pk and row.state == Bargain.State.BUYING
    outcome = order_services.settle_deal_payment(order=order, accept=accept, await_deal=False)
    if accept and outcome == "paid":
        Bargain.objects.filter(pk=row.pk).update(state=Bargain.State.BOUGHT, paid_at=now)
        publish(
            "bargains.bargain.paid",
            bargain_public_id=row.public_id,
            order_public_id=order.public_id,
            buyer_public_id=order.buyer.public_id,
            shop_public_id=order.shop.public_id,
            community_public_id=pickup_selectors.community_public_id_of(order=order),
        )
    return outcome


def on_payment_succeeded(order: Order) -> None:
    bargain = _bargain_of_order(order)
    if bargain is None:
        return
    with transaction.atomic():
        row = _locked_bargain(bargain)
        _settle_paid(row, order, clock.now())


def _drop_purchase(row: Bargain, order: Order, now: datetime, reason: str) -> bool:
    """Cancel the unpaid purchase of a bargain (locked): unit back, order cancelled."""
    if row.order_id != order.pk or row.state != Bargain.State.BUYING:
        return False
    _reopen_or_expire(row, now)
    order_services.cancel_deal_order(order=order, reason=reason)
    _return_unit(row.campaign_id, row.campaign.sku_id)  # shared rows after the order's
    return True


def on_payment_failed(order: Order) -> None:
    """The payment failed or was cancelled: the purchase is dropped; the bargain runs on."""
    bargain = _bargain_of_order(order)
    if bargain is None:
        return
    with transaction.atomic():
        row = _locked_bargain(bargain)
        _drop_purchase(row, order, clock.now(), Order.CancelReason.PAYMENT_FAILED)


# --- deadlines --------------------------------------------------------------------------------


def _payment_captured(order: Order) -> bool:
    if not order.checkout.payment_public_id:
        return False
    payment = order_selectors.payment_of(checkout=order.checkout)
    return payment.state == "succeeded"


def expire_due(now: datetime) -> int:
    """Bargains past their deadline (or of an ended campaign) expire; purchases unpaid after the
    payment window are cancelled (unit back) — unless the payment was captured and its event
    lost, then it is settled now. Batches with SKIP LOCKED; idempotent."""
    return _expire_open(now) + _free_unpaid(now)


def _expire_open(now: datetime) -> int:
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                Bargain.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=Bargain.State.ACTIVE, deadline__lte=now)
                .order_by("deadline", "pk")[:SETTLE_BATCH_SIZE]
            )
            ended = list(
                Bargain.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=Bargain.State.ACTIVE, campaign__state=BargainCampaign.State.ENDED)
                .order_by("pk")[:SETTLE_BATCH_SIZE]
            )
            rows = {row.pk: row for row in batch + ended}
            expired += Bargain.objects.filter(pk__in=list(rows), state=Bargain.State.ACTIVE).update(
                state=Bargain.State.EXPIRED
            )
            for row in rows.values():
                publish("bargains.bargain.expired", bargain_public_id=row.public_id)
        if len(batch) < SETTLE_BATCH_SIZE and len(ended) < SETTLE_BATCH_SIZE:
            return expired


def _free_unpaid(now: datetime) -> int:
    """One bargain per transaction: each holds at most one campaign row (its stock coming
    back), so two workers never wait on each other's campaigns (no lock cycle)."""
    freed = 0
    seen: list[int] = []  # a row this run could not move (e.g. a partial capture) is not retried
    while True:
        with transaction.atomic():
            row = (
                Bargain.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("campaign", "order__checkout")
                .filter(state=Bargain.State.BUYING, pay_deadline__lte=now)
                .exclude(pk__in=seen)
                .order_by("pay_deadline", "pk")
                .first()
            )
            if row is None:
                return freed
            seen.append(row.pk)
            order = row.order
            if order is None:
                _reopen_or_expire(row, now)
            elif _payment_captured(order):
                _settle_paid(row, order, now)  # its success event was lost: settle, not cancel
            else:
                freed += _drop_purchase(row, order, now, Order.CancelReason.EXPIRED)


def end_due_campaigns(now: datetime) -> int:
    """Campaigns past their end: stock back to the SKU, once. One campaign per transaction
    (it locks its SKU), picked with SKIP LOCKED so workers share the work."""
    ended = 0
    while True:
        with transaction.atomic():
            campaign = (
                BargainCampaign.objects.select_for_update(skip_locked=True)
                .filter(ends_at__lte=now)
                .exclude(state=BargainCampaign.State.ENDED)
                .order_by("ends_at", "pk")
                .first()
            )
            if campaign is None:
                return ended
            end_campaign(campaign=campaign, now=now)
            ended += 1
