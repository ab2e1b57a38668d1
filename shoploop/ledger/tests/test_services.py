from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.ledger import services
from shoploop.ledger.errors import (
    HoldAlreadyResolved,
    HoldExpired,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
)
from shoploop.ledger.models import Account, AccountKind, Transfer
from shoploop.ledger.services import transfers
from shoploop.ledger.verification import verify_books


def fresh(account):
    return Account.objects.get(pk=account.pk)


def pay_in(accounts, amount=1000, key="pay-1"):
    return services.transfer(
        key=key,
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=amount,
        reason="payment",
        cause="order:1",
    )


def test_open_account_is_idempotent(db):
    first = services.open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:9")
    again = services.open_account(kind=AccountKind.MERCHANT_AVAILABLE, owner_ref="shop:9")
    assert first.pk == again.pk
    assert first.code == "merchant_available:shop:9"


def test_unknown_account_kind_is_refused(db):
    with pytest.raises(InvalidTransfer):
        services.open_account(kind="pocket")


def test_posted_transfer_moves_balances(accounts):
    pay_in(accounts, 1000)
    assert fresh(accounts["escrow"]).credit_balance == 1000
    assert fresh(accounts["clearing"]).debit_balance == 1000
    assert verify_books().ok


def test_same_key_same_content_returns_the_first_transfer(accounts):
    first = pay_in(accounts)
    again = pay_in(accounts)
    assert again.pk == first.pk
    assert Transfer.objects.count() == 1
    assert fresh(accounts["escrow"]).credit_balance == 1000


def test_same_key_other_content_is_refused_and_changes_nothing(accounts):
    pay_in(accounts, 1000)
    with pytest.raises(IdempotencyKeyReused):
        pay_in(accounts, 999)
    assert fresh(accounts["escrow"]).credit_balance == 1000


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100", 10**18])
def test_bad_amounts_are_refused(accounts, amount):
    with pytest.raises(InvalidTransfer):
        pay_in(accounts, amount)
    assert Transfer.objects.count() == 0


def test_an_account_cannot_pay_itself(accounts):
    with pytest.raises(InvalidTransfer):
        services.transfer(
            key="k", debit=accounts["escrow"], credit=accounts["escrow"], amount=1, reason="x"
        )


def test_limited_account_refuses_overdraft(accounts):
    pay_in(accounts, 500)
    with pytest.raises(InsufficientFunds):
        services.transfer(
            key="out",
            debit=accounts["escrow"],
            credit=accounts["merchant"],
            amount=501,
            reason="release",
        )
    assert fresh(accounts["escrow"]).credit_balance == 500
    assert Transfer.objects.count() == 1


def test_hold_reserves_then_posts_exactly_once(accounts):
    pay_in(accounts, 1000)
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=800,
        reason="escrow",
        pending=True,
    )
    escrow = fresh(accounts["escrow"])
    assert (escrow.debits_pending, escrow.debits_posted) == (800, 0)
    # Funds on hold cannot be spent twice.
    with pytest.raises(InsufficientFunds):
        services.transfer(
            key="other",
            debit=accounts["escrow"],
            credit=accounts["merchant"],
            amount=201,
            reason="x",
        )
    posted = services.post_hold(key="post", hold=hold)
    assert services.post_hold(key="post", hold=hold).pk == posted.pk  # a retry is a no-op
    with pytest.raises(HoldAlreadyResolved) as caught:
        services.void_hold(key="void", hold=hold)
    assert caught.value.code == "already_posted"
    merchant = fresh(accounts["merchant"])
    assert (merchant.credits_posted, merchant.credits_pending) == (800, 0)
    assert verify_books().ok


def test_partial_post_releases_the_rest(accounts):
    pay_in(accounts, 1000)
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=1000,
        reason="escrow",
        pending=True,
    )
    services.post_hold(key="post", hold=hold, amount=600)
    escrow = fresh(accounts["escrow"])
    assert escrow.credit_balance == 400 and escrow.debits_pending == 0
    assert verify_books().ok


@pytest.mark.parametrize("amount", [0, 1001, -1])
def test_post_more_than_held_is_refused(accounts, amount):
    pay_in(accounts, 1000)
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=1000,
        reason="escrow",
        pending=True,
    )
    with pytest.raises(InvalidTransfer):
        services.post_hold(key="post", hold=hold, amount=amount)
    assert not hold.resolutions.exists()


def test_void_releases_and_cannot_be_posted_after(accounts):
    pay_in(accounts, 1000)
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=700,
        reason="escrow",
        pending=True,
    )
    services.void_hold(key="void", hold=hold)
    with pytest.raises(HoldAlreadyResolved) as caught:
        services.post_hold(key="post", hold=hold)
    assert caught.value.code == "already_voided"
    assert fresh(accounts["escrow"]).debits_pending == 0
    assert fresh(accounts["merchant"]).credits_posted == 0
    assert verify_books().ok


def test_resolving_a_posted_transfer_is_refused(accounts):
    plain = pay_in(accounts, 100)
    with pytest.raises(InvalidTransfer):
        services.void_hold(key="void", hold=plain)


