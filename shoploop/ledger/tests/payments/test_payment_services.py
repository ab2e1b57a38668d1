"""Payments and refunds through the services: every rule and every bad input."""

import logging
from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.ledger.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidCallback,
    PaymentStateConflict,
    ProviderError,
    RefundKeyReused,
    RefundTooLarge,
)
from shoploop.ledger.models import Account, AccountKind, Payment, PaymentEvent, Refund, Transfer
from shoploop.ledger.providers.sandbox import SandboxProvider, sign, signed_callback
from shoploop.ledger.services import open_account, payments, transfer
from shoploop.ledger.verification import verify_books


def escrow_balance(payment) -> int:
    return payments.escrow_account(payment).credit_balance


# --- create_payment --------------------------------------------------------------------------


def test_create_payment_awaits_the_buyer_at_the_sandbox_cashier(make_payment, user):
    payment = make_payment(amount=2599)
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    assert payment.payer == user and payment.provider == "sandbox"
    assert payments.payment_start_url(payment) == f"/pay/{payment.public_id}/"


def test_create_payment_is_idempotent_by_payer_and_key(user):
    args = dict(payer=user, amount=500, reference="checkout:x", description="d")
    first = payments.create_payment(**args, idempotency_key="k1")
    again = payments.create_payment(**args, idempotency_key="k1")
    assert again.pk == first.pk and Payment.objects.count() == 1
    with pytest.raises(IdempotencyKeyReused):
        payments.create_payment(**{**args, "amount": 501}, idempotency_key="k1")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", 10**15])
def test_create_payment_refuses_bad_amounts(user, amount):
    with pytest.raises(ValidationFailed):
        payments.create_payment(
            payer=user, amount=amount, reference="r", description="", idempotency_key="k"
        )
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "field,value", [("reference", ""), ("reference", "x" * 121), ("idempotency_key", None)]
)
def test_create_payment_refuses_bad_text(user, field, value):
    args = dict(payer=user, amount=100, reference="r", description="", idempotency_key="k")
    with pytest.raises(ValidationFailed):
        payments.create_payment(**{**args, field: value})
    assert not Payment.objects.exists()


def test_create_payment_needs_a_signed_in_payer(db):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        payments.create_payment(
            payer=AnonymousUser(), amount=100, reference="r", description="", idempotency_key="k"
        )


# --- callbacks ---------------------------------------------------------------------------------


def test_success_captures_into_the_payments_escrow_and_publishes(make_payment, deliver, ledger_ok):
    payment = make_payment(amount=1234)
    with recorded_events() as events:
        event = deliver(payment, event_id="evt-1")
    payment.refresh_from_db()
    assert event.outcome == PaymentEvent.Outcome.CAPTURED
    assert payment.state == Payment.State.SUCCEEDED and payment.captured_fen == 1234
    assert escrow_balance(payment) == 1234
    clearing = Account.objects.get(code="provider_clearing:sandbox")
    assert clearing.debit_balance == 1234
    assert [e.name for e in events] == ["ledger.payment.succeeded"]
    assert events[0].payload == {
        "payment_public_id": payment.public_id,
        "reference": payment.reference,
        "amount_fen": 1234,
    }
    ledger_ok()


def test_a_replayed_callback_is_processed_once(make_payment, deliver, ledger_ok):
    payment = make_payment()
    first = deliver(payment, event_id="evt-same")
    with recorded_events() as events:
        again = deliver(payment, event_id="evt-same")
    assert again.pk == first.pk and events == []
    assert PaymentEvent.objects.count() == 1
    assert Transfer.objects.filter(reason="payment_captured").count() == 1
    ledger_ok()


def test_a_second_success_event_changes_nothing(paid_payment, deliver, ledger_ok):
    event = deliver(paid_payment, event_id="evt-other")
    assert event.outcome == PaymentEvent.Outcome.IGNORED
    assert escrow_balance(paid_payment) == paid_payment.amount
    ledger_ok()


def test_failed_after_succeeded_changes_nothing(paid_payment, deliver):
    with recorded_events() as events:
        event = deliver(paid_payment, kind="failed")
    paid_payment.refresh_from_db()
    assert event.outcome == PaymentEvent.Outcome.IGNORED
    assert paid_payment.state == Payment.State.SUCCEEDED and events == []


def test_failure_marks_the_payment_failed_and_publishes(make_payment, deliver):
    payment = make_payment()
    with recorded_events() as events:
        deliver(payment, kind="failed")
    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED and payment.captured_fen == 0
    assert [e.name for e in events] == ["ledger.payment.failed"]
    assert not Transfer.objects.exists()


