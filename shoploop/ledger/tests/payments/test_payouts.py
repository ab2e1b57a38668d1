"""Merchant withdrawals: limits, idempotency, paid and failed outcomes (funds back exactly once)."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from shoploop.ledger import selectors
from shoploop.ledger.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    ProviderError,
    WithdrawalRefused,
)
from shoploop.ledger.models import Transfer, Withdrawal
from shoploop.ledger.providers.sandbox import SandboxPayoutProvider
from shoploop.ledger.services import payouts

ACCOUNT = "6222 0212 3456 7890"
FAILING_ACCOUNT = "6222021234560000"


def withdraw(merchant, amount, *, key="w1", account=ACCOUNT, holder="张三"):
    return payouts.request_withdrawal(
        actor=merchant,
        amount=amount,
        account_holder=holder,
        account_number=account,
        request_key=key,
    )


def test_withdrawal_holds_the_money_and_stores_a_masked_account(
    merchant, shop, fund_shop, ledger_ok
):
    fund_shop(shop, 5000)
    withdrawal = withdraw(merchant, 3000)
    assert withdrawal.state == Withdrawal.State.PENDING
    assert withdrawal.account_masked == "•••• 7890" and "6222" not in withdrawal.account_masked
    wallet = selectors.wallet_of(actor=merchant)
    assert (wallet.available, wallet.in_transit) == (2000, 3000)
    ledger_ok()


def test_paid_withdrawal_leaves_through_provider_clearing(merchant, shop, fund_shop, ledger_ok):
    fund_shop(shop, 5000)
    withdrawal = withdraw(merchant, 3000)
    assert payouts.settle_due_withdrawals(clock.now()) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.state == Withdrawal.State.PAID and withdrawal.attempts == 1
    wallet = selectors.wallet_of(actor=merchant)
    assert (wallet.available, wallet.in_transit) == (2000, 0)
    assert Transfer.objects.filter(reason="withdrawal_paid", amount=3000).count() == 1
    assert payouts.settle_due_withdrawals(clock.now()) == 0
    ledger_ok()


def test_failed_withdrawal_returns_the_funds_exactly_once(merchant, shop, fund_shop, ledger_ok):
    fund_shop(shop, 5000)
    withdrawal = withdraw(merchant, 3000, account=FAILING_ACCOUNT)
    payouts.settle_due_withdrawals(clock.now())
    withdrawal.refresh_from_db()
    assert withdrawal.state == Withdrawal.State.FAILED
    assert withdrawal.failure_reason == "account_rejected"
    # Processing again (a second worker, an admin click) returns nothing twice.
    payouts.process_withdrawal(withdrawal=withdrawal, now=clock.now() + timedelta(days=1))
    assert selectors.wallet_of(actor=merchant).available == 5000
    assert Transfer.objects.filter(kind="void").count() == 1
    ledger_ok()


def test_a_payout_provider_outage_is_retried(merchant, shop, fund_shop, monkeypatch, ledger_ok):
    fund_shop(shop, 5000)

    def down(self, *, withdrawal):
        raise ProviderError("bank offline")

    monkeypatch.setattr(SandboxPayoutProvider, "pay", down)
    withdrawal = withdraw(merchant, 1000)
    start = withdrawal.next_attempt_at
    payouts.settle_due_withdrawals(start)
    withdrawal.refresh_from_db()
    assert withdrawal.state == Withdrawal.State.PENDING and withdrawal.attempts == 1
    assert withdrawal.next_attempt_at == start + timedelta(seconds=60)
    monkeypatch.undo()
    payouts.settle_due_withdrawals(start + timedelta(seconds=60))
    withdrawal.refresh_from_db()
    assert withdrawal.state == Withdrawal.State.PAID and withdrawal.attempts == 2
    ledger_ok()


def test_withdrawing_more_than_available_is_refused(merchant, shop, fund_shop, ledger_ok):
    fund_shop(shop, 5000)
    withdraw(merchant, 4000, key="a")
    with pytest.raises(InsufficientFunds):
        withdraw(merchant, 1001, key="b")
    assert Withdrawal.objects.count() == 1
    assert selectors.wallet_of(actor=merchant).available == 1000
    ledger_ok()


def test_less_than_one_yuan_is_refused(merchant, shop, fund_shop):
    fund_shop(shop, 5000)
    with pytest.raises(WithdrawalRefused) as refused:
        withdraw(merchant, 99)
    assert refused.value.code == "below_minimum"
    assert withdraw(merchant, 100).amount == 100


@pytest.mark.parametrize("amount", [0, -100, 100.5, "100", True, 10**15])
def test_bad_amounts_are_refused(merchant, shop, fund_shop, amount):
    fund_shop(shop, 5000)
    with pytest.raises(ValidationFailed):
        withdraw(merchant, amount)
    assert not Withdrawal.objects.exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("account", "12ab5678"),
        ("account", "1234"),
        ("account", "1" * 31),
        ("holder", ""),
        ("holder", "x" * 61),
        ("holder", "a\x00b"),
    ],
)
def test_bad_bank_details_are_refused(merchant, shop, fund_shop, field, value):
    fund_shop(shop, 5000)
    with pytest.raises(WithdrawalRefused):
        withdraw(merchant, 1000, **{field: value})
    assert not Withdrawal.objects.exists()


def test_the_same_request_key_pays_out_once(merchant, shop, fund_shop, ledger_ok):
    fund_shop(shop, 5000)
    first = withdraw(merchant, 1000, key="same")
    assert withdraw(merchant, 1000, key="same").pk == first.pk
    with pytest.raises(IdempotencyKeyReused):
        withdraw(merchant, 2000, key="same")
    assert selectors.wallet_of(actor=merchant).available == 4000
    ledger_ok()


def test_only_merchants_have_a_wallet(user):
    with pytest.raises(PermissionDenied):
        selectors.wallet_of(actor=user)
    with pytest.raises(PermissionDenied):
        withdraw(user, 1000)
    with pytest.raises(NotAuthenticated):
        selectors.wallet_of(actor=None)


def test_wallet_lines_show_the_money_behind_the_balances(merchant, shop, fund_shop):
    fund_shop(shop, 5000)
    withdraw(merchant, 1000)
    lines = list(selectors.wallet_lines(actor=merchant))
    assert [line.reason for line in lines][:2] == ["withdrawal", "order_completed"]
    assert lines[0].from_kind == "merchant_available"
    assert lines[0].to_kind == "payouts_in_transit"
