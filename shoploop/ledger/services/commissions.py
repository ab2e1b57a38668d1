"""Commissions in the ledger: a generic path for any commission a shop pays someone (a promoter's
referral commission today, a 团长's pickup commission later).

- ``accrue_commission``: a HOLD commissions_payable:shop → commissions:<beneficiary>, keyed
  ``<ref>:hold:<version>``. The beneficiary sees it as frozen (credits pending); the shop owes it.
- ``reduce_commission``: a refund while frozen voids the current hold and, if anything is left,
  holds the smaller amount as the next version (a hold is resolved exactly once, so each change
  is a new version; each key is unique, so a repeat moves nothing twice).
- ``order_commission_reserves``: when the order completes, in the order's own transaction, what
  its frozen commissions amount to is kept back from the shop's share: moved merchant_pending →
  commissions_reserved:shop (key ``<ref>:reserve``, cause the order) instead of to the shop's
  available funds, so the shop can never withdraw money a commission is owed from.
- ``release_commission``: once the order can no longer be refunded the hold is posted and the
  shop settles its debt from that reserve (commissions_reserved → commissions_payable), both in
  one transaction, so the commission is available exactly when the shop has paid it. A
  commission accrued after its order completed (a paid event delivered that late) had nothing
  kept back: it is settled from the shop's available funds, as before.

The commission row lifecycle shared by every owner of commission rows (a promoter's
``referrals.Commission``, a 团长's ``orders.LeaderCommission``) is here too:
``accrue_commission_row``, ``reduce_commission_row`` and ``release_commission_row`` change the row
and its ledger transfers together; the owning app only finds and locks its rows, computes the
amounts and publishes its own events.

``ref`` names the row that owns the commission and must start with ``commission:``; that row's
app registers it with ``shoploop.ledger.verification.register_commission_source`` so
``verify_ledger`` reconciles every commission transfer with it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from shoploop.ledger.errors import InvalidTransfer
from shoploop.ledger.models import Account, AccountKind, Transfer
from shoploop.ledger.services.transfers import (
    TransferSpec,
    open_account,
    post_hold,
    transfer,
    void_hold,
)

REF_PREFIX = "commission:"


@dataclass(frozen=True)
class FrozenCommission:
    """A frozen commission of an order, as its owning app reports it at the order's completion."""

    ref: str
    amount: int


# Apps that own commission rows register how to list an order's frozen commissions, brought up
# to date with the order's refunds, under their rows' locks (the order's own lock is held).
_order_sources: dict[str, Callable[[str], Iterable[FrozenCommission]]] = {}


def register_order_commissions(name: str, source: Callable[[str], Iterable[FrozenCommission]]):
    _order_sources[name] = source
    return source


def beneficiary_account(beneficiary_ref: str) -> Account:
    return open_account(kind=AccountKind.COMMISSIONS, owner_ref=beneficiary_ref)


def payable_account(shop_public_id: str) -> Account:
    return open_account(kind=AccountKind.COMMISSIONS_PAYABLE, owner_ref=f"shop:{shop_public_id}")


def hold_key(ref: str, version: int) -> str:
    return f"{ref}:hold:{version}"


def settle_key(ref: str) -> str:
    return f"{ref}:settle"


def reserve_key(ref: str) -> str:
    return f"{ref}:reserve"


def reserved_account(shop_public_id: str) -> Account:
    return open_account(kind=AccountKind.COMMISSIONS_RESERVED, owner_ref=f"shop:{shop_public_id}")


def order_commission_reserves(
    *, order_public_id: str, shop_public_id: str, room: int
) -> list[TransferSpec]:
    """The transfers that keep an order's frozen commissions back from the shop's share at its
    completion (merchant_pending → commissions_reserved), at most ``room`` fen in all (what the
    shop's share leaves; a commission that does not fit is settled from available funds at
    release). The caller makes them in the transaction that completes the order, under its lock,
    and pays the shop only what is left."""
    frozen = [c for source in _order_sources.values() for c in source(order_public_id)]
    if not frozen:
        return []
    pending = open_account(kind=AccountKind.MERCHANT_PENDING, owner_ref=f"shop:{shop_public_id}")
    reserved = reserved_account(shop_public_id)
    specs = []
    for commission in frozen:
        _check_ref(commission.ref)
        if commission.amount <= 0 or commission.amount > room:
            continue
        room -= commission.amount
        specs.append(
            TransferSpec(
                key=reserve_key(commission.ref),
                debit=pending,
                credit=reserved,
                amount=commission.amount,
                reason="commission_reserved",
                cause=f"order:{order_public_id}",
            )
        )
    return specs


def _check_ref(ref: str) -> None:
    if not ref.startswith(REF_PREFIX):
        raise InvalidTransfer(code="commission_ref_invalid")


