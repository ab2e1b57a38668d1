"""Payments and refunds (money contract steps 2 and 5).

- ``create_payment`` — idempotent per (payer, key); the buyer then goes to ``payment_start_url``.
- ``handle_callback`` — verify a provider notification and process it once per provider event id.
  Success with the right amount captures: provider_clearing:<provider> → the payment's escrow,
  then "ledger.payment.succeeded". A wrong amount is refused, logged and recorded; no money moves.
  A success arriving after the payment failed or was canceled is captured and refunded at once.
- ``refund`` — idempotent per (payment, key); never more than captured − refunded. The money moves
  escrow → refunds at once; the provider is called after commit and, on success, refunds →
  provider_clearing. Failed provider calls are retried by ``settle_due`` with exponential backoff.
- ``cancel_payment`` — an unpaid payment is canceled ("ledger.payment.canceled").
- ``settle_due_queries`` — a notification may be lost: a payment still open a few minutes after
  creation is queried at the provider, and its answer goes through ``record_payment_event`` like a
  callback (so a callback arriving after the query changes nothing).

Locking: a payment row is locked (select_for_update) before its events, capture and refunds, so
concurrent callbacks and refunds for one payment are serialized; the unique constraints and the
ledger's idempotency keys stand behind the lock.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.errors import DomainError, NotAuthenticated, PermissionDenied, ValidationFailed
from shoploop.core.events import publish
from shoploop.core.ids import new_public_id
from shoploop.core.money import validate_fen
from shoploop.ledger import conf
from shoploop.ledger.errors import (
    IdempotencyKeyReused,
    InvalidCallback,
    PaymentNotFound,
    PaymentStateConflict,
    ProviderError,
    RefundKeyReused,
    RefundTooLarge,
)
from shoploop.ledger.models import Account, AccountKind, Payment, PaymentEvent, Refund
from shoploop.ledger.providers import CallbackEvent, get_provider
from shoploop.ledger.providers.base import FAILED, SUCCEEDED, WAITING
from shoploop.ledger.services.transfers import open_account, open_owned_account, transfer

logger = logging.getLogger(__name__)

OPEN_STATES = (Payment.State.REQUIRES_PAYMENT, Payment.State.PROCESSING)
CLOSED_STATES = (Payment.State.FAILED, Payment.State.CANCELED)
MAX_REFERENCE_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 200
MAX_KEY_LENGTH = 200
MAX_REFUND_KEY_LENGTH = 120
MAX_REASON_LENGTH = 80
# Refund retries: 30 s, 1 min, 2 min, … capped at 6 h; after this many attempts an operator decides.
REFUND_BACKOFF_BASE_SECONDS = 30
REFUND_BACKOFF_CAP_SECONDS = 6 * 60 * 60
MAX_REFUND_ATTEMPTS = 8
# A claimed refund is not picked again for this long: two workers never call the provider at once.
REFUND_CLAIM_LEASE = timedelta(minutes=5)
SETTLE_BATCH_SIZE = 50
LATE_CAPTURE_REFUND_KEY = "late-capture"
# Lost notifications: after the first query (conf.payment_query_delay() after creation) the wait
# doubles, capped at 6 h; after this many queries only the notification or a cancel closes it.
QUERY_BACKOFF_CAP = timedelta(hours=6)
MAX_QUERY_ATTEMPTS = 8


# --- accounts --------------------------------------------------------------------------------


def escrow_account(payment: Payment) -> Account:
    """The payment's own escrow: it holds the buyer's money until orders move it on."""
    return open_account(kind=AccountKind.BUYER_ESCROW, owner_ref=f"payment:{payment.public_id}")


def clearing_account(provider: str) -> Account:
    return open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref=provider)


def refunds_account() -> Account:
    return open_account(kind=AccountKind.REFUNDS)


# --- payments --------------------------------------------------------------------------------


def create_payment(
    *,
    payer,
    amount: int,
    reference: str,
    description: str,
    idempotency_key: str,
    public_id: str | None = None,
    fresh_key: bool = False,
) -> Payment:
    """A payment awaiting the buyer. The same payer and key return the first payment.

    ``fresh_key``: the caller made the key inside its own open transaction (a checkout created
    a moment ago names it), so no earlier payment can hold it: the payment is inserted at once,
    without the look-up and the savepoints a retry needs. Were the key used after all, the
    unique constraint fails the caller's transaction whole. ``public_id``: the id to give the
    payment (a caller that records it before the payment exists)."""
    if payer is None or not getattr(payer, "is_authenticated", False):
        raise NotAuthenticated()
    amount = validate_fen(amount, field="amount")
    reference = _bounded_text(reference, field="reference", limit=MAX_REFERENCE_LENGTH)
    key = _bounded_text(idempotency_key, field="idempotency_key", limit=MAX_KEY_LENGTH)
    description = str(description or "")[:MAX_DESCRIPTION_LENGTH]
    fields = {"public_id": public_id} if public_id else {}
    if fresh_key:
        if not transaction.get_connection().in_atomic_block:
            raise ValueError("create_payment(fresh_key=True) needs the caller's transaction")
        return _new_payment(
            payer=payer,
            amount=amount,
            reference=reference,
            description=description,
            key=key,
            **fields,
        )
    with transaction.atomic():
        earlier = Payment.objects.filter(payer=payer, idempotency_key=key).first()
        if earlier is None:
            try:
                with transaction.atomic():
                    return _new_payment(
                        payer=payer,
                        amount=amount,
                        reference=reference,
                        description=description,
                        key=key,
                        **fields,
                    )
            except IntegrityError:
                earlier = Payment.objects.get(payer=payer, idempotency_key=key)
        if (earlier.amount, earlier.reference) != (amount, reference):
            raise IdempotencyKeyReused(
                _("This payment key was already used for a different payment.")
            )
        return earlier


def _new_payment(*, payer, amount: int, reference: str, description: str, key: str, **fields):
    now = clock.now()
    return Payment.objects.create(
        created_at=now,
        next_query_at=now + conf.payment_query_delay(),
        payer=payer,
        amount=amount,
        reference=reference,
        description=description,
        idempotency_key=key,
        provider=conf.payment_provider_name(),
        **fields,
    )


def payment_start_url(payment: Payment) -> str:
    """Where to send the buyer: the sandbox cashier page or the provider's own page."""
    return get_provider(payment.provider).start_url(payment)


