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
        if not self.missed and set(kwargs) in ({"idempotency_key"}, {"idempotency_key__in"}):
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


def test_a_hold_cannot_be_posted_at_the_instant_it_expires(funded):
    expires_at = clock.now() + timedelta(minutes=5)
    hold = _hold(funded, key="h", expires_at=expires_at)
    with clock.frozen_at(expires_at - timedelta(microseconds=1)):
        assert services.post_hold(key="just-in-time", hold=hold).kind == "post"
    other = _hold(funded, key="h2", expires_at=expires_at)
    with clock.frozen_at(expires_at), pytest.raises(transfers.HoldExpired):
        services.post_hold(key="too-late", hold=other)
    assert not other.resolutions.exists()


@pytest.mark.parametrize("amount", [0, 1001, -1, True, 1.5, "100"])
def test_a_capture_of_a_bad_amount_is_refused_with_its_code(funded, amount):
    hold = _hold(funded, key="h", amount=1000)
    with pytest.raises(InvalidTransfer) as caught:
        services.post_hold(key="post", hold=hold, amount=amount)
    assert caught.value.code == "invalid_amount"
    assert not hold.resolutions.exists()
    assert fresh(funded["escrow"]).debits_pending == 1000


def test_a_capture_of_one_fen_releases_the_rest(funded):
    hold = _hold(funded, key="h", amount=1000)
    posted = services.post_hold(key="post", hold=hold, amount=1)
    assert (posted.kind, posted.amount) == ("post", 1)
    escrow = fresh(funded["escrow"])
    assert (escrow.debits_posted, escrow.debits_pending) == (1, 0)
    assert fresh(funded["merchant"]).credits_posted == 1


def test_a_resolution_keeps_the_reason_and_cause_of_its_hold(funded):
    hold = services.transfer(
        key="h",
        debit=funded["escrow"],
        credit=funded["merchant"],
        amount=100,
        reason="order_hold",
        cause="order:42",
        pending=True,
    )
    for resolution in (
        services.post_hold(key="post", hold=hold),
        services.void_hold(key="void", hold=_hold(funded, key="h2")),
    ):
        held = resolution.pending
        assert (resolution.reason, resolution.cause) == (held.reason, held.cause)
    assert services.post_hold(key="post", hold=hold).cause == "order:42"


# --- account limits -------------------------------------------------------------------------


@pytest.fixture
def credit_limited(funded):
    """An account that may never be credited more than it has paid out (debits)."""
    return services.open_account(
        kind="refunds", owner_ref="limited", limit=transfers.Limit.CREDITS_MUST_NOT_EXCEED_DEBITS
    )


def _move(key, debit, credit, amount, *, pending=False):
    return services.transfer(
        key=key, debit=debit, credit=credit, amount=amount, reason="x", pending=pending
    )


def test_a_credit_limited_account_takes_credits_up_to_its_debits_only(funded, credit_limited):
    clearing = funded["clearing"]
    with pytest.raises(transfers.InsufficientFunds):
        _move("one-fen", clearing, credit_limited, 1)  # nothing paid out yet
    _move("out", credit_limited, clearing, 100)  # debits are unlimited: it has paid out 100
    with pytest.raises(transfers.InsufficientFunds):
        _move("posted-101", clearing, credit_limited, 101)
    with pytest.raises(transfers.InsufficientFunds):
        _move("pending-101", clearing, credit_limited, 101, pending=True)
    hold = _move("pending-60", clearing, credit_limited, 60, pending=True)
    with pytest.raises(transfers.InsufficientFunds):
        _move("posted-41", clearing, credit_limited, 41)  # 60 held + 41 > 100
    _move("posted-40", clearing, credit_limited, 40)  # exactly up to the limit
    account = fresh(credit_limited)
    assert (account.debits_posted, account.credits_posted, account.credits_pending) == (100, 40, 60)
    services.post_hold(key="post", hold=hold)
    account = fresh(credit_limited)
    assert (account.credits_posted, account.credits_pending) == (100, 0)
    assert verify_books().ok


def test_exactly_the_limit_may_be_held(funded, credit_limited):
    _move("out", credit_limited, funded["clearing"], 100)
    hold = _move("pending-100", funded["clearing"], credit_limited, 100, pending=True)
    assert fresh(credit_limited).credits_pending == 100
    services.void_hold(key="void", hold=hold)
    assert fresh(credit_limited).credits_pending == 0


def test_a_debit_limited_account_refuses_even_one_fen_it_does_not_have(funded):
    empty = services.open_account(kind="buyer_escrow", owner_ref="empty")
    with pytest.raises(transfers.InsufficientFunds):
        _move("one-fen", empty, funded["merchant"], 1)
    with pytest.raises(transfers.InsufficientFunds):
        _move("one-fen-held", empty, funded["merchant"], 1, pending=True)
    assert fresh(empty).debits_posted == fresh(empty).debits_pending == 0


