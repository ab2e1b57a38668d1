"""Lost notifications: a payment still open a few minutes after creation is queried at its
provider and settled through the callback's own path. Here the sandbox, which answers from its
recorded decision; Alipay's and WeChat Pay's queries are tested with their providers."""

from datetime import timedelta

import pytest

from shoploop.core.deadlines import settle_due
from shoploop.core.testing import race
from shoploop.ledger import tasks
from shoploop.ledger.models import Payment, PaymentEvent, Transfer
from shoploop.ledger.services import payments


@pytest.fixture
def answer_lost(monkeypatch, user):
    """``answer_lost(payment)``: the buyer answers in the sandbox and its callback is lost."""
    monkeypatch.setattr(tasks.deliver_sandbox_callback, "delay_on_commit", lambda **_kw: None)

    def answer(payment, *, approve=True):
        payments.respond_in_sandbox(payment=payment, actor=user, approve=approve)
        payment.refresh_from_db()
        assert payment.state == Payment.State.PROCESSING

    return answer


def test_the_first_query_is_due_a_few_minutes_after_creation(make_payment, settings):
    payment = make_payment()
    assert payment.next_query_at == payment.created_at + timedelta(minutes=5)
    settings.PAYMENT_QUERY_AFTER_MINUTES = 2
    later = make_payment()
    assert later.next_query_at == later.created_at + timedelta(minutes=2)


def test_a_lost_sandbox_callback_is_settled_from_the_recorded_answer(
    make_payment, answer_lost, deliver, ledger_ok
):
    payment = make_payment(amount=2500)
    answer_lost(payment)
    assert payments.settle_due_queries(payment.created_at + timedelta(minutes=4)) == 0
    payment.refresh_from_db()
    assert payment.state == Payment.State.PROCESSING
    assert settle_due(payment.next_query_at)["ledger.query_payments"] == 1
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    assert payments.escrow_account(payment).credit_balance == 2500
    # The lost callback turns up after all: it changes nothing.
    late = deliver(payment)
    assert late.outcome == PaymentEvent.Outcome.IGNORED
    assert Transfer.objects.filter(reason="payment_captured").count() == 1
    ledger_ok()


def test_a_lost_decline_fails_the_payment(make_payment, answer_lost):
    payment = make_payment()
    answer_lost(payment, approve=False)
    payments.settle_due_queries(payment.next_query_at)
    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED


def test_an_unanswered_payment_is_asked_less_and_less_then_left_alone(make_payment):
    payment = make_payment()
    waits = []
    while payment.next_query_at is not None:
        due = payment.next_query_at
        assert payments.settle_due_queries(due) == 0
        payment.refresh_from_db()
        if payment.next_query_at is not None:
            waits.append(payment.next_query_at - due)
    assert payment.query_attempts == payments.MAX_QUERY_ATTEMPTS
    assert waits[:3] == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert waits[-1] == payments.QUERY_BACKOFF_CAP
    assert payment.state == Payment.State.REQUIRES_PAYMENT and not PaymentEvent.objects.exists()


def test_a_closed_payment_is_not_queried(make_payment, answer_lost):
    payment = make_payment()
    answer_lost(payment)
    payments.cancel_payment(payment=payment)
    assert payments.settle_due_queries(payment.next_query_at) == 0
    payment.refresh_from_db()
    assert payment.state == Payment.State.CANCELED and payment.query_attempts == 0


# --- several workers -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_querying_at_once_settle_a_lost_payment_once(make_payment, answer_lost, ledger_ok):
    payment = make_payment(amount=1000)
    answer_lost(payment)
    outcomes = race(lambda _i: payments.settle_due_queries(payment.next_query_at), 4)
    assert sorted(outcomes) == [0, 0, 0, 1], outcomes
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED and payment.query_attempts == 1
    assert Transfer.objects.filter(reason="payment_captured").count() == 1
    ledger_ok()


def test_an_operator_asks_the_provider_from_the_admin(make_payment, answer_lost, operator, client):
    payment = make_payment()
    answer_lost(payment)
    client.force_login(operator)
    response = client.post(
        "/admin/ledger/payment/",
        {"action": "ask_provider", "_selected_action": [payment.pk]},
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