def payment_by_public_id(*, public_id: str) -> Payment:
    payment = Payment.objects.filter(public_id=str(public_id)[:40]).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def lock_payment(*, public_id: str) -> Payment:
    """Lock a payment row for the caller's transaction. Callers that also lock shared rows
    (accounts, stock) take this lock first, in the same order as a callback (payment, then
    accounts), so the two can never wait on each other in a cycle."""
    payment = Payment.objects.select_for_update().filter(public_id=str(public_id)[:40]).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_for_payer(*, public_id: str, actor) -> Payment:
    """The payment if ``actor`` is its payer (operators may look too); otherwise 403."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    payment = payment_by_public_id(public_id=public_id)
    if payment.payer_id != actor.pk and not actor.is_staff:
        raise PermissionDenied(_("This is not your payment."), code="not_your_payment")
    return payment


def respond_in_sandbox(*, payment: Payment, actor, approve: bool) -> Payment:
    """The buyer confirms (or declines) in the sandbox cashier: the payment is processing until
    the sandbox's signed callback arrives, asynchronously, like a real provider's."""
    from shoploop.ledger.tasks import deliver_sandbox_callback

    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if payment.payer_id != actor.pk:
        raise PermissionDenied(_("This is not your payment."), code="not_your_payment")
    if payment.provider != "sandbox":
        raise PaymentStateConflict(
            _("This payment is not made in the sandbox cashier."), code="not_sandbox"
        )
    with transaction.atomic():
        # The sandbox records the answer as a provider keeps its books: its query reads it back
        # if the callback below is lost.
        moved = Payment.objects.filter(pk=payment.pk, state=Payment.State.REQUIRES_PAYMENT).update(
            state=Payment.State.PROCESSING, sandbox_outcome=SUCCEEDED if approve else FAILED
        )
        if not moved:
            raise PaymentStateConflict(
                _("This payment was already answered."), code="payment_already_answered"
            )
        deliver_sandbox_callback.delay_on_commit(
            event_id=f"evt_{new_public_id()}",
            payment_public_id=payment.public_id,
            kind=SUCCEEDED if approve else FAILED,
            amount=payment.amount,
        )
    payment.refresh_from_db()
    return payment


def cancel_payment(*, payment: Payment) -> Payment:
    """Cancel an unpaid payment. Canceling a canceled or failed one changes nothing; a paid one
    cannot be canceled (refund it). A success that still arrives later is refunded at once."""
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, state__in=OPEN_STATES).update(
            state=Payment.State.CANCELED, closed_at=clock.now()
        )
        payment.refresh_from_db()
        if moved:
            _publish("ledger.payment.canceled", payment)
        elif payment.state == Payment.State.SUCCEEDED:
            raise PaymentStateConflict(
                _("This payment was already made; refund it instead."), code="payment_succeeded"
            )
    return payment


def handle_callback(*, provider: str, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
    """Verify a provider's notification and process it (once per provider event id)."""
    event = get_provider(provider).parse_callback(body=body, headers=headers)
    return record_payment_event(provider=provider, event=event)


