"""Cases mutation testing of ledger/verification.py (the books) showed untested
(docs/mutation.md): the exact figures the report gives and the exact text of each problem."""

from django.db.models import F

from shoploop.ledger.models import Account, AccountKind
from shoploop.ledger.services import open_account, transfer
from shoploop.ledger.verification import verify_books


def _shift(account, **deltas):
    Account.objects.filter(pk=account.pk).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def test_the_report_counts_accounts_and_posted_money(db):
    clearing = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    escrow = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:1")
    open_account(kind=AccountKind.REFUNDS)
    transfer(key="a", debit=clearing, credit=escrow, amount=700, reason="r")
    transfer(key="b", debit=clearing, credit=escrow, amount=300, reason="r")
    report = verify_books()
    assert report.ok, report.problems
    assert (report.accounts, report.transfers, report.posted_total) == (3, 2, 1000)


def test_a_tampered_balance_is_named_with_both_figures(db):
    clearing = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    escrow = open_account(kind=AccountKind.BUYER_ESCROW, owner_ref="payment:1")
    transfer(key="a", debit=clearing, credit=escrow, amount=700, reason="r")
    _shift(escrow, credits_posted=-1)
    assert verify_books().problems == [
        "buyer_escrow:payment:1: cached credits_posted=699, sums to 700",
        "posted debits 700 != credits 699",
    ]


def test_unbalanced_totals_are_named_with_both_sides(db):
    account = open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref="x")
    other = open_account(kind=AccountKind.REFUNDS, owner_ref="y")
    _shift(account, debits_pending=7, debits_posted=5)
    _shift(other, credits_pending=3, credits_posted=2)
    problems = verify_books().problems
    assert "posted debits 5 != credits 2" in problems
    assert "pending debits 7 != credits 3" in problems
