"""Hypothesis drives random sequences of ledger operations, retries with reused keys included,
and checks after every step that no fen was created or lost."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)

from shoploop.core.errors import DomainError
from shoploop.ledger import services
from shoploop.ledger.models import Account, AccountKind, Limit, Transfer
from shoploop.ledger.verification import verify_books

KINDS = [
    AccountKind.PROVIDER_CLEARING,
    AccountKind.BUYER_ESCROW,
    AccountKind.MERCHANT_AVAILABLE,
    AccountKind.PLATFORM_FEES,
]


class _Rollback(Exception):
    pass


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    keys = Bundle("keys")

    def __init__(self):
        super().__init__()
        # Each example runs in a transaction rolled back at teardown: a clean ledger every time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.accounts = [
            services.open_account(kind=kind, owner_ref=f"acct{i}") for i, kind in enumerate(KINDS)
        ]
        self.counter = 0
        self.resolved: dict[int, str] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    @rule(
        target=keys,
        source=st.integers(0, 3),
        dest=st.integers(0, 3),
        amount=st.integers(1, 5000),
        pending=st.booleans(),
    )
    def transfer(self, source, dest, amount, pending):
        if source == dest:
            return multiple()
        key = self._key()
        try:
            made = services.transfer(
                key=key,
                debit=self.accounts[source],
                credit=self.accounts[dest],
                amount=amount,
                reason="test",
                pending=pending,
            )
        except DomainError:
            assert not Transfer.objects.filter(idempotency_key=key).exists()
            return multiple()
        return (key, made.pk)

    @rule(target=keys, dest=st.integers(1, 3), amount=st.integers(1, 5000))
    def hold_from_clearing(self, dest, amount):
        # Clearing has no limit, so this hold always succeeds: resolutions get exercised often.
        key = self._key()
        made = services.transfer(
            key=key,
            debit=self.accounts[0],
            credit=self.accounts[dest],
            amount=amount,
            reason="test",
            pending=True,
        )
        return (key, made.pk)

    @rule(entry=keys)
    def retry_same_key(self, entry):
        key, pk = entry
        original = Transfer.objects.get(pk=pk)
        if original.pending_id:
            return
        before = Transfer.objects.count()
        again = services.transfer(
            key=key,
            debit=original.debit_account,
            credit=original.credit_account,
            amount=original.amount,
            reason=original.reason,
            pending=original.kind == "pending",
        )
        assert again.pk == pk
        assert Transfer.objects.count() == before

    @rule(entry=keys, delta=st.integers(1, 100))
    def reuse_key_with_other_amount(self, entry, delta):
        key, pk = entry
        original = Transfer.objects.get(pk=pk)
        before = Transfer.objects.count()
        with pytest.raises(DomainError):
            services.transfer(
                key=key,
                debit=original.debit_account,
                credit=original.credit_account,
                amount=original.amount + delta,
                reason=original.reason,
            )
        assert Transfer.objects.count() == before

    @rule(entry=keys, post=st.booleans(), fraction=st.integers(1, 100))
    def resolve(self, entry, post, fraction):
        _, pk = entry
        hold = Transfer.objects.get(pk=pk)
        if hold.kind != "pending":
            return
        amount = max(1, hold.amount * fraction // 100)
        try:
            if post:
                services.post_hold(key=self._key(), hold=hold, amount=amount)
            else:
                services.void_hold(key=self._key(), hold=hold)
        except DomainError:
            assert pk in self.resolved, "a fresh hold must resolve"
            return
        assert pk not in self.resolved, "a hold resolved twice"
        self.resolved[pk] = "post" if post else "void"

    @invariant()
    def money_is_conserved(self):
        report = verify_books()
        assert report.ok, report.problems

    @invariant()
    def limited_accounts_are_never_overdrawn(self):
        for account in Account.objects.filter(limit=Limit.DEBITS_MUST_NOT_EXCEED_CREDITS):
            assert account.debits_posted + account.debits_pending <= account.credits_posted

    @invariant()
    def each_hold_resolves_at_most_once(self):
        for pk in self.resolved:
            assert Transfer.objects.filter(pending_id=pk).count() == 1


@pytest.mark.django_db
def test_ledger_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
