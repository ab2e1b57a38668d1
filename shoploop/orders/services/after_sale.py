"""After-sale: requests, the shop's answers, returns, escalations, refunds, and the deadlines
that make every request end."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import services as catalog_services
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.text import clean_text
from shoploop.ledger.models import AccountKind
from shoploop.ledger.services import transfer
from shoploop.orders.models import (
    CARRIER_MAX_LENGTH,
    MAX_AFTER_SALE_PHOTOS,
    MIN_QUANTITY,
    NOTE_AUTO_REFUND_NO_ANSWER,
    NOTE_AUTO_REFUND_RETURN,
    NOTE_NOTHING_TO_REFUND,
    NOTE_REFUND_ACCEPTED,
    NOTE_REFUNDED_BEFORE_SHIPPING,
    NOTE_RETURN_RECEIVED,
    REASON_MAX_LENGTH,
    TRACKING_MAX_LENGTH,
    AfterSale,
    AfterSaleLine,
    AfterSalePhoto,
    Checkout,
    Order,
    OrderLine,
)
from shoploop.orders.services._base import (
    SETTLE_BATCH_SIZE,
    _publish,
    _quantity,
    _record,
    _require_buyer,
    _require_merchant,
    _require_operator,
    after_sale_days,
)
from shoploop.orders.services.fulfilment import (
    _locked,
    _void_current_hold,
)
from shoploop.orders.services.payment import (
    _escrow,
    _give_back_deal_units,
    _hold_key,
    _lock_payment_of,
    _merchant_account,
    _payment_of,
    _refund,
)

# --- after-sale -------------------------------------------------------------------------------
#
# Every open request ends by itself or reaches an operator: REQUESTED waits for the shop until
# ``due_at`` (answer deadline), ACCEPTED (a return) waits for the buyer's return shipment, and
# RETURN_SHIPPED waits for the shop to confirm or dispute the returned goods; at each ``due_at``
# ``settle_after_sale_deadlines`` decides. ESCALATED waits for an operator (the admin queue).
# Locks: checkout → payment → order → after-sale, like every other money path.

PHOTO_MAX_SIDE = 1600


def answer_hours() -> int:
    return int(getattr(settings, "AFTER_SALE_ANSWER_HOURS", 48))


def return_ship_days() -> int:
    return int(getattr(settings, "AFTER_SALE_RETURN_SHIP_DAYS", 7))


def return_auto_refund_days() -> int:
    return int(getattr(settings, "AFTER_SALE_RETURN_AUTO_REFUND_DAYS", 7))


def _line_refund_amount(line: OrderLine, quantity: int) -> int:
    """Partial refunds take their share rounded down; the last unit returns the exact rest, so a
    line's refunds always add up to what was paid for it."""
    if line.refunded_quantity + quantity == line.quantity:
        return line.paid_fen - line.refunded_fen
    return line.paid_fen * quantity // line.quantity


def _all_refundable_lines(order: Order) -> list[dict]:
    """No lines chosen: everything not yet refunded, each line's whole quantity."""
    return [
        {"line_id": line.public_id, "quantity": line.refundable_quantity}
        for line in order.lines.all()
        if line.refundable_quantity
    ]


def _clean_refund_lines(*, order: Order, lines) -> list[tuple[OrderLine, int]]:
    if lines is None:
        lines = _all_refundable_lines(order)
    if not isinstance(lines, list | tuple) or not lines or len(lines) > 100:
        raise ValidationFailed(_("Choose what to refund."), fields={"lines": "required"})
    by_id = {line.public_id: line for line in order.lines.all()}
    chosen: dict[str, int] = {}
    for item in lines:
        if not isinstance(item, dict | tuple | list):
            raise ValidationFailed(_("Choose what to refund."), fields={"lines": "invalid"})
        line_id, quantity = (
            (item.get("line_id"), item.get("quantity")) if isinstance(item, dict) else item
        )
        if not isinstance(line_id, str) or line_id not in by_id:
            raise NotFound(_("No such line in this order."), code="line_not_found")
        if line_id in chosen:
            raise ValidationFailed(_("Each line once, please."), fields={"lines": "duplicate"})
        line = by_id[line_id]
        available = line.refundable_quantity
        if available < MIN_QUANTITY:
            raise Conflict(_("This line was already refunded."), code="already_refunded")
        # No quantity given: what was bought (and is not refunded yet).
        chosen[line_id] = _quantity(available if quantity is None else quantity, maximum=available)
    return [(by_id[line_id], quantity) for line_id, quantity in chosen.items()]


