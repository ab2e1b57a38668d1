"""Reads of payments and wallets. Balances come from the ledger's accounts (cached sums of
transfers that ``verify_ledger`` proves); nothing here writes, not even an empty account."""

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from shoploop.ledger.models import Account, AccountKind, Transfer, Withdrawal
from shoploop.ledger.services.payouts import merchant_shop

WALLET_KINDS = (
    AccountKind.MERCHANT_AVAILABLE,
    AccountKind.MERCHANT_PENDING,
    AccountKind.PAYOUTS_IN_TRANSIT,
)


@dataclass(frozen=True)
class Wallet:
    shop: object
    available: int  # may be withdrawn now
    pending: int  # held for paid orders until they complete
    in_transit: int  # withdrawals on their way to the bank


def _shop_accounts(shop) -> dict[str, Account]:
    codes = [f"{kind}:shop:{shop.public_id}" for kind in WALLET_KINDS]
    return {account.kind: account for account in Account.objects.filter(code__in=codes)}


def wallet_of(*, actor) -> Wallet:
    """The merchant's balances (403 for someone without a shop)."""
    shop = merchant_shop(actor)
    accounts = _shop_accounts(shop)
    available = accounts.get(AccountKind.MERCHANT_AVAILABLE)
    pending = accounts.get(AccountKind.MERCHANT_PENDING)
    return Wallet(
        shop=shop,
        available=_spendable(available),
        pending=_incoming(pending),
        in_transit=available.debits_pending if available else 0,
    )


def _spendable(account: Account | None) -> int:
    if account is None:
        return 0
    return account.credits_posted - account.debits_posted - account.debits_pending


def _incoming(account: Account | None) -> int:
    if account is None:
        return 0
    return (
        account.credits_posted
        + account.credits_pending
        - account.debits_posted
        - account.debits_pending
    )


def wallet_lines(*, actor) -> QuerySet[Transfer]:
    """The ledger transfers behind the merchant's balances, newest first."""
    shop = merchant_shop(actor)
    account_ids = [account.pk for account in _shop_accounts(shop).values()]
    touches = Q(debit_account_id__in=account_ids) | Q(credit_account_id__in=account_ids)
    return (
        Transfer.objects.filter(touches)
        .select_related("debit_account", "credit_account")
        .annotate(from_kind=F("debit_account__kind"), to_kind=F("credit_account__kind"))
        .order_by("-created_at", "-pk")
    )


def withdrawals_of(*, actor) -> QuerySet[Withdrawal]:
    shop = merchant_shop(actor)
    return Withdrawal.objects.filter(shop=shop).select_related("shop").order_by("-created_at")


def commission_balance_fen(*, user) -> int:
    """What a person's commissions account (promoter and 团长 commissions alike) holds now and
    may withdraw: posted credits less withdrawals, paid or still being paid out."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return _spendable(Account.objects.filter(code=f"commissions:user:{user.public_id}").first())


def person_withdrawals(*, user) -> QuerySet[Withdrawal]:
    """A person's own withdrawals of their commissions (not a shop's), newest first."""
    return Withdrawal.objects.filter(
        shop__isnull=True, beneficiary_ref=f"user:{user.public_id}"
    ).order_by("-created_at")