def record_payment_event(*, provider: str, event: CallbackEvent) -> PaymentEvent:
    """Process a verified notification. A replay returns the first record and changes nothing."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(public_id=event.payment_public_id, provider=provider)
            .first()
        )
        if payment is None:
            logger.error("%s callback %s for unknown payment", provider, event.event_id)
            raise InvalidCallback(code="unknown_payment")
        earlier = PaymentEvent.objects.filter(provider=provider, event_id=event.event_id).first()
        if earlier is not None:
            return earlier
        outcome = _decide(payment, event)
        # No savepoint: under the payment's lock a replay of this event waits above and then
        # finds the first record. Only an event id reused for another payment could collide;
        # the unique constraint then fails this transaction whole and nothing is recorded.
        recorded = PaymentEvent.objects.create(
            provider=provider,
            event_id=event.event_id,
            payment=payment,
            kind=event.kind,
            amount=event.amount,
            outcome=outcome,
            payload=event.payload,
        )
        _apply(payment, event, outcome)
    return recorded


def _decide(payment: Payment, event: CallbackEvent) -> str:
    outcomes = PaymentEvent.Outcome
    if event.kind == SUCCEEDED:
        if event.amount != payment.amount:
            return outcomes.AMOUNT_MISMATCH
        if payment.captured_fen:
            return outcomes.IGNORED
        if payment.state in CLOSED_STATES:
            return outcomes.LATE_CAPTURE_REFUNDED
        return outcomes.CAPTURED
    if event.kind == FAILED and payment.state in OPEN_STATES:
        return outcomes.FAILED
    # A failure after success (or after closing), or a "still waiting" notice, changes nothing.
    return outcomes.IGNORED


def _apply(payment: Payment, event: CallbackEvent, outcome: str) -> None:
    outcomes = PaymentEvent.Outcome
    if outcome == outcomes.AMOUNT_MISMATCH:
        logger.error(
            "payment %s: %s reported %s fen, expected %s; refused (event %s)",
            payment.public_id,
            payment.provider,
            event.amount,
            payment.amount,
            event.event_id,
        )
    elif outcome == outcomes.CAPTURED:
        # The event first: the capture's ledger transfer moves the accounts every payment
        # contends for, so it stays the last write of the transaction (a failure rolls both back).
        _publish("ledger.payment.succeeded", payment)
        _capture(payment, trade_no=event.trade_no, state=Payment.State.SUCCEEDED)
    elif outcome == outcomes.LATE_CAPTURE_REFUNDED:
        # The provider took the money although we had closed the payment: give it back whole.
        _capture(payment, trade_no=event.trade_no, state=payment.state)
        refund(
            payment=payment,
            amount=payment.amount,
            key=LATE_CAPTURE_REFUND_KEY,
            reason="paid_after_close",
        )
    elif outcome == outcomes.FAILED:
        Payment.objects.filter(pk=payment.pk, state__in=OPEN_STATES).update(
            state=Payment.State.FAILED, closed_at=clock.now()
        )
        payment.refresh_from_db()
        _publish("ledger.payment.failed", payment)


def _capture(payment: Payment, *, trade_no: str, state: str) -> None:
    """Under the payment's row lock: the capture is recorded once (the conditional UPDATE), so
    its transfer's key is fresh and its escrow is this payment's own (created here, or found if
    something opened it before)."""
    now = clock.now()
    captured = Payment.objects.filter(pk=payment.pk, captured_fen=0).update(
        captured_fen=payment.amount, captured_at=now, state=state, provider_trade_no=trade_no
    )
    if not captured:  # impossible under the row lock; refuse rather than move money twice
        raise PaymentStateConflict(code="already_captured")
    # What the UPDATE wrote, without reading the row back.
    payment.captured_fen, payment.captured_at = payment.amount, now
    payment.state, payment.provider_trade_no = state, trade_no
    transfer(
        key=f"payment:{payment.public_id}:capture",
        debit=clearing_account(payment.provider),
        credit=open_owned_account(
            kind=AccountKind.BUYER_ESCROW, owner_ref=f"payment:{payment.public_id}"
        ),
        amount=payment.amount,
        reason="payment_captured",
        cause=f"payment:{payment.public_id}",
        fresh_key=True,
    )


def _publish(name: str, payment: Payment) -> None:
    publish(
        name,
        payment_public_id=payment.public_id,
        reference=payment.reference,
        amount_fen=payment.amount,
    )


# --- lost notifications ----------------------------------------------------------------------


def settle_due_queries(now: datetime) -> int:
    """settle_due handler: ask the provider about open payments whose query is due and settle
    what it answers through ``record_payment_event``, the callback's own path. Returns how many
    payments it settled."""
    settled = 0
    while True:
        batch = _claim_due_queries(now)
        for payment in batch:
            if query_payment(payment=payment) is not None:
                settled += 1
        if len(batch) < SETTLE_BATCH_SIZE:
            return settled


def _claim_due_queries(now: datetime) -> list[Payment]:
    """Claim a batch: each claimed payment's next query moves on at once, so another worker
    skips it and a crash only delays it."""
    with transaction.atomic():
        batch = list(
            Payment.objects.select_for_update(skip_locked=True)
            .filter(state__in=OPEN_STATES, next_query_at__lte=now)
            .order_by("next_query_at", "pk")[:SETTLE_BATCH_SIZE]
        )
        for payment in batch:
            attempts = payment.query_attempts + 1
            Payment.objects.filter(pk=payment.pk).update(
                query_attempts=attempts, next_query_at=_next_query_at(now, attempts)
            )
    return batch


def _next_query_at(now: datetime, attempts: int) -> datetime | None:
    if attempts >= MAX_QUERY_ATTEMPTS:
        return None
    return now + min(conf.payment_query_delay() * 2**attempts, QUERY_BACKOFF_CAP)


def query_payment(*, payment: Payment) -> PaymentEvent | None:
    """Ask the provider about one payment; record a final answer like a callback. None when the
    provider has nothing final to say or could not be reached (the next query retries)."""
    try:
        event = get_provider(payment.provider).query(payment=payment)
    except ProviderError as error:
        logger.warning("payment %s: query failed: %s", payment.public_id, error)
        return None
    if event.kind == WAITING:
        return None
    try:
        return record_payment_event(provider=payment.provider, event=event)
    except DomainError as refused:  # one odd answer must not stop the batch; logged for an operator
        logger.error("payment %s: query answer refused: %s", payment.public_id, refused.code)
        return None


def refresh_payment(*, public_id: str, actor) -> Payment:
    """The payer says they have paid: ask the provider now rather than wait for the notification
    (settled through the same path; nothing changes when the provider says it is still open)."""
    payment = payment_for_payer(public_id=public_id, actor=actor)
    if payment.state in OPEN_STATES:
        query_payment(payment=payment)
        payment.refresh_from_db()
    return payment


# --- refunds ---------------------------------------------------------------------------------


def refund(*, payment: Payment, amount: int, key: str, reason: str) -> Refund:
    """Return ``amount`` of a captured payment to the buyer, once per ``key``.

    The money must be back in the payment's escrow (orders void their holds first); otherwise the
    escrow's limit refuses with ``insufficient_funds`` and nothing changes.
    """
    from shoploop.ledger.tasks import process_refund_task

    amount = validate_fen(amount, field="amount")
    key = _bounded_text(key, field="key", limit=MAX_REFUND_KEY_LENGTH)
    reason = str(reason or "")[:MAX_REASON_LENGTH]
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        earlier = Refund.objects.filter(payment=locked, key=key).first()
        if earlier is not None:
            return _same_refund_or_error(earlier, amount=amount)
        if amount > locked.refundable_fen:
            raise RefundTooLarge(fields={"amount": "too_large"})
        try:
            with transaction.atomic():
                created = Refund.objects.create(
                    payment=locked,
                    key=key,
                    amount=amount,
                    reason=reason,
                    next_attempt_at=clock.now(),
                )
        except IntegrityError:
            return _same_refund_or_error(Refund.objects.get(payment=locked, key=key), amount=amount)
        counted = Payment.objects.filter(
            pk=locked.pk, refunded_fen__lte=F("captured_fen") - amount
        ).update(refunded_fen=F("refunded_fen") + amount)
        if not counted:
            raise RefundTooLarge(fields={"amount": "too_large"})
        transfer(
            key=f"payment:{locked.public_id}:refund:{key}",
            debit=escrow_account(locked),
            credit=refunds_account(),
            amount=amount,
            reason="refund_requested",
            cause=f"refund:{created.public_id}",
        )
        publish(
            "ledger.refund.requested",
            refund_public_id=created.public_id,
            payment_public_id=locked.public_id,
            reference=locked.reference,
            amount_fen=amount,
        )
        process_refund_task.delay_on_commit(refund_public_id=created.public_id)
    return created


def _same_refund_or_error(earlier: Refund, *, amount: int) -> Refund:
    if earlier.amount != amount:
        raise RefundKeyReused()
    return earlier


def refund_for_viewer(*, public_id: str, actor) -> Refund:
    refund_row = (
        Refund.objects.select_related("payment").filter(public_id=str(public_id)[:40]).first()
    )
    if refund_row is None:
        raise PaymentNotFound(_("No such refund."), code="refund_not_found")
    payment_for_payer(public_id=refund_row.payment.public_id, actor=actor)
    return refund_row


def process_refund(*, refund: Refund, now: datetime | None = None) -> Refund:
    """Call the provider for a due pending refund and record the result. Safe to run anywhere at
    any time: only the worker whose conditional UPDATE claims the attempt calls the provider."""
    now = now or clock.now()
    claimed = Refund.objects.filter(
        pk=refund.pk, state=Refund.State.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + REFUND_CLAIM_LEASE)
    refund.refresh_from_db()
    if not claimed:
        return refund
    payment = refund.payment
    try:
        result = get_provider(payment.provider).refund(payment=payment, refund=refund)
    except ProviderError as error:
        return _refund_attempt_failed(refund, error=str(error), now=now)
    return _refund_succeeded(refund, provider_refund_no=result.provider_refund_no, now=now)


def _refund_succeeded(refund: Refund, *, provider_refund_no: str, now: datetime) -> Refund:
    with transaction.atomic():
        settled = Refund.objects.filter(pk=refund.pk, state=Refund.State.PENDING).update(
            state=Refund.State.SUCCEEDED,
            settled_at=now,
            provider_refund_no=provider_refund_no,
            next_attempt_at=None,
            last_error="",
        )
        if settled:
            payment = refund.payment
            transfer(
                key=f"refund:{refund.public_id}:paid_out",
                debit=refunds_account(),
                credit=clearing_account(payment.provider),
                amount=refund.amount,
                reason="refund_paid_out",
                cause=f"refund:{refund.public_id}",
            )
            publish(
                "ledger.refund.paid_out",
                refund_public_id=refund.public_id,
                payment_public_id=payment.public_id,
                reference=payment.reference,
                amount_fen=refund.amount,
            )
    refund.refresh_from_db()
    return refund


def _refund_attempt_failed(refund: Refund, *, error: str, now: datetime) -> Refund:
    logger.warning("refund %s attempt %s failed: %s", refund.public_id, refund.attempts, error)
    with transaction.atomic():
        if refund.attempts >= MAX_REFUND_ATTEMPTS:
            gave_up = Refund.objects.filter(pk=refund.pk, state=Refund.State.PENDING).update(
                state=Refund.State.FAILED, next_attempt_at=None, last_error=error[:300]
            )
            if gave_up:
                logger.error("refund %s failed permanently: %s", refund.public_id, error)
                publish("ledger.refund.failed", refund_public_id=refund.public_id)
        else:
            Refund.objects.filter(pk=refund.pk, state=Refund.State.PENDING).update(
                next_attempt_at=now + refund_backoff(refund.attempts),
                last_error=error[:300],
            )
    refund.refresh_from_db()
    return refund


def refund_backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s doubling, capped at 6 h."""
    seconds = REFUND_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, REFUND_BACKOFF_CAP_SECONDS))