def accrue_commission(
    *, ref: str, shop_public_id: str, beneficiary_ref: str, amount: int, version: int = 1
) -> Transfer:
    """Freeze ``amount`` for the beneficiary (a hold the shop owes)."""
    _check_ref(ref)
    return transfer(
        key=hold_key(ref, version),
        debit=payable_account(shop_public_id),
        credit=beneficiary_account(beneficiary_ref),
        amount=amount,
        reason="commission",
        cause=ref,
        pending=True,
    )


def reduce_commission(
    *, ref: str, shop_public_id: str, beneficiary_ref: str, version: int, new_amount: int
) -> int:
    """Void the frozen hold of ``version``; hold ``new_amount`` (if any) as the next version.
    Returns the version that now carries the commission (unchanged meaning nothing is held)."""
    _check_ref(ref)
    with transaction.atomic():
        hold = Transfer.objects.get(idempotency_key=hold_key(ref, version))
        void_hold(key=f"{hold_key(ref, version)}:void", hold=hold)
        if new_amount <= 0:
            return version
        accrue_commission(
            ref=ref,
            shop_public_id=shop_public_id,
            beneficiary_ref=beneficiary_ref,
            amount=new_amount,
            version=version + 1,
        )
        return version + 1


def reverse_commission(*, ref: str, version: int) -> None:
    """Void the frozen hold entirely (the order was refunded in full)."""
    _check_ref(ref)
    hold = Transfer.objects.get(idempotency_key=hold_key(ref, version))
    void_hold(key=f"{hold_key(ref, version)}:void", hold=hold)


def release_commission(*, ref: str, shop_public_id: str, version: int) -> Transfer:
    """Make the frozen commission available: post its hold and settle the shop's debt from what
    the order's completion kept back for it. Only a commission accrued after its order completed
    (nothing kept back) is settled from the shop's available funds, which raises
    ``InsufficientFunds`` if the shop has withdrawn them."""
    _check_ref(ref)
    with transaction.atomic():
        hold = Transfer.objects.get(idempotency_key=hold_key(ref, version))
        kept = Transfer.objects.filter(idempotency_key=reserve_key(ref)).exists()
        posted = post_hold(key=f"{hold_key(ref, version)}:post", hold=hold)
        transfer(
            key=settle_key(ref),
            debit=reserved_account(shop_public_id)
            if kept
            else open_account(
                kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop_public_id}"
            ),
            credit=payable_account(shop_public_id),
            amount=hold.amount,
            reason="commission_settled",
            cause=ref,
        )
        return posted


# --- the commission row lifecycle --------------------------------------------------------------
# A commission row (``referrals.Commission``, ``orders.LeaderCommission``) has ``ref``,
# ``amount_fen``, ``hold_version``, ``state`` (its model's ``State`` with FROZEN, AVAILABLE and
# REVERSED) and ``released_at``. These change the row and its ledger transfers together; the
# caller holds the row's lock (or, for accrual, relies on the row's unique key) and publishes.


def accrue_commission_row(model, *, shop_public_id: str, beneficiary_ref: str, **fields):
    """Create the row and freeze its ``amount_fen`` for the beneficiary, together. A row that
    exists already (the unique key taken by a repeat or a racing delivery) → ``None``, nothing
    moved."""
    try:
        with transaction.atomic():
            row = model.objects.create(**fields)
            accrue_commission(
                ref=row.ref,
                shop_public_id=shop_public_id,
                beneficiary_ref=beneficiary_ref,
                amount=row.amount_fen,
            )
    except IntegrityError:
        return None
    return row


def reduce_commission_row(row, *, target: int, shop_public_id: str, beneficiary_ref: str) -> int:
    """Bring a frozen row down to ``target`` fen (reversed entirely at 0): the ledger hold is
    voided and, if anything is left, held again as the next version. Returns what was taken."""
    model = type(row)
    if target <= 0:
        reverse_commission(ref=row.ref, version=row.hold_version)
        model.objects.filter(pk=row.pk).update(amount_fen=0, state=model.State.REVERSED)
    else:
        version = reduce_commission(
            ref=row.ref,
            shop_public_id=shop_public_id,
            beneficiary_ref=beneficiary_ref,
            version=row.hold_version,
            new_amount=target,
        )
        model.objects.filter(pk=row.pk).update(amount_fen=target, hold_version=version)
    return row.amount_fen - max(target, 0)


def release_commission_row(row, *, shop_public_id: str, now) -> None:
    """Make a frozen row available: its hold posted and the shop's debt settled, together."""
    model = type(row)
    release_commission(ref=row.ref, shop_public_id=shop_public_id, version=row.hold_version)
    model.objects.filter(pk=row.pk).update(state=model.State.AVAILABLE, released_at=now)