def test_amount_mismatch_is_refused_logged_and_recorded(make_payment, deliver, caplog):
    payment = make_payment(amount=1000)
    with recorded_events() as events, caplog.at_level(logging.ERROR):
        event = deliver(payment, amount=1)
    payment.refresh_from_db()
    assert event.outcome == PaymentEvent.Outcome.AMOUNT_MISMATCH
    assert payment.state == Payment.State.REQUIRES_PAYMENT and payment.captured_fen == 0
    assert not Transfer.objects.exists() and events == []
    assert any("expected 1000" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def _refused(payment, body, headers):
    with pytest.raises(InvalidCallback) as refused:
        payments.handle_callback(provider="sandbox", body=body, headers=headers)
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    assert not PaymentEvent.objects.exists() and not Transfer.objects.exists()
    return refused.value.code


def test_a_forged_signature_is_refused(make_payment):
    payment = make_payment()
    body, headers = signed_callback(
        event_id="e", payment_public_id=payment.public_id, kind="succeeded", amount=payment.amount
    )
    forged = sign(body=body, timestamp=int(headers["X-Sandbox-Timestamp"]), secret=b"guess")
    assert _refused(payment, body, {**headers, "X-Sandbox-Signature": forged}) == "bad_signature"
    assert _refused(payment, body, {"X-Sandbox-Timestamp": headers["X-Sandbox-Timestamp"]}) == (
        "bad_signature"
    )


def test_a_tampered_body_is_refused(make_payment):
    payment = make_payment()
    body, headers = signed_callback(
        event_id="e", payment_public_id=payment.public_id, kind="succeeded", amount=1
    )
    tampered = body.replace(b'"amount":1', b'"amount":1000')
    assert _refused(payment, tampered, headers) == "bad_signature"


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_callbacks_are_refused(make_payment, offset):
    payment = make_payment()
    moment = int(clock.now().timestamp()) + offset
    body, headers = signed_callback(
        event_id="e",
        payment_public_id=payment.public_id,
        kind="succeeded",
        amount=payment.amount,
        timestamp=moment,
    )
    assert _refused(payment, body, headers) == "stale_callback"


def test_a_callback_inside_the_window_is_accepted(make_payment, deliver):
    payment = make_payment()
    event = deliver(payment, timestamp=int(clock.now().timestamp()) - 299)
    assert event.outcome == PaymentEvent.Outcome.CAPTURED


def test_a_callback_replayed_after_the_window_is_refused(make_payment, deliver):
    payment = make_payment()
    body, headers = signed_callback(
        event_id="e", payment_public_id=payment.public_id, kind="failed", amount=payment.amount
    )
    with clock.frozen_at(clock.now() + timedelta(minutes=6)):
        assert _refused(payment, body, headers) == "stale_callback"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"event_id":"e"}', b'{"event_id":"","payment_id":"p","outcome":"x"}'],
)
def test_malformed_callbacks_are_refused(make_payment, body):
    payment = make_payment()
    moment = int(clock.now().timestamp())
    headers = {
        "X-Sandbox-Timestamp": str(moment),
        "X-Sandbox-Signature": sign(body=body, timestamp=moment),
    }
    assert _refused(payment, body, headers) == "malformed_callback"


def test_a_callback_for_an_unknown_payment_is_refused(make_payment):
    payment = make_payment()
    body, headers = signed_callback(
        event_id="e", payment_public_id="nosuchpaymnt", kind="succeeded", amount=100
    )
    assert _refused(payment, body, headers) == "unknown_payment"


def test_an_unknown_provider_is_refused(db):
    with pytest.raises(InvalidCallback):
        payments.handle_callback(provider="paypal", body=b"{}", headers={})


# --- sandbox cashier and cancel ----------------------------------------------------------------


def test_confirming_in_the_sandbox_delivers_a_success_callback(
    make_payment, user, django_capture_on_commit_callbacks, ledger_ok
):
    payment = make_payment()
    with django_capture_on_commit_callbacks(execute=True):
        answered = payments.respond_in_sandbox(payment=payment, actor=user, approve=True)
    assert answered.state == Payment.State.PROCESSING
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    ledger_ok()


def test_declining_in_the_sandbox_fails_the_payment(
    make_payment, user, django_capture_on_commit_callbacks
):
    payment = make_payment()
    with django_capture_on_commit_callbacks(execute=True):
        payments.respond_in_sandbox(payment=payment, actor=user, approve=False)
    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED


def test_only_the_payer_answers_and_only_once(make_payment, user, other_user):
    payment = make_payment()
    with pytest.raises(PermissionDenied):
        payments.respond_in_sandbox(payment=payment, actor=other_user, approve=True)
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    payments.respond_in_sandbox(payment=payment, actor=user, approve=True)
    with pytest.raises(PaymentStateConflict):
        payments.respond_in_sandbox(payment=payment, actor=user, approve=False)


def test_someone_elses_payment_is_forbidden(make_payment, other_user, operator):
    payment = make_payment()
    with pytest.raises(PermissionDenied):
        payments.payment_for_payer(public_id=payment.public_id, actor=other_user)
    assert payments.payment_for_payer(public_id=payment.public_id, actor=operator) == payment


def test_cancel_an_unpaid_payment_once(make_payment):
    payment = make_payment()
    with recorded_events() as events:
        payments.cancel_payment(payment=payment)
        again = payments.cancel_payment(payment=payment)
    assert again.state == Payment.State.CANCELED
    assert [e.name for e in events] == ["ledger.payment.canceled"]


def test_a_paid_payment_cannot_be_canceled(paid_payment):
    with pytest.raises(PaymentStateConflict):
        payments.cancel_payment(payment=paid_payment)
    paid_payment.refresh_from_db()
    assert paid_payment.state == Payment.State.SUCCEEDED


@pytest.mark.parametrize("close", ["cancel", "fail"])
def test_a_late_success_after_closing_is_refunded_in_full(
    make_payment, deliver, close, django_capture_on_commit_callbacks, ledger_ok
):
    payment = make_payment(amount=800)
    if close == "cancel":
        payments.cancel_payment(payment=payment)
    else:
        deliver(payment, kind="failed")
    with recorded_events() as events, django_capture_on_commit_callbacks(execute=True):
        event = deliver(payment)
    payment.refresh_from_db()
    assert event.outcome == PaymentEvent.Outcome.LATE_CAPTURE_REFUNDED
    assert payment.state != Payment.State.SUCCEEDED
    assert payment.refunded_fen == payment.captured_fen == 800
    assert Refund.objects.get(payment=payment).state == Refund.State.SUCCEEDED
    assert "ledger.payment.succeeded" not in [e.name for e in events]
    assert escrow_balance(payment) == 0
    ledger_ok()


# --- refunds -----------------------------------------------------------------------------------


def test_refund_moves_escrow_to_refunds_then_to_the_provider(
    paid_payment, django_capture_on_commit_callbacks, ledger_ok
):
    with django_capture_on_commit_callbacks(execute=True):
        refund = payments.refund(payment=paid_payment, amount=300, key="r1", reason="test")
    refund.refresh_from_db()
    paid_payment.refresh_from_db()
    assert refund.state == Refund.State.SUCCEEDED and refund.attempts == 1
    assert paid_payment.refunded_fen == 300
    assert escrow_balance(paid_payment) == 700
    assert Account.objects.get(code="refunds").credit_balance == 0
    ledger_ok()


def test_refund_before_the_provider_answers_is_visible_in_the_refunds_account(paid_payment):
    refund = payments.refund(payment=paid_payment, amount=300, key="r1", reason="test")
    assert refund.state == Refund.State.PENDING
    assert Account.objects.get(code="refunds").credit_balance == 300


def test_refund_is_idempotent_by_key(paid_payment, ledger_ok):
    first = payments.refund(payment=paid_payment, amount=400, key="same", reason="x")
    again = payments.refund(payment=paid_payment, amount=400, key="same", reason="x")
    assert again.pk == first.pk
    with pytest.raises(RefundKeyReused):
        payments.refund(payment=paid_payment, amount=401, key="same", reason="x")
    paid_payment.refresh_from_db()
    assert paid_payment.refunded_fen == 400
    ledger_ok()


def test_refunds_never_exceed_what_was_paid(paid_payment, ledger_ok):
    payments.refund(payment=paid_payment, amount=600, key="a", reason="x")
    with pytest.raises(RefundTooLarge):
        payments.refund(payment=paid_payment, amount=401, key="b", reason="x")
    payments.refund(payment=paid_payment, amount=400, key="c", reason="x")
    with pytest.raises(RefundTooLarge):
        payments.refund(payment=paid_payment, amount=1, key="d", reason="x")
    paid_payment.refresh_from_db()
    assert paid_payment.refunded_fen == 1000
    assert Refund.objects.count() == 2
    ledger_ok()