def retry_refund(*, refund: Refund, actor) -> Refund:
    """An operator sends a permanently failed refund back to the provider (attempts start over)."""
    if actor is None or not getattr(actor, "is_staff", False):
        raise PermissionDenied()
    with transaction.atomic():
        reopened = Refund.objects.filter(pk=refund.pk, state=Refund.State.FAILED).update(
            state=Refund.State.PENDING, attempts=0, next_attempt_at=clock.now()
        )
        if not reopened:
            raise PaymentStateConflict(
                _("Only a failed refund can be retried."), code="refund_not_failed"
            )
    return process_refund(refund=refund)


def settle_due_refunds(now: datetime) -> int:
    """settle_due handler: (re)try pending refunds whose attempt is due."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                Refund.objects.select_for_update(skip_locked=True)
                .filter(state=Refund.State.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")[:SETTLE_BATCH_SIZE]
            )
        for due in batch:
            if process_refund(refund=due, now=now).state == Refund.State.SUCCEEDED:
                done += 1
        if len(batch) < SETTLE_BATCH_SIZE:
            return done


# --- helpers ---------------------------------------------------------------------------------


def _bounded_text(value, *, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationFailed(
            _("%(field)s must be text of 1 to %(limit)d characters.")
            % {"field": field, "limit": limit},
            fields={field: "invalid"},
        )
    return value.strip()