def _within_after_sale_window(order: Order) -> bool:
    return (
        order.state == Order.State.RECEIVED
        and order.received_at is not None
        and clock.now() < order.received_at + timedelta(days=after_sale_days())
    )


def after_sale_possible(order: Order) -> bool:
    """Paid (before shipping: refund only), shipped, or received and inside the window."""
    return order.state in (Order.State.PAID, Order.State.SHIPPED) or _within_after_sale_window(
        order
    )


def _clean_kind(*, kind: str, order: Order) -> str:
    if kind not in AfterSale.Kind.values:
        raise ValidationFailed(
            _("Choose refund only or return and refund."), fields={"kind": "invalid"}
        )
    if kind == AfterSale.Kind.RETURN_AND_REFUND and order.state == Order.State.PAID:
        raise Conflict(
            _("Nothing was shipped yet: ask for a refund only."), code="nothing_to_return"
        )
    return kind


def _clean_reason(*, reason_code: str, reason) -> tuple[str, str]:
    if reason_code not in AfterSale.Reason.values:
        raise ValidationFailed(
            _("Choose a reason from the list."), fields={"reason_code": "invalid"}
        )
    # "Other" must say what; a reason from the list may add details.
    details = clean_text(
        reason,
        field="reason",
        max_length=REASON_MAX_LENGTH,
        required=reason_code == AfterSale.Reason.OTHER,
    )
    return reason_code, details


