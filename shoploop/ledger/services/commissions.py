"""Commissions in the ledger: a generic path for any commission a shop pays someone (a promoter's
referral commission today, a 团长's pickup commission later).

- ``accrue_commission``: a HOLD commissions_payable:shop → commissions:<beneficiary>, keyed
  ``<ref>:hold:<version>``. The beneficiary sees it as frozen (credits pending); the shop owes it.
- ``reduce_commission``: a refund while frozen voids the current hold and, if anything is left,
  holds the smaller amount as the next version (a hold is resolved exactly once, so each change
  is a new version; each key is unique, so a repeat moves nothing twice).
- ``release_commission``: once the order can no longer be refunded the hold is posted and the
  shop settles its debt from its available funds (merchant_available → commissions_payable),
  both in one transaction, so the commission is available exactly when the shop has paid it.

``ref`` names the row that owns the commission and must start with ``commission:``; that row's
app registers it with ``shoploop.ledger.verification.register_commission_source`` so
``verify_ledger`` reconciles every commission transfer with it.
"""

from django.db import transaction

from shoploop.ledger.errors import InvalidTransfer
from shoploop.ledger.models import Account, AccountKind, Transfer
from shoploop.ledger.services.transfers import open_account, post_hold, transfer, void_hold

REF_PREFIX = "commission:"


def beneficiary_account(beneficiary_ref: str) -> Account:
    return open_account(kind=AccountKind.COMMISSIONS, owner_ref=beneficiary_ref)


def payable_account(shop_public_id: str) -> Account:
    return open_account(kind=AccountKind.COMMISSIONS_PAYABLE, owner_ref=f"shop:{shop_public_id}")


def hold_key(ref: str, version: int) -> str:
    return f"{ref}:hold:{version}"


def settle_key(ref: str) -> str:
    return f"{ref}:settle"


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
    """Make the frozen commission available: post its hold and settle the shop's debt from the
    shop's available funds (raises ``InsufficientFunds`` if the shop has withdrawn them)."""
    _check_ref(ref)
    with transaction.atomic():
        hold = Transfer.objects.get(idempotency_key=hold_key(ref, version))
        posted = post_hold(key=f"{hold_key(ref, version)}:post", hold=hold)
        transfer(
            key=settle_key(ref),
            debit=open_account(
                kind=AccountKind.MERCHANT_AVAILABLE, owner_ref=f"shop:{shop_public_id}"
            ),
            credit=payable_account(shop_public_id),
            amount=hold.amount,
            reason="commission_settled",
            cause=ref,
        )
        return posted