def test_an_unpaid_payment_cannot_be_refunded(make_payment):
    payment = make_payment()
    with pytest.raises(RefundTooLarge):
        payments.refund(payment=payment, amount=1, key="a", reason="x")
    assert not Refund.objects.exists()


@pytest.mark.parametrize("amount", [0, -5, 2.5, "100", None])
def test_refund_refuses_bad_amounts(paid_payment, amount):
    with pytest.raises(ValidationFailed):
        payments.refund(payment=paid_payment, amount=amount, key="a", reason="x")
    assert not Refund.objects.exists()


def test_refund_needs_the_money_back_in_escrow(paid_payment):
    merchant = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref="shop:test")
    transfer(
        key="hold-for-test",
        debit=payments.escrow_account(paid_payment),
        credit=merchant,
        amount=1000,
        reason="order_hold",
        pending=True,
    )
    with pytest.raises(InsufficientFunds):
        payments.refund(payment=paid_payment, amount=100, key="a", reason="x")
    paid_payment.refresh_from_db()
    assert paid_payment.refunded_fen == 0 and not Refund.objects.exists()
    # A hold with no order behind it: the books balance, the world check would (rightly) object.
    assert verify_books().ok


def _provider_down(monkeypatch):
    def fail(self, *, payment, refund):
        raise ProviderError("provider unavailable")

    monkeypatch.setattr(SandboxProvider, "refund", fail)


def test_a_failed_provider_call_is_retried_with_backoff(paid_payment, monkeypatch, ledger_ok):
    _provider_down(monkeypatch)
    refund = payments.refund(payment=paid_payment, amount=500, key="r", reason="x")
    start = refund.next_attempt_at
    refund = payments.process_refund(refund=refund, now=start)
    assert refund.state == Refund.State.PENDING and refund.attempts == 1
    assert refund.next_attempt_at == start + timedelta(seconds=30)
    assert "unavailable" in refund.last_error
    assert payments.settle_due_refunds(start + timedelta(seconds=29)) == 0
    refund.refresh_from_db()
    assert refund.attempts == 1
    payments.settle_due_refunds(start + timedelta(seconds=30))
    refund.refresh_from_db()
    assert refund.attempts == 2
    assert refund.next_attempt_at == start + timedelta(seconds=30 + 60)
    monkeypatch.undo()
    assert payments.settle_due_refunds(start + timedelta(seconds=90)) == 1
    refund.refresh_from_db()
    assert refund.state == Refund.State.SUCCEEDED and refund.attempts == 3
    ledger_ok()


def test_after_the_last_attempt_the_refund_fails_for_an_operator(
    paid_payment, monkeypatch, operator, user, ledger_ok
):
    _provider_down(monkeypatch)
    refund = payments.refund(payment=paid_payment, amount=500, key="r", reason="x")
    moment = refund.next_attempt_at
    for _attempt in range(payments.MAX_REFUND_ATTEMPTS):
        refund = payments.process_refund(refund=refund, now=moment)
        moment = moment + timedelta(days=1)
    assert refund.state == Refund.State.FAILED
    assert refund.attempts == payments.MAX_REFUND_ATTEMPTS
    assert payments.settle_due_refunds(moment) == 0
    assert Account.objects.get(code="refunds").credit_balance == 500  # still owed to the buyer
    with pytest.raises(PermissionDenied):
        payments.retry_refund(refund=refund, actor=user)
    monkeypatch.undo()
    refund = payments.retry_refund(refund=refund, actor=operator)
    assert refund.state == Refund.State.SUCCEEDED
    with pytest.raises(PaymentStateConflict):
        payments.retry_refund(refund=refund, actor=operator)
    ledger_ok()


def test_backoff_doubles_and_is_capped():
    assert payments.refund_backoff(1) == timedelta(seconds=30)
    assert payments.refund_backoff(4) == timedelta(seconds=240)
    assert payments.refund_backoff(30) == timedelta(hours=6)


def test_refund_detail_is_for_the_payer(paid_payment, user, other_user):
    refund = payments.refund(payment=paid_payment, amount=100, key="r", reason="x")
    assert payments.refund_for_viewer(public_id=refund.public_id, actor=user) == refund
    with pytest.raises(PermissionDenied):
        payments.refund_for_viewer(public_id=refund.public_id, actor=other_user)
