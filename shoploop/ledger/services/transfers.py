"""Every write to the ledger.

- ``open_account`` — idempotent by the account's natural code.
- ``transfer`` / ``transfer_linked`` — posted or pending transfers; a linked list is all or none.
- ``post_hold`` / ``void_hold`` — resolve a pending transfer exactly once.
- ``expire_due_pending`` — the ``settle_due`` handler that voids expired holds.

Idempotency: a transfer's key is unique. Retrying with the same key and the same content returns the
first transfer; the same key with other content raises ``IdempotencyKeyReused``. Balances change
only by conditional UPDATEs, with accounts touched in primary-key order so concurrent transfers
cannot deadlock.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef

from shoploop.core import clock
from shoploop.core.money import MAX_PRICE_FEN
from shoploop.ledger.errors import (
    HoldAlreadyResolved,
    HoldExpired,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
)
from shoploop.ledger.models import Account, AccountKind, Limit, Transfer, TransferKind

# Accounts that hold money for somebody may never pay out more than they received.
DEFAULT_LIMITS = {
    AccountKind.PROVIDER_CLEARING: Limit.NONE,
    AccountKind.BUYER_ESCROW: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.MERCHANT_PENDING: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.MERCHANT_AVAILABLE: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.PLATFORM_FEES: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.REFUNDS: Limit.NONE,
    AccountKind.PAYOUTS_IN_TRANSIT: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.COMMISSIONS: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    # A shop's debt for commissions it has not settled: never settled beyond what was posted.
    AccountKind.COMMISSIONS_PAYABLE: Limit.CREDITS_MUST_NOT_EXCEED_DEBITS,
    # Kept back for commissions: never settles more than was kept.
    AccountKind.COMMISSIONS_RESERVED: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
    # A task's reserved reward: never pays winners or refunds more than was reserved.
    AccountKind.TASK_REWARDS: Limit.DEBITS_MUST_NOT_EXCEED_CREDITS,
}
# Ledger amounts can exceed one product's price (a merchant's turnover), but not absurdly.
MAX_TRANSFER_FEN = MAX_PRICE_FEN * 100
EXPIRY_BATCH_SIZE = 100


@dataclass(frozen=True)
class TransferSpec:
    key: str
    debit: Account
    credit: Account
    amount: int
    reason: str
    cause: str = ""
    pending: bool = False
    expires_at: datetime | None = None

    @property
    def kind(self) -> str:
        return TransferKind.PENDING if self.pending else TransferKind.SINGLE


def open_account(*, kind: str, owner_ref: str = "", limit: str | None = None) -> Account:
    """The account for (kind, owner), created on first use."""
    if kind not in AccountKind.values:
        raise InvalidTransfer(code="unknown_account_kind")
    code = f"{kind}:{owner_ref}" if owner_ref else str(kind)
    found = Account.objects.filter(code=code).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Account.objects.create(
                kind=kind,
                code=code,
                owner_ref=owner_ref,
                limit=limit or DEFAULT_LIMITS[AccountKind(kind)],
            )
    except IntegrityError:
        return Account.objects.get(code=code)


def open_owned_account(*, kind: str, owner_ref: str) -> Account:
    """The account for (kind, owner) in one statement, created or found: ``INSERT … ON CONFLICT
    (code) DO UPDATE … RETURNING``. The row is locked (and rewritten) either way, so this is only
    for an account one owner writes under that owner's own lock (a payment's escrow, under the
    payment's row lock), never for a shared one (a clearing or merchant account): those are
    found with ``open_account``, which takes no lock."""
    if kind not in AccountKind.values:
        raise InvalidTransfer(code="unknown_account_kind")
    if not owner_ref:
        raise InvalidTransfer(code="owner_required")
    account = Account(
        kind=kind,
        code=f"{kind}:{owner_ref}",
        owner_ref=owner_ref,
        limit=DEFAULT_LIMITS[AccountKind(kind)],
    )
    # kind and owner_ref are functions of the code: rewriting them changes nothing.
    Account.objects.bulk_create(
        [account], update_conflicts=True, unique_fields=["code"], update_fields=["kind"]
    )
    if account.pk is None:  # a backend that cannot return the row's id from an upsert
        return Account.objects.get(code=account.code)
    return account


def transfer(
    *,
    key: str,
    debit: Account,
    credit: Account,
    amount: int,
    reason: str,
    cause: str = "",
    pending: bool = False,
    expires_at: datetime | None = None,
    fresh_key: bool = False,
) -> Transfer:
    spec = TransferSpec(key, debit, credit, amount, reason, cause, pending, expires_at)
    return transfer_linked(specs=[spec], fresh_key=fresh_key)[0]


def transfer_linked(*, specs: list[TransferSpec], fresh_key: bool = False) -> list[Transfer]:
    """Create all the transfers or none of them; a retry of the whole list returns the originals.

    ``fresh_key``: the caller knows, under its own row lock in its open transaction, that no
    transfer can hold these keys yet (a payment's first capture, an unpaid order's first hold):
    the transfers are written at once, without the look-up and the savepoint a retry needs.
    Were a key used after all, the unique constraint fails the caller's transaction whole, so
    nothing is moved twice."""
    for spec in specs:
        _validate(spec)
    if len({spec.key for spec in specs}) != len(specs):
        raise InvalidTransfer(code="duplicate_key_in_batch")
    if fresh_key:
        if not transaction.get_connection().in_atomic_block:
            raise InvalidTransfer(code="fresh_key_needs_transaction")
        return [_create(spec) for spec in specs]
    earlier = _earlier_results(specs)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            return [_create(spec) for spec in specs]
    except IntegrityError:
        # A concurrent request with the same key committed first; answer as its retry would.
        earlier = _earlier_results(specs)
        if earlier is None:
            raise
        return earlier


def post_hold(*, key: str, hold: Transfer, amount: int | None = None) -> Transfer:
    """Capture a hold, fully or partly (the rest is released). Exactly once per hold."""
    return _resolve(key=key, hold=hold, kind=TransferKind.POST, amount=amount)


def void_hold(*, key: str, hold: Transfer) -> Transfer:
    """Release a hold in full. Exactly once per hold."""
    return _resolve(key=key, hold=hold, kind=TransferKind.VOID, amount=None)


def expire_due_pending(now: datetime) -> int:
    """Void holds whose expiry has passed. Safe in many workers at once (SKIP LOCKED batches)."""
    voided = 0
    while True:
        with transaction.atomic():
            batch = list(
                Transfer.objects.select_for_update(skip_locked=True)
                .filter(kind=TransferKind.PENDING, expires_at__lte=now)
                .filter(~Exists(Transfer.objects.filter(pending=OuterRef("pk"))))
                .order_by("expires_at", "pk")[:EXPIRY_BATCH_SIZE]
            )
            for hold in batch:
                try:
                    void_hold(key=f"expire:{hold.public_id}", hold=hold)
                except HoldAlreadyResolved:
                    continue  # resolved by its owner between our read and our lock
                voided += 1
        if len(batch) < EXPIRY_BATCH_SIZE:
            return voided


# --- internals -------------------------------------------------------------------------------


def _validate(spec: TransferSpec) -> None:
    if not spec.key or len(spec.key) > 200:
        raise InvalidTransfer(code="invalid_key")
    if not isinstance(spec.amount, int) or isinstance(spec.amount, bool):
        raise InvalidTransfer(code="amount_not_integer")
    if not 0 < spec.amount <= MAX_TRANSFER_FEN:
        raise InvalidTransfer(code="invalid_amount")
    if spec.debit.pk == spec.credit.pk:
        raise InvalidTransfer(code="same_account")
    if spec.expires_at is not None and not spec.pending:
        raise InvalidTransfer(code="expiry_needs_hold")


def _fingerprint(*, kind, debit_id, credit_id, amount, pending_id, reason, cause) -> tuple:
    return (str(kind), debit_id, credit_id, amount, pending_id, reason, cause)


def _spec_fingerprint(spec: TransferSpec) -> tuple:
    return _fingerprint(
        kind=spec.kind,
        debit_id=spec.debit.pk,
        credit_id=spec.credit.pk,
        amount=spec.amount,
        pending_id=None,
        reason=spec.reason,
        cause=spec.cause,
    )


def _transfer_fingerprint(found: Transfer) -> tuple:
    return _fingerprint(
        kind=found.kind,
        debit_id=found.debit_account_id,
        credit_id=found.credit_account_id,
        amount=found.amount,
        pending_id=found.pending_id,
        reason=found.reason,
        cause=found.cause,
    )


def _earlier_results(specs: list[TransferSpec]) -> list[Transfer] | None:
    """The transfers a previous identical request made, None if it never happened."""
    keys = [spec.key for spec in specs]
    found = {t.idempotency_key: t for t in Transfer.objects.filter(idempotency_key__in=keys)}
    if not found:
        return None
    if len(found) != len(specs) or any(
        _transfer_fingerprint(found[spec.key]) != _spec_fingerprint(spec) for spec in specs
    ):
        raise IdempotencyKeyReused()
    return [found[spec.key] for spec in specs]


def _create(spec: TransferSpec) -> Transfer:
    created = Transfer.objects.create(
        idempotency_key=spec.key,
        kind=spec.kind,
        debit_account=spec.debit,
        credit_account=spec.credit,
        amount=spec.amount,
        reason=spec.reason,
        cause=spec.cause,
        expires_at=spec.expires_at,
    )
    side = "pending" if spec.pending else "posted"
    _move_both(
        debit=spec.debit,
        credit=spec.credit,
        debit_deltas={f"debits_{side}": spec.amount},
        credit_deltas={f"credits_{side}": spec.amount},
    )
    return created


def _resolve(*, key: str, hold: Transfer, kind: str, amount: int | None) -> Transfer:
    earlier = Transfer.objects.filter(idempotency_key=key).first()
    if earlier is not None:
        return _same_resolution_or_error(earlier, hold=hold, kind=kind, amount=amount)
    try:
        with transaction.atomic():
            locked = Transfer.objects.select_for_update().get(pk=hold.pk)
            return _resolve_locked(key=key, hold=locked, kind=kind, amount=amount)
    except IntegrityError:
        earlier = Transfer.objects.filter(idempotency_key=key).first()
        if earlier is not None:
            return _same_resolution_or_error(earlier, hold=hold, kind=kind, amount=amount)
        raise HoldAlreadyResolved() from None


def _resolve_locked(*, key: str, hold: Transfer, kind: str, amount: int | None) -> Transfer:
    if hold.kind != TransferKind.PENDING:
        raise InvalidTransfer(code="not_a_hold")
    prior = hold.resolutions.first()
    if prior is not None and prior.idempotency_key == key:
        # The same request, retried while the first one held the lock: answer as a retry.
        return _same_resolution_or_error(prior, hold=hold, kind=kind, amount=amount)
    if prior is not None:
        raise HoldAlreadyResolved(code=f"already_{prior.kind}ed")
    if kind == TransferKind.POST and hold.expires_at and clock.now() >= hold.expires_at:
        raise HoldExpired()
    captured = hold.amount if amount is None else amount
    if kind == TransferKind.VOID:
        captured = 0
    elif (
        not isinstance(captured, int)
        or isinstance(captured, bool)
        or not (0 < captured <= hold.amount)
    ):
        raise InvalidTransfer(code="invalid_amount")
    resolution = Transfer.objects.create(
        idempotency_key=key,
        kind=kind,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=captured or hold.amount,
        pending=hold,
        reason=hold.reason,
        cause=hold.cause,
    )
    _move_both(
        debit=hold.debit_account,
        credit=hold.credit_account,
        debit_deltas={"debits_pending": -hold.amount, "debits_posted": captured},
        credit_deltas={"credits_pending": -hold.amount, "credits_posted": captured},
    )
    return resolution


def _same_resolution_or_error(earlier: Transfer, *, hold: Transfer, kind, amount) -> Transfer:
    expected_amount = hold.amount if kind == TransferKind.VOID or amount is None else amount
    if (earlier.pending_id, earlier.kind, earlier.amount) != (hold.pk, kind, expected_amount):
        raise IdempotencyKeyReused()
    return earlier


def _move_both(*, debit: Account, credit: Account, debit_deltas: dict, credit_deltas: dict):
    moves = sorted([(debit, debit_deltas), (credit, credit_deltas)], key=lambda m: m[0].pk)
    for account, deltas in moves:
        _move(account, deltas)


def _move(account: Account, deltas: dict[str, int]) -> None:
    """One conditional UPDATE: apply the deltas unless that would break the account's limit."""
    rows = Account.objects.filter(pk=account.pk)
    debit_growth = deltas.get("debits_pending", 0) + deltas.get("debits_posted", 0)
    credit_growth = deltas.get("credits_pending", 0) + deltas.get("credits_posted", 0)
    if account.limit == Limit.DEBITS_MUST_NOT_EXCEED_CREDITS and debit_growth > 0:
        rows = rows.filter(
            credits_posted__gte=F("debits_posted") + F("debits_pending") + debit_growth
        )
    if account.limit == Limit.CREDITS_MUST_NOT_EXCEED_DEBITS and credit_growth > 0:
        rows = rows.filter(
            debits_posted__gte=F("credits_posted") + F("credits_pending") + credit_growth
        )
    updated = rows.update(**{field: F(field) + delta for field, delta in deltas.items()})
    if updated != 1:
        raise InsufficientFunds()