def _prepared_photos(photos) -> list:
    photos = [photo for photo in (photos or []) if photo is not None]
    if len(photos) > MAX_AFTER_SALE_PHOTOS:
        raise ValidationFailed(
            _("At most %(max)d photos, please.") % {"max": MAX_AFTER_SALE_PHOTOS},
            code="too_many_photos",
            fields={"photos": "too_many"},
        )
    return [
        prepared_image(photo, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos")
        for photo in photos
    ]


def _store_photos(*, after_sale: AfterSale, prepared: list, first_position: int = 0) -> None:
    for offset, image in enumerate(prepared):
        photo = AfterSalePhoto(
            after_sale=after_sale,
            width=image.width,
            height=image.height,
            position=first_position + offset,
        )
        save_with_image(photo, image.file)


def request_after_sale(
    *,
    order: Order,
    actor,
    kind: str,
    reason: str = "",
    lines=None,
    reason_code: str = AfterSale.Reason.OTHER,
    photos=(),
) -> AfterSale:
    """The buyer asks for a refund (or a return and refund) of some units: before shipping
    (refund only), while shipped, or within the window after receipt. ``lines`` None means
    everything not yet refunded; a line without a quantity means all of it. Up to
    MAX_AFTER_SALE_PHOTOS photos, each checked and re-encoded before anything is written.
    The shop must answer within ``answer_hours()``."""
    _require_buyer(order=order, actor=actor)
    kind = _clean_kind(kind=kind, order=order)
    reason_code, reason = _clean_reason(reason_code=reason_code, reason=reason)
    prepared = _prepared_photos(photos)
    with transaction.atomic():
        order = _locked(order)
        if not after_sale_possible(order):
            raise Conflict(
                _("After-sale requests are possible for %(days)d days after receipt.")
                % {"days": after_sale_days()},
                code="after_sale_window_closed",
            )
        _clean_kind(kind=kind, order=order)  # the order may have changed since the first look
        chosen = _clean_refund_lines(order=order, lines=lines)
        now = clock.now()
        try:
            with transaction.atomic():
                after_sale = AfterSale.objects.create(
                    order=order,
                    kind=kind,
                    reason_code=reason_code,
                    reason=reason,
                    amount_fen=sum(_line_refund_amount(line, qty) for line, qty in chosen),
                    created_at=now,
                    due_at=now + timedelta(hours=answer_hours()),
                )
        except IntegrityError:
            raise Conflict(
                _("This order already has an open after-sale request."),
                code="after_sale_already_open",
            ) from None
        AfterSaleLine.objects.bulk_create(
            AfterSaleLine(
                after_sale=after_sale,
                order_line=line,
                quantity=qty,
                amount_fen=_line_refund_amount(line, qty),
            )
            for line, qty in chosen
        )
        _store_photos(after_sale=after_sale, prepared=prepared)
        _record(order, "after_sale_requested", actor=actor, note=reason)
        _publish("orders.after_sale.requested", order, after_sale_public_id=after_sale.public_id)
    return after_sale


def add_after_sale_photo(*, after_sale: AfterSale, actor, upload) -> AfterSalePhoto:
    """One more photo for an open request (the API's multipart upload), at most
    MAX_AFTER_SALE_PHOTOS in all; the request's row lock keeps the limit under concurrency."""
    _require_buyer(order=after_sale.order, actor=actor)
    prepared = prepared_image(
        upload, max_width=PHOTO_MAX_SIDE, max_height=PHOTO_MAX_SIDE, field="photos"
    )
    with transaction.atomic():
        locked = AfterSale.objects.select_for_update().get(pk=after_sale.pk)
        if locked.state not in AfterSale.OPEN_STATES:
            raise Conflict(_("This request is already decided."), code="after_sale_decided")
        count = locked.photos.count()
        if count >= MAX_AFTER_SALE_PHOTOS:
            raise ValidationFailed(
                _("At most %(max)d photos, please.") % {"max": MAX_AFTER_SALE_PHOTOS},
                code="too_many_photos",
                fields={"photos": "too_many"},
            )
        _store_photos(after_sale=locked, prepared=[prepared], first_position=count)
    return locked.photos.order_by("-position").first()


def _locked_after_sale(after_sale: AfterSale) -> tuple[AfterSale, Order]:
    checkout_row = Checkout.objects.select_for_update().get(pk=after_sale.order.checkout_id)
    _lock_payment_of(checkout_row)
    order = _locked(after_sale.order)
    return AfterSale.objects.select_for_update().get(pk=after_sale.pk), order


def _set_state(after_sale: AfterSale, **changes) -> None:
    """Under the request's lock: write the changes (``due_at`` cleared unless given)."""
    changes.setdefault("due_at", None)
    AfterSale.objects.filter(pk=after_sale.pk).update(**changes)


def _require_state(after_sale: AfterSale, state: str, message, code: str) -> None:
    if after_sale.state != state:
        raise Conflict(message, code=code)


def accept_after_sale(*, after_sale: AfterSale, actor) -> AfterSale:
    """The shop agrees: "refund only" is refunded now; "return and refund" waits for the goods
    (the buyer sees the shop's return address and has ``return_ship_days()`` to send them)."""
    _require_merchant(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REQUESTED,
            _("This request was already decided."),
            "after_sale_decided",
        )
        if after_sale.kind == AfterSale.Kind.REFUND_ONLY:
            _execute_refund(after_sale=after_sale, order=order, actor=actor)
        else:
            _accept_return(after_sale=after_sale, order=order, actor=actor)
    after_sale.refresh_from_db()
    return after_sale


def _accept_return(*, after_sale: AfterSale, order: Order, actor) -> None:
    if not order.shop.return_address.strip():
        raise Conflict(
            _("Add a return address in your shop settings before accepting a return."),
            code="no_return_address",
        )
    now = clock.now()
    _set_state(
        after_sale,
        state=AfterSale.State.ACCEPTED,
        accepted_at=now,
        decided_by=actor,
        due_at=now + timedelta(days=return_ship_days()),
    )
    _record(order, "after_sale_accepted", actor=actor)
    _publish("orders.after_sale.accepted", order, after_sale_public_id=after_sale.public_id)


def ship_return(*, after_sale: AfterSale, actor, carrier: str, tracking_number: str) -> AfterSale:
    """The buyer sent the goods back; unless the shop disputes them within
    ``return_auto_refund_days()``, the refund is made automatically."""
    _require_buyer(order=after_sale.order, actor=actor)
    carrier = clean_text(carrier, field="carrier", max_length=CARRIER_MAX_LENGTH, required=True)
    tracking_number = clean_text(
        tracking_number, field="tracking_number", max_length=TRACKING_MAX_LENGTH, required=True
    )
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.ACCEPTED,
            _("Send the goods back only after the shop accepted the return."),
            "return_not_accepted",
        )
        now = clock.now()
        _set_state(
            after_sale,
            state=AfterSale.State.RETURN_SHIPPED,
            return_carrier=carrier,
            return_tracking_number=tracking_number,
            return_shipped_at=now,
            due_at=now + timedelta(days=return_auto_refund_days()),
        )
        _record(
            order, "after_sale_return_shipped", actor=actor, note=f"{carrier} {tracking_number}"
        )
        _publish(
            "orders.after_sale.return_shipped", order, after_sale_public_id=after_sale.public_id
        )
    after_sale.refresh_from_db()
    return after_sale


