"""Ledger races on PostgreSQL: real threads, released together, then `verify_ledger`."""

import threading

import pytest

from shoploop.core.errors import DomainError
from shoploop.core.testing import race
from shoploop.ledger import services
from shoploop.ledger.models import Account, Transfer
from shoploop.ledger.verification import verify_books

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _codes(outcomes):
    return [o.code if isinstance(o, DomainError) else "ok" for o in outcomes]


def test_the_same_transfer_retried_ten_times_at_once_moves_money_once(accounts):
    def pay(_index):
        return services.transfer(
            key="callback-evt-1",
            debit=accounts["clearing"],
            credit=accounts["escrow"],
            amount=1000,
            reason="payment",
        ).pk

    outcomes = race(pay, 10)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    assert Transfer.objects.count() == 1
    assert Account.objects.get(pk=accounts["escrow"].pk).credit_balance == 1000
    assert verify_books().ok


def test_twenty_withdrawals_cannot_overdraw(accounts):
    services.transfer(
        key="in",
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=500,
        reason="payment",
    )

    def withdraw(index):
        return services.transfer(
            key=f"out-{index}",
            debit=accounts["escrow"],
            credit=accounts["merchant"],
            amount=100,
            reason="release",
        )

    codes = _codes(race(withdraw, 20))
    assert codes.count("ok") == 5
    assert codes.count("insufficient_funds") == 15
    assert Account.objects.get(pk=accounts["escrow"].pk).credit_balance == 0
    assert verify_books().ok


def test_post_and_void_racing_on_one_hold_resolve_it_once(accounts):
    services.transfer(
        key="in",
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=1000,
        reason="payment",
    )
    hold = services.transfer(
        key="hold",
        debit=accounts["escrow"],
        credit=accounts["merchant"],
        amount=1000,
        reason="escrow",
        pending=True,
    )

    def resolve(index):
        if index % 2:
            return services.post_hold(key=f"post-{index}", hold=hold)
        return services.void_hold(key=f"void-{index}", hold=hold)

    codes = _codes(race(resolve, 12))
    assert codes.count("ok") == 1
    assert hold.resolutions.count() == 1
    assert verify_books().ok


def test_holds_expire_once_with_several_workers(accounts):
    from datetime import timedelta

    from shoploop.core import clock

    services.transfer(
        key="in",
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=10_000,
        reason="payment",
    )
    now = clock.now()
    for index in range(30):
        services.transfer(
            key=f"hold-{index}",
            debit=accounts["escrow"],
            credit=accounts["merchant"],
            amount=100,
            reason="escrow",
            pending=True,
            expires_at=now,
        )
    voided = race(lambda _index: services.expire_due_pending(now + timedelta(seconds=1)), 4)
    assert sum(voided) == 30
    assert Transfer.objects.filter(kind="void").count() == 30
    assert verify_books().ok


def _funded_holds(accounts, count):
    services.transfer(
        key="in",
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=1000,
        reason="payment",
    )
    return [
        services.transfer(
            key=f"hold-{index}",
            debit=accounts["escrow"],
            credit=accounts["merchant"],
            amount=100,
            reason="escrow",
            pending=True,
        )
        for index in range(count)
    ]


def test_one_post_retried_eight_times_at_once_answers_each_retry_with_the_first(accounts):
    (hold,) = _funded_holds(accounts, 1)
    outcomes = race(lambda _index: services.post_hold(key="post", hold=hold).pk, 8)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    assert hold.resolutions.count() == 1
    assert Account.objects.get(pk=accounts["merchant"].pk).credit_balance == 100
    assert verify_books().ok


def test_a_resolution_key_raced_on_two_holds_is_refused_through_the_integrity_error(
    accounts, monkeypatch
):
    """Two holds, one key: each thread locks its own hold, so nothing serialises them until the
    unique key does. A barrier inside the lock makes both insert at once; the loser's
    IntegrityError must become IdempotencyKeyReused, and its hold stay open."""
    from shoploop.ledger.services import transfers

    holds = _funded_holds(accounts, 2)
    inside = threading.Barrier(2, timeout=30)
    original = transfers._resolve_locked

    def both_inside(**kwargs):
        inside.wait()
        return original(**kwargs)

    monkeypatch.setattr(transfers, "_resolve_locked", both_inside)
    outcomes = race(lambda index: services.post_hold(key="same", hold=holds[index]), 2)
    assert sorted(_codes(outcomes)) == ["idempotency_key_reused", "ok"], outcomes
    assert Transfer.objects.filter(idempotency_key="same").count() == 1
    assert sum(hold.resolutions.count() for hold in holds) == 1
    assert verify_books().ok
