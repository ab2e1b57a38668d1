"""Flash sales: every write. Keyword-only arguments, one transaction each, events after commit.

Lock order (PostgreSQL, deadlock-free), the same on every path:

    purchase rows (primary-key order) → quota rows (primary-key order)
    → orders services (checkout → payment → order → …)
    → sale rows (primary-key order; one conditional UPDATE each, the last statements)
    → SKU rows (primary-key order)

The sale row is the hot row of a rush. A buyer's request touches it with exactly one conditional
UPDATE, the last statement of its transaction, so the row lock is held only from that statement
to the commit; it never ``select_for_update``s it. Once the sale as read says the units are gone,
the answer is "sold out" at once: no transaction, no lock, no write. Only the merchant's end and
the end sweeper lock sale rows (sale → SKU), and they never wait for one another (SKIP LOCKED).
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.catalog.models import SKU, Shop
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.idempotency import fingerprint_of, run_idempotent
from shoploop.core.ids import new_public_id
from shoploop.core.money import validate_fen
from shoploop.deals.flash.models import MAX_PER_USER_LIMIT, FlashPurchase, FlashQuota, FlashSale
from shoploop.deals.registry import deal_ref
from shoploop.ledger.services import payments
from shoploop.orders import pickup_selectors
from shoploop.orders import services as order_services
from shoploop.orders.models import Order

PREFIX = "flash"
SETTLE_BATCH_SIZE = 50
MAX_SALE_STOCK = 100_000
MAX_DURATION = timedelta(days=30)
# A start "now" from a form reaches the service a moment later; that is not "in the past".
START_GRACE = timedelta(minutes=1)
OPEN_STATES = (FlashSale.State.SCHEDULED, FlashSale.State.PAUSED)


def payment_minutes() -> int:
    """How long a reservation waits for its payment (``SHOPLOOP_FLASH_PAYMENT_MINUTES``)."""
    return settings.DEALS_FLASH_PAYMENT_MINUTES


def payment_window() -> timedelta:
    return timedelta(minutes=payment_minutes())


# --- checks ------------------------------------------------------------------------------------


def _require_user(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def _require_owner(*, shop: Shop, actor) -> None:
    _require_user(actor)
    if shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is not your shop's flash sale."), code="not_shop_owner")


def _whole(value, *, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed(
            _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
            fields={field: "range"},
        )
    return value


def _aware(value, *, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(_("Enter a date and time."), fields={field: "invalid"})
    return value


# --- merchant: create, pause, resume, end --------------------------------------------------------


def create_sale(
    *,
    shop: Shop,
    actor,
    sku: SKU,
    price_fen: int,
    stock: int,
    ends_at: datetime,
    starts_at: datetime | None = None,
    per_user_limit: int = 1,
) -> FlashSale:
    """Carve ``stock`` units from the SKU for a sale at ``price_fen`` (below the SKU's price)."""
    _require_owner(shop=shop, actor=actor)
    if not shop.is_approved:
        raise Conflict(_("Your shop has not been approved yet."), code="shop_not_approved")
    if sku.product.shop_id != shop.pk:
        raise PermissionDenied(_("This SKU is not from your shop."), code="not_shop_owner")
    if not sku.is_active:
        raise ValidationFailed(_("This SKU is not on sale."), fields={"sku_id": "inactive"})
    price_fen = validate_fen(price_fen, field="price_fen")
    if price_fen >= sku.price_fen:
        raise ValidationFailed(
            _("The flash price must be below the normal price."),
            code="price_not_below",
            fields={"price_fen": "not_below_price"},
        )
    stock = _whole(stock, field="stock", low=1, high=MAX_SALE_STOCK)
    per_user_limit = _whole(
        per_user_limit, field="per_user_limit", low=1, high=min(stock, MAX_PER_USER_LIMIT)
    )
    now = clock.now()
    starts_at = now if starts_at is None else _aware(starts_at, field="starts_at")
    ends_at = _aware(ends_at, field="ends_at")
    if starts_at < now - START_GRACE:
        raise ValidationFailed(
            _("The start cannot be in the past."),
            code="starts_in_past",
            fields={"starts_at": "past"},
        )
    if ends_at <= starts_at:
        raise ValidationFailed(
            _("The end must be after the start."),
            code="ends_before_start",
            fields={"ends_at": "before_start"},
        )
    if ends_at - starts_at > MAX_DURATION:
        raise ValidationFailed(
            _("A flash sale lasts at most 30 days."), fields={"ends_at": "too_long"}
        )
    with transaction.atomic():
        try:
            catalog_services.reserve_stock(sku_id=sku.pk, quantity=stock)
        except Conflict as error:
            raise ValidationFailed(
                _("The SKU has fewer units in stock than that."),
                code="not_enough_stock",
                fields={"stock": "above_sku_stock"},
            ) from error
        sale = FlashSale.objects.create(
            shop=shop,
            sku=sku,
            price_fen=price_fen,
            stock=stock,
            available=stock,
            per_user_limit=per_user_limit,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
        )
        publish("flash.sale.created", sale_public_id=sale.public_id)
    return sale


def pause_sale(*, sale: FlashSale, actor) -> FlashSale:
    """Stop selling for now; reservations already made stay payable."""
    _require_owner(shop=sale.shop, actor=actor)
    changed = FlashSale.objects.filter(
        pk=sale.pk, state=FlashSale.State.SCHEDULED, ends_at__gt=clock.now()
    ).update(state=FlashSale.State.PAUSED)
    if not changed:
        raise Conflict(_("Only a running or upcoming sale can be paused."), code="not_pausable")
    sale.refresh_from_db()
    return sale


def resume_sale(*, sale: FlashSale, actor) -> FlashSale:
    _require_owner(shop=sale.shop, actor=actor)
    changed = FlashSale.objects.filter(
        pk=sale.pk, state=FlashSale.State.PAUSED, ends_at__gt=clock.now()
    ).update(state=FlashSale.State.SCHEDULED)
    if not changed:
        raise Conflict(_("Only a paused sale can be resumed."), code="not_paused")
    sale.refresh_from_db()
    return sale


def end_sale(*, sale: FlashSale, actor) -> FlashSale:
    """The merchant ends the sale early: leftovers go back to the SKU. Ending twice is a no-op."""
    _require_owner(shop=sale.shop, actor=actor)
    with transaction.atomic():
        locked = FlashSale.objects.select_for_update().get(pk=sale.pk)
        to_sku = Counter()
        _end_locked(locked, to_sku=to_sku)
        _release_to_skus(to_sku)
    sale.refresh_from_db()
    return sale


def _end_locked(sale: FlashSale, *, to_sku: Counter) -> bool:
    """Under the sale's lock: mark it ended, exactly once (the state guard makes a second call,
    or a second worker, a no-op), and count its unreserved units in ``to_sku`` for the caller
    to give back to the SKU after its sale rows (lock order)."""
    if sale.state not in OPEN_STATES:
        return False
    leftover = sale.available
    FlashSale.objects.filter(pk=sale.pk, state__in=OPEN_STATES).update(
        state=FlashSale.State.ENDED,
        available=0,
        returned=F("returned") + leftover,
        ended_at=clock.now(),
    )
    if leftover:
        to_sku[sale.sku_id] += leftover
    publish("flash.sale.ended", sale_public_id=sale.public_id, returned=leftover)
    return True


def _release_to_skus(to_sku: Counter) -> None:
    """Units back to their SKUs, in primary-key order (the last locks of a transaction)."""
    for sku_id in sorted(to_sku):
        if to_sku[sku_id]:
            catalog_services.release_stock(sku_id=sku_id, quantity=to_sku[sku_id])


# --- buyers ----------------------------------------------------------------------------------


class SoldOut(Conflict):
    code = "sold_out"
    default_message = _("Sold out. Every unit of this flash sale has been taken.")


def _not_open_error(sale: FlashSale, now) -> DomainError | None:
    status = sale.status(now)
    if status == "scheduled":
        return Conflict(_("This flash sale has not started yet."), code="not_started")
    if status == "ended":
        return Conflict(_("This flash sale has ended."), code="ended")
    if status == FlashSale.State.PAUSED:
        return Conflict(_("This flash sale is paused."), code="paused")
    return None


def buy(*, sale: FlashSale, user, address_id: str, quantity: int = 1) -> FlashPurchase:
    """Reserve ``quantity`` units for ``user`` and place the deal order to pay within the window,
    shipped to the buyer's address ``address_id``.

    The per-user limit is one conditional UPDATE on the buyer's quota row (first); the stock is
    one conditional UPDATE on the sale row, the last statement, so the hot row stays locked only
    until the commit. If it finds too few units, everything before it rolls back: nothing
    changed. A sale that, as read for this request, has too few units left is refused at once,
    without a transaction."""
    _require_user(user)
    now = clock.now()
    error = _not_open_error(sale, now)
    if error is not None:
        raise error
    quantity = _whole(quantity, field="quantity", low=1, high=MAX_PER_USER_LIMIT)
    if sale.shop.owner_id == user.pk:
        raise Conflict(_("You cannot buy from your own shop."), code="own_shop")
    if quantity > sale.per_user_limit:
        raise _limit_reached(sale)
    if sale.available < quantity:
        # The sale row as read for this request already says so: answer at once, write nothing.
        raise SoldOut()
    # Read before any write: a missing or foreign address takes no quota and no unit.
    address = order_services.buyer_address(buyer=user, address_public_id=address_id)
    with transaction.atomic():
        _take_quota(sale=sale, user=user, quantity=quantity)
        purchase = _place(sale=sale, user=user, quantity=quantity, now=now, address=address)
        # The event's outbox row is written before the hot row's UPDATE, which stays the last
        # write (its lock is held only until the commit); a sold-out rolls both back.
        publish(
            "flash.purchase.reserved",
            purchase_public_id=purchase.public_id,
            sale_public_id=sale.public_id,
            buyer_public_id=user.public_id,
            quantity=quantity,
        )
        _take_units(sale=sale, quantity=quantity, now=now)
    return purchase


def buy_idempotently(
    *, sale: FlashSale, user, key: str, address_id: str, quantity: int = 1
) -> tuple[FlashPurchase, bool]:
    """``buy`` at most once per (buyer, key), for a client that retries after a timeout: the same
    key and body return the first purchase; the same key with another body is a 409. Returns
    (purchase, replayed)."""
    _require_user(user)

    def compute():
        purchase = buy(sale=sale, user=user, address_id=address_id, quantity=quantity)
        return 201, {"purchase_id": purchase.public_id}

    result = run_idempotent(
        scope=f"deals.flash.buy:{user.pk}",
        key=key,
        fingerprint=fingerprint_of(
            {"sale": sale.public_id, "quantity": quantity, "address_id": address_id}
        ),
        compute=compute,
    )
    purchase = FlashPurchase.objects.select_related("order__checkout").get(
        public_id=result.body["purchase_id"]
    )
    return purchase, result.replayed


def _limit_reached(sale: FlashSale) -> Conflict:
    return Conflict(
        _("You can buy at most %(limit)d of this flash sale.") % {"limit": sale.per_user_limit},
        code="limit_reached",
        fields={"quantity": "limit"},
    )


def _take_quota(*, sale: FlashSale, user, quantity: int) -> None:
    FlashQuota.objects.bulk_create(
        [FlashQuota(sale=sale, buyer=user, bought=0)], ignore_conflicts=True
    )
    taken = FlashQuota.objects.filter(
        sale=sale, buyer=user, bought__lte=sale.per_user_limit - quantity
    ).update(bought=F("bought") + quantity)
    if not taken:
        raise _limit_reached(sale)


def _take_units(*, sale: FlashSale, quantity: int, now) -> None:
    taken = FlashSale.objects.filter(
        pk=sale.pk,
        state=FlashSale.State.SCHEDULED,
        starts_at__lte=now,
        ends_at__gt=now,
        available__gte=quantity,
    ).update(available=F("available") - quantity)
    if taken:
        return
    # Paused or ended meanwhile, or the last units went to someone else.
    fresh = FlashSale.objects.get(pk=sale.pk)
    raise _not_open_error(fresh, now) or SoldOut()


def _place(*, sale: FlashSale, user, quantity: int, now, address) -> FlashPurchase:
    public_id = new_public_id()
    reserved_until = now + payment_window()
    order = order_services.place_deal_order(
        buyer=user,
        shop=sale.shop,
        title=sale.sku.product.title,
        unit_price_fen=sale.price_fen,
        quantity=quantity,
        deal_ref=deal_ref(PREFIX, public_id),
        expires_at=reserved_until,
        address=address,
        sku=sale.sku,
    )
    return FlashPurchase.objects.create(
        public_id=public_id,
        sale=sale,
        buyer=user,
        quantity=quantity,
        order=order,
        reserved_until=reserved_until,
        created_at=now,
    )


# --- payment outcomes (deals.handlers routes them here) ------------------------------------------


def _purchase_of(order: Order) -> FlashPurchase | None:
    return FlashPurchase.objects.filter(order_id=order.pk).first()


def on_payment_succeeded(order: Order) -> str:
    """A reserved purchase becomes paid (the order goes to fulfilment); a payment for a purchase
    already released (paid too late) is refunded in full. Idempotent."""
    purchase = _purchase_of(order)
    if purchase is None:
        return "unknown"
    with transaction.atomic():
        purchase = FlashPurchase.objects.select_for_update().get(pk=purchase.pk)
        return _settle_captured(purchase)


def _settle_captured(purchase: FlashPurchase) -> str:
    """Under the purchase's lock: answer its captured payment."""
    if purchase.state == FlashPurchase.State.RELEASED:
        return order_services.settle_deal_payment(order=purchase.order, accept=False)
    outcome = order_services.settle_deal_payment(order=purchase.order, accept=True)
    if outcome == "paid":
        FlashPurchase.objects.filter(pk=purchase.pk, state=FlashPurchase.State.RESERVED).update(
            state=FlashPurchase.State.PAID, settled_at=clock.now()
        )
        publish(
            "flash.purchase.paid",
            purchase_public_id=purchase.public_id,
            sale_public_id=purchase.sale.public_id,
            buyer_public_id=purchase.buyer.public_id,
            order_public_id=purchase.order.public_id,
            shop_public_id=purchase.order.shop.public_id,
            community_public_id=pickup_selectors.community_public_id_of(order=purchase.order),
        )
    return outcome


def on_payment_failed(order: Order) -> bool:
    """A failed or canceled payment gives the units and the buyer's quota back."""
    purchase = _purchase_of(order)
    if purchase is None:
        return False
    with transaction.atomic():
        purchase = FlashPurchase.objects.select_for_update().get(pk=purchase.pk)
        if purchase.state != FlashPurchase.State.RESERVED:
            return False
        _lock_quotas([purchase])
        units = Counter()
        _release(purchase, reason=Order.CancelReason.PAYMENT_FAILED, units=units)
        _return_units(units)
        return True


def _lock_quotas(purchases) -> None:
    """The quota rows of exactly these purchases' (sale, buyer) pairs, in primary-key order
    (after the purchases, before the orders' rows, as a buyer's request takes them)."""
    pairs = {(purchase.sale_id, purchase.buyer_id) for purchase in purchases}
    if not pairs:
        return
    match = Q()
    for sale_id, buyer_id in sorted(pairs):
        match |= Q(sale_id=sale_id, buyer_id=buyer_id)
    list(FlashQuota.objects.select_for_update().filter(match).order_by("pk").values_list("pk"))


def _release(purchase: FlashPurchase, *, reason: str, units: Counter) -> None:
    """Under the purchase's and its quota's locks (state reserved): quota back, order cancelled
    (checkout → payment → order); its units are counted in ``units`` (sale id → quantity) for
    the caller to give back with ``_return_units``, after every order of its transaction."""
    FlashPurchase.objects.filter(pk=purchase.pk, state=FlashPurchase.State.RESERVED).update(
        state=FlashPurchase.State.RELEASED, settled_at=clock.now()
    )
    FlashQuota.objects.filter(
        sale_id=purchase.sale_id, buyer_id=purchase.buyer_id, bought__gte=purchase.quantity
    ).update(bought=F("bought") - purchase.quantity)
    order_services.cancel_deal_order(order=purchase.order, reason=reason)
    units[purchase.sale_id] += purchase.quantity
    publish(
        "flash.purchase.released",
        purchase_public_id=purchase.public_id,
        sale_public_id=purchase.sale.public_id,
        buyer_public_id=purchase.buyer.public_id,
    )


def return_units_of_order(*, order: Order, quantity: int) -> None:
    """A paid flash-sale order that the shop or the buyer cancelled (or refunded before
    shipping): its units go back to the sale while it is open, else to the SKU."""
    sale_id = (
        FlashPurchase.objects.filter(order_id=order.pk).values_list("sale_id", flat=True).first()
    )
    if sale_id is not None and quantity > 0:
        _return_units(Counter({sale_id: quantity}))


def _return_units(units: Counter) -> None:
    """Released units (sale id → quantity) back, sale rows in primary-key order, then SKUs.

    Back to the sale while it is open; once it ended, straight back to the SKU (the sale's
    leftovers were already returned). The state condition makes the choice race-safe against
    ``_end_locked``, which holds the sale row's lock while it flips the state."""
    sku_of = dict(FlashSale.objects.filter(pk__in=list(units)).values_list("pk", "sku_id"))
    to_sku = Counter()
    for sale_id in sorted(units):
        quantity = units[sale_id]
        back = FlashSale.objects.filter(pk=sale_id, state__in=OPEN_STATES).update(
            available=F("available") + quantity
        )
        if not back:
            FlashSale.objects.filter(pk=sale_id).update(returned=F("returned") + quantity)
            to_sku[sku_of[sale_id]] += quantity
    _release_to_skus(to_sku)


# --- deadlines -------------------------------------------------------------------------------


def _payment_captured(purchase: FlashPurchase) -> bool:
    public_id = purchase.order.checkout.payment_public_id
    if not public_id:
        return False
    return payments.payment_by_public_id(public_id=public_id).state == "succeeded"


def release_unpaid(now) -> int:
    """Reservations past their payment window: cancelled, units and quota back. A payment that
    was captured but whose event was lost (a crash) is settled instead. Returns how many
    purchases were handled."""
    handled = 0
    while True:
        with transaction.atomic():
            batch = list(
                # Only the purchase rows (not the joined order and checkout): those are
                # locked later, through the orders services, in their own order.
                FlashPurchase.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=FlashPurchase.State.RESERVED, reserved_until__lte=now)
                .select_related("order", "order__checkout")
                .order_by("reserved_until", "pk")[:SETTLE_BATCH_SIZE]
            )
            _lock_quotas(batch)
            units = Counter()
            for purchase in batch:
                if _payment_captured(purchase):
                    _settle_captured(purchase)
                else:
                    _release(purchase, reason=Order.CancelReason.EXPIRED, units=units)
                handled += 1
            _return_units(units)
        if len(batch) < SETTLE_BATCH_SIZE:
            return handled


def end_due_sales(now) -> int:
    """Sales past their end: ended, leftovers back to the SKU, once."""
    ended = 0
    while True:
        with transaction.atomic():
            batch = list(
                FlashSale.objects.select_for_update(skip_locked=True)
                .filter(state__in=OPEN_STATES, ends_at__lte=now)
                .order_by("ends_at", "pk")[:SETTLE_BATCH_SIZE]
            )
            to_sku = Counter()
            for sale in batch:
                ended += int(_end_locked(sale, to_sku=to_sku))
            _release_to_skus(to_sku)
        if len(batch) < SETTLE_BATCH_SIZE:
            return ended