def confirm_return_received(*, after_sale: AfterSale, actor) -> AfterSale:
    """The shop got the goods back: the buyer is refunded now."""
    _require_merchant(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.RETURN_SHIPPED,
            _("The buyer has not sent the goods back yet."),
            "return_not_shipped",
        )
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=actor,
            note=NOTE_RETURN_RECEIVED,
        )
    after_sale.refresh_from_db()
    return after_sale


def dispute_return(*, after_sale: AfterSale, actor, reason: str) -> AfterSale:
    """The shop says the returned goods are not what was sent (or never came): an operator
    decides (the admin's escalated queue)."""
    _require_merchant(order=after_sale.order, actor=actor)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.RETURN_SHIPPED,
            _("The buyer has not sent the goods back yet."),
            "return_not_shipped",
        )
        _escalate(
            after_sale=after_sale,
            order=order,
            cause=AfterSale.Escalation.DISPUTE,
            actor=actor,
            kind="after_sale_disputed",
            note=reason,
            dispute_reason=reason,
        )
    after_sale.refresh_from_db()
    return after_sale


def reject_after_sale(*, after_sale: AfterSale, actor, reason: str) -> AfterSale:
    _require_merchant(order=after_sale.order, actor=actor)
    reason = clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REQUESTED,
            _("This request was already decided."),
            "after_sale_decided",
        )
        _set_state(
            after_sale,
            state=AfterSale.State.REJECTED,
            rejection_reason=reason,
            decided_by=actor,
            decided_at=clock.now(),
        )
        _record(order, "after_sale_rejected", actor=actor, note=reason)
        _publish("orders.after_sale.rejected", order, after_sale_public_id=after_sale.public_id)
    after_sale.refresh_from_db()
    return after_sale


def _escalate(
    *, after_sale: AfterSale, order: Order, cause: str, actor, kind: str, **extra
) -> None:
    note = extra.pop("note", "")
    _set_state(
        after_sale,
        state=AfterSale.State.ESCALATED,
        escalation=cause,
        escalated_at=clock.now(),
        **extra,
    )
    _record(order, kind, actor=actor, note=note)
    _publish(
        "orders.after_sale.escalated",
        order,
        after_sale_public_id=after_sale.public_id,
        cause=cause,
    )


def escalate_after_sale(*, after_sale: AfterSale, actor) -> AfterSale:
    """The buyer asks the platform to decide a rejected request (while after-sale is possible)."""
    _require_buyer(order=after_sale.order, actor=actor)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.REJECTED,
            _("Only a rejected request can be escalated."),
            "cannot_escalate",
        )
        if not after_sale_possible(order):
            raise Conflict(_("The after-sale window has closed."), code="after_sale_window_closed")
        try:
            with transaction.atomic():
                _escalate(
                    after_sale=after_sale,
                    order=order,
                    cause=AfterSale.Escalation.BUYER,
                    actor=actor,
                    kind="after_sale_escalated",
                )
        except IntegrityError:
            raise Conflict(
                _("This order already has an open after-sale request."),
                code="after_sale_already_open",
            ) from None
    after_sale.refresh_from_db()
    return after_sale