def test_expired_holds_are_voided_by_settle_due_once(accounts):
    pay_in(accounts, 1000)
    now = clock.now()
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=300,
        reason="escrow",
        pending=True,
        expires_at=now + timedelta(minutes=15),
    )
    assert services.expire_due_pending(now) == 0
    later = now + timedelta(minutes=16)
    with clock.frozen_at(later), pytest.raises(HoldExpired):
        services.post_hold(key="late", hold=hold)
    assert services.expire_due_pending(later) == 1
    assert services.expire_due_pending(later) == 0
    assert hold.resolutions.get().kind == "void"
    assert verify_books().ok


def test_linked_transfers_commit_all_or_none(accounts):
    pay_in(accounts, 100)
    fee_account = services.open_account(kind=AccountKind.PLATFORM_FEES)
    specs = [
        services.TransferSpec("a", accounts["escrow"], accounts["merchant"], 95, "release"),
        services.TransferSpec("b", accounts["escrow"], fee_account, 10, "fee"),  # 105 > 100
    ]
    with pytest.raises(InsufficientFunds):
        services.transfer_linked(specs=specs)
    assert Transfer.objects.count() == 1
    assert fresh(accounts["merchant"]).credit_balance == 0
    ok = [specs[0], services.TransferSpec("b", accounts["escrow"], fee_account, 5, "fee")]
    made = services.transfer_linked(specs=ok)
    assert [t.pk for t in services.transfer_linked(specs=ok)] == [t.pk for t in made]
    assert verify_books().ok


def test_transfers_are_immutable(accounts):
    made = pay_in(accounts)
    made.amount = 1
    with pytest.raises(ValueError):
        made.save()


def test_verify_books_finds_a_tampered_balance(accounts):
    pay_in(accounts, 1000)
    Account.objects.filter(pk=accounts["escrow"].pk).update(credits_posted=999)
    report = verify_books()
    assert not report.ok
    assert any("credits_posted=999" in problem for problem in report.problems)


# --- cases a mutant of transfers.py would otherwise survive ---------------------------------


def _hold(accounts, *, key, amount=100, expires_at=None):
    return services.transfer(
        key=key,
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=amount,
        reason="escrow",
        pending=True,
        expires_at=expires_at,
    )


@pytest.mark.parametrize("holds", [5, 4])
def test_expiry_works_through_more_than_one_batch(accounts, monkeypatch, holds):
    # Batches of 2: 5 holds take 2 + 2 + 1, 4 holds take 2 + 2 + an empty last look.
    monkeypatch.setattr(transfers, "EXPIRY_BATCH_SIZE", 2)
    pay_in(accounts, 1000)
    now = clock.now()
    for index in range(holds):
        _hold(accounts, key=f"h{index}", expires_at=now)
    _hold(accounts, key="later", expires_at=now + timedelta(hours=1))
    assert services.expire_due_pending(now) == holds
    assert Transfer.objects.filter(kind="void").count() == holds
    assert fresh(accounts["escrow"]).debits_pending == 100  # only the later hold is left
    assert services.expire_due_pending(now) == 0
    assert verify_books().ok


def test_a_partial_post_retried_returns_the_first_and_moves_nothing_more(accounts):
    pay_in(accounts, 1000)
    hold = _hold(accounts, key="h", amount=1000)
    first = services.post_hold(key="capture", hold=hold, amount=400)
    again = services.post_hold(key="capture", hold=hold, amount=400)
    assert again.pk == first.pk and first.amount == 400
    assert fresh(accounts["merchant"]).credit_balance == 400
    assert fresh(accounts["escrow"]).credit_balance == 600
    # The same key for another amount, for the whole hold, or as a void is another request.
    for other in (
        lambda: services.post_hold(key="capture", hold=hold, amount=401),
        lambda: services.post_hold(key="capture", hold=hold),
        lambda: services.void_hold(key="capture", hold=hold),
    ):
        with pytest.raises(IdempotencyKeyReused):
            other()
    assert Transfer.objects.filter(pending=hold).count() == 1
    assert fresh(accounts["merchant"]).credit_balance == 400
    assert verify_books().ok


def test_a_full_post_retried_with_the_amount_spelled_out_is_the_same_request(accounts):
    pay_in(accounts, 1000)
    hold = _hold(accounts, key="h", amount=300)
    first = services.post_hold(key="capture", hold=hold)
    assert services.post_hold(key="capture", hold=hold, amount=300).pk == first.pk


def test_a_resolution_key_reused_on_another_hold_is_refused(accounts):
    pay_in(accounts, 1000)
    one, two = _hold(accounts, key="h1"), _hold(accounts, key="h2")
    services.void_hold(key="v", hold=one)
    with pytest.raises(IdempotencyKeyReused):
        services.void_hold(key="v", hold=two)
    assert not two.resolutions.exists()


@pytest.mark.parametrize("first_pending", [False, True])
def test_a_key_reused_with_the_other_pending_flag_is_refused(accounts, first_pending):
    pay_in(accounts, 1000)
    kwargs = dict(
        key="k", debit=accounts["escrow"], credit=accounts["merchant"], amount=100, reason="x"
    )
    made = services.transfer(**kwargs, pending=first_pending)
    with pytest.raises(IdempotencyKeyReused):
        services.transfer(**kwargs, pending=not first_pending)
    assert Transfer.objects.filter(idempotency_key="k").get().pk == made.pk
    assert made.kind == ("pending" if first_pending else "single")
    assert verify_books().ok