# --- input and retries of plain transfers ---------------------------------------------------


def test_an_account_without_owner_is_named_by_its_kind(db):
    assert services.open_account(kind="platform_fees").code == "platform_fees"
    with pytest.raises(InvalidTransfer) as caught:
        services.open_account(kind="pocket")
    assert caught.value.code == "unknown_account_kind"


def test_a_transfer_without_cause_has_an_empty_one(funded):
    assert Transfer.objects.get(idempotency_key="in").cause == ""


def _spec(accounts, **overrides):
    fields = dict(
        key="k", debit=accounts["escrow"], credit=accounts["merchant"], amount=1, reason="x"
    )
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"key": ""}, "invalid_key"),
        ({"key": "k" * 201}, "invalid_key"),
        ({"amount": 1.0}, "amount_not_integer"),
        ({"amount": True}, "amount_not_integer"),
        ({"amount": 0}, "invalid_amount"),
        ({"amount": transfers.MAX_TRANSFER_FEN + 1}, "invalid_amount"),
        ({"debit": "escrow-as-credit"}, "same_account"),
        ({"expires_at": "soon"}, "expiry_needs_hold"),
    ],
)
def test_bad_transfers_are_refused_with_their_code(funded, overrides, code):
    if overrides.get("debit") == "escrow-as-credit":
        overrides = {"debit": funded["merchant"]}
    if overrides.get("expires_at") == "soon":
        overrides = {"expires_at": clock.now() + timedelta(minutes=1)}
    with pytest.raises(InvalidTransfer) as caught:
        services.transfer(**_spec(funded, **overrides))
    assert caught.value.code == code
    assert not Transfer.objects.exclude(idempotency_key="in").exists()


def test_the_edges_of_the_valid_key_and_amount_are_accepted(funded):
    services.transfer(**_spec(funded, key="k" * 200, amount=1))
    services.transfer(
        **_spec(
            funded,
            key="max",
            debit=funded["clearing"],
            credit=funded["escrow"],
            amount=transfers.MAX_TRANSFER_FEN,
        )
    )
    assert fresh(funded["merchant"]).credits_posted == 1
    assert fresh(funded["escrow"]).credits_posted == 10_000 + transfers.MAX_TRANSFER_FEN


def test_a_batch_naming_one_key_twice_is_refused(funded):
    spec = services.TransferSpec("same", funded["escrow"], funded["merchant"], 1, "x")
    with pytest.raises(InvalidTransfer) as caught:
        services.transfer_linked(specs=[spec, spec])
    assert caught.value.code == "duplicate_key_in_batch"


def test_a_retry_whose_first_look_missed_is_answered_through_the_unique_key(
    funded, miss_the_first_look
):
    specs = [
        services.TransferSpec("a", funded["escrow"], funded["merchant"], 30, "release"),
        services.TransferSpec("b", funded["escrow"], funded["merchant"], 20, "release"),
    ]
    made = services.transfer_linked(specs=specs)
    stand_in = miss_the_first_look()
    again = services.transfer_linked(specs=specs)
    assert stand_in.missed == 1
    assert [t.pk for t in again] == [t.pk for t in made]
    assert fresh(funded["merchant"]).credits_posted == 50
    other = [services.TransferSpec("a", funded["escrow"], funded["merchant"], 31, "release")]
    miss_the_first_look()
    with pytest.raises(IdempotencyKeyReused):
        services.transfer_linked(specs=other)
    assert fresh(funded["merchant"]).credits_posted == 50


def test_an_account_is_opened_with_its_kind_owner_and_limit(db):
    opened = services.open_account(kind="merchant_available", owner_ref="shop:9")
    stored = Account.objects.get(pk=opened.pk)
    assert (stored.kind, stored.owner_ref, stored.code) == (
        "merchant_available",
        "shop:9",
        "merchant_available:shop:9",
    )
    assert stored.limit == transfers.Limit.DEBITS_MUST_NOT_EXCEED_CREDITS
    refunds = Account.objects.get(pk=services.open_account(kind="refunds").pk)
    assert (refunds.kind, refunds.owner_ref, refunds.limit) == ("refunds", "", "none")


def test_an_account_opened_by_a_racing_request_is_returned(db, monkeypatch):
    """The first look found no account, then a concurrent first use created it: our insert
    breaks the unique code and the account the other request made is returned."""
    made = services.open_account(kind="platform_fees")
    real = Account.objects

    class _FirstLookMisses:
        def filter(self, *args, **kwargs):
            return real.none()

        def __getattr__(self, name):
            return getattr(real, name)

    class _Account:
        objects = _FirstLookMisses()

    monkeypatch.setattr(transfers, "Account", _Account)
    assert services.open_account(kind="platform_fees").pk == made.pk
    monkeypatch.undo()
    assert Account.objects.filter(code="platform_fees").count() == 1