def decide_escalated_after_sale(
    *, after_sale: AfterSale, actor, refund: bool, note: str = ""
) -> AfterSale:
    """An operator's final word on an escalated request (the admin action calls this)."""
    _require_operator(actor)
    note = clean_text(note, field="note", max_length=REASON_MAX_LENGTH, required=False)
    with transaction.atomic():
        after_sale, order = _locked_after_sale(after_sale)
        _require_state(
            after_sale,
            AfterSale.State.ESCALATED,
            _("Only escalated requests are decided here."),
            "not_escalated",
        )
        AfterSale.objects.filter(pk=after_sale.pk).update(decision_note=note)
        if refund:
            _execute_refund(after_sale=after_sale, order=order, actor=actor)
        else:
            _set_state(
                after_sale, state=AfterSale.State.CLOSED, decided_by=actor, decided_at=clock.now()
            )
            _record(order, "after_sale_closed", actor=actor, note=note)
    after_sale.refresh_from_db()
    return after_sale


def _refundable(order: Order) -> bool:
    return order.has_hold and order.state in (
        Order.State.PAID,
        Order.State.SHIPPED,
        Order.State.RECEIVED,
    )


def _execute_refund(*, after_sale: AfterSale, order: Order, actor, note: str = "") -> None:
    """Refund the request's lines: void the hold, re-hold the rest, refund from the escrow.

    The order row is locked; the conditional updates below are the backstop that the sum
    refunded can never exceed what was paid, per line and per order. The refund's key is the
    request's, so a request is refunded at most once whatever path gets here."""
    if not _refundable(order):
        raise Conflict(_("This order can no longer be refunded here."), code="cannot_refund")
    amount = 0
    refunded_units = []
    for item in after_sale.lines.select_related("order_line"):
        line = item.order_line
        line_amount = _line_refund_amount(line, item.quantity)
        changed = OrderLine.objects.filter(
            pk=line.pk, refunded_quantity__lte=line.quantity - item.quantity
        ).update(
            refunded_quantity=F("refunded_quantity") + item.quantity,
            refunded_fen=F("refunded_fen") + line_amount,
        )
        if not changed:
            raise Conflict(_("This line was already refunded."), code="already_refunded")
        amount += line_amount
        refunded_units.append((line, item.quantity))
    changed = Order.objects.filter(pk=order.pk, refunded_fen__lte=order.total_fen - amount).update(
        refunded_fen=F("refunded_fen") + amount
    )
    if not changed:
        raise Conflict(_("That is more than was paid."), code="refund_exceeds_paid")
    remaining = order.net_fen - amount
    _rehold_remainder(order=order, remaining=remaining)
    _refund(
        payment=_payment_of(order.checkout),
        amount=amount,
        key=f"after_sale:{after_sale.public_id}:refund",
        reason="after_sale",
    )
    _set_state(
        after_sale,
        state=AfterSale.State.REFUNDED,
        amount_fen=amount,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_at=clock.now(),
    )
    _record(order, "refunded", actor=actor, note=note or NOTE_REFUND_ACCEPTED)
    _publish(
        "orders.order.refunded", order, amount_fen=amount, after_sale_public_id=after_sale.public_id
    )
    if order.state == Order.State.PAID:
        _unship_refunded_units(order=order, units=refunded_units, nothing_left=remaining == 0)


