"""Races on PostgreSQL with real threads: callbacks, refunds and withdrawals under contention."""

import pytest

from shoploop.core.testing import race
from shoploop.ledger import selectors
from shoploop.ledger.errors import InsufficientFunds, RefundTooLarge
from shoploop.ledger.models import Payment, PaymentEvent, Refund, Transfer, Withdrawal
from shoploop.ledger.providers.sandbox import signed_callback
from shoploop.ledger.services import payments, payouts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_callback_ten_times_at_once_captures_once(make_payment, ledger_ok):
    payment = make_payment(amount=1000)
    body, headers = signed_callback(
        event_id="evt-race", payment_public_id=payment.public_id, kind="succeeded", amount=1000
    )
    outcomes = race(
        lambda _i: payments.handle_callback(provider="sandbox", body=body, headers=headers), 10
    )
    assert all(isinstance(o, PaymentEvent) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED and payment.captured_fen == 1000
    assert Transfer.objects.filter(reason="payment_captured").count() == 1
    assert payments.escrow_account(payment).credit_balance == 1000
    ledger_ok()


def test_ten_distinct_success_events_at_once_capture_once(make_payment, ledger_ok):
    payment = make_payment(amount=1000)
    signed = [
        signed_callback(
            event_id=f"evt-{i}", payment_public_id=payment.public_id, kind="succeeded", amount=1000
        )
        for i in range(10)
    ]
    race(
        lambda i: payments.handle_callback(
            provider="sandbox", body=signed[i][0], headers=signed[i][1]
        ),
        10,
    )
    assert PaymentEvent.objects.filter(outcome="captured").count() == 1
    assert payments.escrow_account(payment).credit_balance == 1000
    ledger_ok()


def test_concurrent_refunds_with_the_same_key_refund_once(paid_payment, ledger_ok):
    outcomes = race(
        lambda _i: payments.refund(payment=paid_payment, amount=600, key="same", reason="x"), 10
    )
    assert all(isinstance(o, Refund) for o in outcomes), outcomes
    assert Refund.objects.count() == 1
    paid_payment.refresh_from_db()
    assert paid_payment.refunded_fen == 600
    ledger_ok()


def test_concurrent_refunds_never_exceed_the_payment(paid_payment, ledger_ok):
    outcomes = race(
        lambda i: payments.refund(payment=paid_payment, amount=300, key=f"k{i}", reason="x"), 10
    )
    granted = [o for o in outcomes if isinstance(o, Refund)]
    refused = [o for o in outcomes if isinstance(o, RefundTooLarge)]
    assert len(granted) == 3 and len(refused) == 7, outcomes
    paid_payment.refresh_from_db()
    assert paid_payment.refunded_fen == 900
    assert payments.escrow_account(paid_payment).credit_balance == 100
    ledger_ok()


def test_concurrent_withdrawals_take_only_what_fits(merchant, shop, fund_shop, ledger_ok):
    fund_shop(shop, 5000)
    outcomes = race(
        lambda i: payouts.request_withdrawal(
            actor=merchant,
            amount=1500,
            account_holder="张三",
            account_number="6222021234567890",
            request_key=f"w{i}",
        ),
        10,
    )
    granted = [o for o in outcomes if isinstance(o, Withdrawal)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert len(granted) == 3 and len(refused) == 7, outcomes
    wallet = selectors.wallet_of(actor=merchant)
    assert (wallet.available, wallet.in_transit) == (500, 4500)
    ledger_ok()


def test_concurrent_settle_due_pays_each_withdrawal_once(merchant, shop, fund_shop, ledger_ok):
    from shoploop.core import clock

    fund_shop(shop, 5000)
    for i in range(4):
        payouts.request_withdrawal(
            actor=merchant,
            amount=1000,
            account_holder="张三",
            account_number="6222021234567890",
            request_key=f"w{i}",
        )
    now = clock.now()
    outcomes = race(lambda _i: payouts.settle_due_withdrawals(now), 5)
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert Withdrawal.objects.filter(state="paid").count() == 4
    assert Transfer.objects.filter(reason="withdrawal_paid").count() == 4
    assert selectors.wallet_of(actor=merchant).available == 1000
    ledger_ok()


def test_settle_due_pays_a_shop_whose_row_another_transaction_holds(
    merchant, shop, fund_shop, ledger_ok
):
    """A buyer placing an order at the shop holds a KEY SHARE lock on the shop row until commit.
    Locking the joined shop row too (FOR UPDATE without OF) made SKIP LOCKED skip every
    withdrawal of that shop; worse, a worker that locked a withdrawal and then failed on the shop
    kept the withdrawal locked, so concurrent settlers stranded it (the old flake of the test
    above: three of four paid, every worker returning normally)."""
    from django.db import connections

    from shoploop.core import clock

    fund_shop(shop, 3000)
    for i in range(2):
        payouts.request_withdrawal(
            actor=merchant,
            amount=1000,
            account_holder="张三",
            account_number="6222021234567890",
            request_key=f"w{i}",
        )
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            table = shop._meta.db_table
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [shop.pk])
        assert payouts.settle_due_withdrawals(clock.now()) == 2
    finally:
        holder.rollback()
        holder.close()
    assert Withdrawal.objects.filter(state="paid").count() == 2
    ledger_ok()
