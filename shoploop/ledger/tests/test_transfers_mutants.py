"""Cases mutation testing of ledger/services/transfers.py showed untested (docs/mutation.md).

Some paths only run when another request commits between two of ours (a retry racing its own
first attempt). They are raced for real on PostgreSQL in test_races.py; here the race is replayed
in one thread, deterministically, by making the first look for the key miss, as it does when the
other request has not committed yet.
"""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.ledger import services
from shoploop.ledger.errors import IdempotencyKeyReused, InvalidTransfer
from shoploop.ledger.models import Account, Transfer
from shoploop.ledger.services import transfers
from shoploop.ledger.verification import verify_books


def fresh(account):
    return Account.objects.get(pk=account.pk)


@pytest.fixture
def funded(accounts):
    services.transfer(
        key="in",
        debit=accounts["clearing"],
        credit=accounts["escrow"],
        amount=10_000,
        reason="payment",
    )
    return accounts


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


class _FirstLookForTheKeyMisses:
    """Stands in for ``Transfer`` in transfers.py: the first lookup by idempotency key finds
    nothing (the racing request had not committed yet); everything else is the real manager."""

    def __init__(self):
        self.missed = 0

    @property
    def objects(self):
        return self

    def filter(self, *args, **kwargs):
        if not self.missed and set(kwargs) == {"idempotency_key"}:
            self.missed += 1
            return Transfer.objects.none()
        return Transfer.objects.filter(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(Transfer.objects, name)


@pytest.fixture
def miss_the_first_look(monkeypatch):
    """Call it to make the next lookup by key in transfers.py miss (see above)."""

    def arm():
        stand_in = _FirstLookForTheKeyMisses()
        monkeypatch.setattr(transfers, "Transfer", stand_in)
        return stand_in

    return arm


# --- expiry ---------------------------------------------------------------------------------


def test_the_most_overdue_holds_expire_first(funded, monkeypatch):
    """Holds are voided in the order of their expiry (then creation), not in creation order."""
    monkeypatch.setattr(transfers, "EXPIRY_BATCH_SIZE", 2)
    now = clock.now()
    late = _hold(funded, key="late", expires_at=now - timedelta(minutes=1))
    early = _hold(funded, key="early", expires_at=now - timedelta(minutes=3))
    middle = _hold(funded, key="middle", expires_at=now - timedelta(minutes=2))
    assert services.expire_due_pending(now) == 3
    voids = Transfer.objects.filter(kind="void").order_by("pk")
    assert [void.pending_id for void in voids] == [early.pk, middle.pk, late.pk]


def test_a_hold_resolved_by_its_owner_during_expiry_is_skipped_and_the_rest_expire(
    funded, monkeypatch
):
    """Between the batch read and the void, the owner posts one of the holds: expiry skips that
    one (HoldAlreadyResolved) and still voids the holds after it in the same batch."""
    now = clock.now()
    holds = [_hold(funded, key=f"h{index}", expires_at=now) for index in range(3)]
    real_void = transfers.void_hold
    calls = []

    def owner_posts_the_second_hold_first(*, key, hold):
        calls.append(hold.pk)
        if len(calls) == 1:
            # The owner's capture commits while expiry works through the batch (it is not yet
            # expired by the owner's clock).
            with clock.frozen_at(now - timedelta(seconds=1)):
                services.post_hold(key="owner-post", hold=holds[1])
        return real_void(key=key, hold=hold)

    monkeypatch.setattr(transfers, "void_hold", owner_posts_the_second_hold_first)
    assert services.expire_due_pending(now) == 2
    assert calls == [hold.pk for hold in holds]
    assert [hold.resolutions.get().kind for hold in holds] == ["void", "post", "void"]
    assert fresh(funded["merchant"]).credits_posted == 100
    assert verify_books().ok


# --- resolutions ----------------------------------------------------------------------------


def test_resolving_a_plain_transfer_says_it_is_not_a_hold(funded):
    plain = Transfer.objects.get(idempotency_key="in")
    for resolve in (
        lambda: services.void_hold(key="void", hold=plain),
        lambda: services.post_hold(key="post", hold=plain),
    ):
        with pytest.raises(InvalidTransfer) as caught:
            resolve()
        assert caught.value.code == "not_a_hold"
    assert not Transfer.objects.filter(pending__isnull=False).exists()


def test_a_retry_that_finds_its_first_attempt_under_the_lock_answers_with_it(
    funded, miss_the_first_look
):
    """The retry's first look missed the first attempt, which then committed: under the hold's
    lock the retry finds that resolution with its own key and returns it, moving nothing."""
    hold = _hold(funded, key="h", amount=1000)
    first = services.post_hold(key="capture", hold=hold, amount=400)
    stand_in = miss_the_first_look()
    again = services.post_hold(key="capture", hold=hold, amount=400)
    assert stand_in.missed == 1
    assert again.pk == first.pk and again.amount == 400
    assert fresh(funded["merchant"]).credits_posted == 400
    assert fresh(funded["escrow"]).debits_posted == 400
    assert verify_books().ok


@pytest.mark.parametrize(
    "other",
    [
        lambda hold: services.post_hold(key="capture", hold=hold, amount=401),
        lambda hold: services.post_hold(key="capture", hold=hold),
        lambda hold: services.void_hold(key="capture", hold=hold),
    ],
    ids=["other-amount", "whole-hold", "void"],
)
def test_another_request_with_the_key_found_under_the_lock_is_refused(
    funded, miss_the_first_look, other
):
    hold = _hold(funded, key="h", amount=1000)
    services.post_hold(key="capture", hold=hold, amount=400)
    miss_the_first_look()
    with pytest.raises(IdempotencyKeyReused):
        other(hold)
    assert hold.resolutions.count() == 1
    assert fresh(funded["merchant"]).credits_posted == 400


def test_a_key_raced_onto_another_hold_is_refused_through_the_integrity_error(
    funded, miss_the_first_look
):
    """The key was used on hold one by a request that committed after our first look: our
    insert for hold two breaks the unique key, and the error names the reused key."""
    one, two = _hold(funded, key="h1"), _hold(funded, key="h2")
    services.void_hold(key="v", hold=one)
    miss_the_first_look()
    with pytest.raises(IdempotencyKeyReused):
        services.void_hold(key="v", hold=two)
    assert not two.resolutions.exists()
    assert fresh(funded["escrow"]).debits_pending == 100
    assert verify_books().ok