def _unship_refunded_units(*, order: Order, units, nothing_left: bool) -> None:
    """Refunded before shipping: those units are back in stock, and an order refunded whole is
    cancelled, so the shop no longer sees it to ship. A deal's order took no SKU stock (the
    campaign holds its own): those units go back to the deal's reserve instead."""
    if order.checkout.deal_ref:
        _give_back_deal_units(order, sum(quantity for _line, quantity in units))
    else:
        for line, quantity in sorted(units, key=lambda unit: unit[0].sku_id or 0):
            if line.sku_id:
                catalog_services.release_stock(sku_id=line.sku_id, quantity=quantity)
    if nothing_left:
        now = clock.now()
        Order.objects.filter(pk=order.pk, state=Order.State.PAID).update(
            state=Order.State.CANCELLED, cancel_reason=Order.CancelReason.BUYER, cancelled_at=now
        )
        order.state = Order.State.CANCELLED
        _record(order, "cancelled", note=NOTE_REFUNDED_BEFORE_SHIPPING)
        _publish("orders.order.cancelled", order, reason=Order.CancelReason.BUYER)


def _rehold_remainder(*, order: Order, remaining: int) -> None:
    _void_current_hold(order)
    version = order.hold_version + 1
    if remaining > 0:
        transfer(
            key=_hold_key(order, version),
            debit=_escrow(_payment_of(order.checkout)),
            credit=_merchant_account(order.shop, AccountKind.MERCHANT_PENDING),
            amount=remaining,
            reason="order_hold",
            cause=order.ref,
            pending=True,
        )
    Order.objects.filter(pk=order.pk).update(hold_version=version, has_hold=remaining > 0)
    order.hold_version, order.has_hold = version, remaining > 0


# --- after-sale deadlines (settle_due handler) ---


def settle_after_sale_deadlines(now) -> int:
    """Decide every open request whose ``due_at`` has passed. Claims the requests' checkouts with
    SKIP LOCKED (checkout first, as on every money path), a small batch per transaction, then
    re-reads each request under its lock: running twice, or in several workers at once, decides
    each request once and refunds it at most once."""
    settled = 0
    while True:
        with transaction.atomic():
            due = AfterSale.objects.filter(
                order__checkout=OuterRef("pk"),
                state__in=AfterSale.DEADLINE_STATES,
                due_at__lte=now,
            )
            batch = list(
                Checkout.objects.select_for_update(skip_locked=True)
                .filter(Exists(due))
                .order_by("pk")[:SETTLE_BATCH_SIZE]
            )
            for checkout_row in batch:
                settled += _settle_due_in_checkout(checkout_row=checkout_row, now=now)
        if len(batch) < SETTLE_BATCH_SIZE:
            return settled


def _settle_due_in_checkout(*, checkout_row: Checkout, now) -> int:
    _lock_payment_of(checkout_row)
    settled = 0
    orders = (
        Order.objects.select_for_update(of=("self",))
        .select_related("shop", "checkout")
        .filter(checkout=checkout_row)
        .order_by("pk")
    )
    for order in orders:
        for after_sale in AfterSale.objects.select_for_update().filter(
            order=order, state__in=AfterSale.DEADLINE_STATES, due_at__lte=now
        ):
            _settle_due_after_sale(after_sale=after_sale, order=order)
            settled += 1
    return settled


def _settle_due_after_sale(*, after_sale: AfterSale, order: Order) -> None:
    if after_sale.state == AfterSale.State.ACCEPTED:
        # The buyer never sent the goods back: the request ends without a refund.
        _set_state(after_sale, state=AfterSale.State.CLOSED, decided_at=clock.now())
        _record(order, "after_sale_expired")
        return
    if not _refundable(order):
        # Cancelled (and refunded in full) meanwhile: nothing is left to decide.
        _set_state(after_sale, state=AfterSale.State.CLOSED, decided_at=clock.now())
        _record(order, "after_sale_void", note=NOTE_NOTHING_TO_REFUND)
        return
    if after_sale.state == AfterSale.State.RETURN_SHIPPED:
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=None,
            note=NOTE_AUTO_REFUND_RETURN,
        )
    elif after_sale.kind == AfterSale.Kind.REFUND_ONLY and order.state == Order.State.PAID:
        _execute_refund(
            after_sale=after_sale,
            order=order,
            actor=None,
            note=NOTE_AUTO_REFUND_NO_ANSWER,
        )
    else:
        _escalate(
            after_sale=after_sale,
            order=order,
            cause=AfterSale.Escalation.NO_ANSWER,
            actor=None,
            kind="after_sale_auto_escalated",
        )
