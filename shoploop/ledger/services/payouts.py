"""Merchant withdrawals (money contract step 6).

A withdrawal is a HOLD merchant_available → payouts_in_transit keyed ``withdrawal:<id>:hold``: the
available account's limit counts pending debits, so concurrent withdrawals can never overdraw it.
``settle_due`` sends pending withdrawals to the payout provider: paid → the hold is posted and
payouts_in_transit → provider_clearing:<payout provider>; failed → the hold is voided, which
returns the funds exactly once (the ledger refuses a second resolution of a hold).
"""

import logging
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.selectors import shop_of
from shoploop.core import clock
from shoploop.core.errors import NotAuthenticated, PermissionDenied
from shoploop.core.events import publish
from shoploop.core.money import FEN_PER_YUAN, validate_fen
from shoploop.ledger.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    ProviderError,
    WithdrawalRefused,
)
from shoploop.ledger.models import Account, AccountKind, Transfer, Withdrawal
from shoploop.ledger.providers import get_payout_provider
from shoploop.ledger.services.transfers import open_account, post_hold, transfer, void_hold

logger = logging.getLogger(__name__)

MIN_WITHDRAWAL_FEN = 1 * FEN_PER_YUAN
MAX_HOLDER_LENGTH = 60
ACCOUNT_NUMBER_PATTERN = re.compile(r"^\d{8,30}$")
MAX_REQUEST_KEY_LENGTH = 200
PAYOUT_BACKOFF_BASE_SECONDS = 60
PAYOUT_BACKOFF_CAP_SECONDS = 6 * 60 * 60
MAX_PAYOUT_ATTEMPTS = 6
PAYOUT_CLAIM_LEASE = timedelta(minutes=5)
SETTLE_BATCH_SIZE = 50


def shop_account(shop, kind: str) -> Account:
    return open_account(kind=kind, owner_ref=f"shop:{shop.public_id}")


def merchant_shop(actor):
    """The acting user's shop; anyone else is refused (the wallet belongs to a merchant)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    shop = shop_of(user=actor)
    if shop is None:
        raise PermissionDenied(_("Only a merchant has a wallet."), code="no_shop")
    return shop


def mask_account_number(number: str) -> str:
    return f"•••• {number[-4:]}"


def request_withdrawal(
    *, actor, amount: int, account_holder: str, account_number: str, request_key: str
) -> Withdrawal:
    """Withdraw from the shop's available balance to a bank account (at least ¥1). The same
    request key returns the first withdrawal, so a double click pays out once."""
    shop = merchant_shop(actor)

    def announce(withdrawal: Withdrawal) -> None:
        publish(
            "ledger.withdrawal.requested",
            withdrawal_public_id=withdrawal.public_id,
            shop_public_id=shop.public_id,
            amount_fen=withdrawal.amount,
        )

    return _request_payout(
        actor=actor,
        amount=amount,
        account_holder=account_holder,
        account_number=account_number,
        request_key=request_key,
        owner={"shop": shop},
        owner_ref=f"shop:{shop.public_id}",
        debit_kind=AccountKind.MERCHANT_AVAILABLE,
        reason="withdrawal",
        too_much=_("You can withdraw at most your available balance."),
        announce=announce,
    )


def request_beneficiary_withdrawal(
    *, actor, amount: int, account_holder: str, account_number: str, request_key: str
) -> Withdrawal:
    """Withdraw the caller's available commissions (a promoter's, later a 团长's) to a bank
    account: a HOLD commissions:user:<id> → payouts_in_transit:user:<id>, then paid or returned
    exactly like a shop's withdrawal. Frozen commissions are pending credits, which the account's
    limit does not count: withdrawing them is ``insufficient_funds`` and changes nothing."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    owner = f"user:{actor.public_id}"
    return _request_payout(
        actor=actor,
        amount=amount,
        account_holder=account_holder,
        account_number=account_number,
        request_key=request_key,
        owner={"shop": None, "beneficiary_ref": owner},
        owner_ref=owner,
        debit_kind=AccountKind.COMMISSIONS,
        reason="commission_withdrawal",
        too_much=_("You can withdraw at most your available commissions."),
        announce=lambda withdrawal: _publish("ledger.withdrawal.requested", withdrawal),
    )


def _request_payout(
    *,
    actor,
    amount: int,
    account_holder: str,
    account_number: str,
    request_key: str,
    owner: dict,
    owner_ref: str,
    debit_kind: str,
    reason: str,
    too_much,
    announce,
) -> Withdrawal:
    """What a shop's and a beneficiary's withdrawal share: validate the request, find the first
    withdrawal of its request key (a retry) or create it, and hold its amount on the owner's
    ``debit_kind`` account → their payouts in transit (the account's limit counts pending debits,
    so concurrent withdrawals never overdraw it); ``announce`` publishes, in the transaction.
    ``owner`` is the withdrawal's owner fields (``shop``, or no shop and ``beneficiary_ref``)."""
    amount = validate_fen(amount, field="amount")
    if amount < MIN_WITHDRAWAL_FEN:
        raise WithdrawalRefused(
            _("The minimum withdrawal is ¥1.00."),
            code="below_minimum",
            fields={"amount": "below_minimum"},
        )
    holder = _clean_holder(account_holder)
    number = _clean_account_number(account_number)
    key = _clean_request_key(request_key)
    mine = Withdrawal.objects.filter(**owner)
    with transaction.atomic():
        earlier = mine.filter(request_key=key).first()
        if earlier is not None:
            return _same_withdrawal_or_error(earlier, amount=amount)
        try:
            with transaction.atomic():
                withdrawal = Withdrawal.objects.create(
                    **{field: value for field, value in owner.items() if value is not None},
                    requested_by=actor,
                    request_key=key,
                    amount=amount,
                    account_holder=holder,
                    account_masked=mask_account_number(number),
                    next_attempt_at=clock.now(),
                )
        except IntegrityError:
            return _same_withdrawal_or_error(mine.get(request_key=key), amount=amount)
        try:
            transfer(
                key=_hold_key(withdrawal),
                debit=open_account(kind=debit_kind, owner_ref=owner_ref),
                credit=open_account(kind=AccountKind.PAYOUTS_IN_TRANSIT, owner_ref=owner_ref),
                amount=amount,
                reason=reason,
                cause=f"withdrawal:{withdrawal.public_id}",
                pending=True,
            )
        except InsufficientFunds:
            raise InsufficientFunds(too_much, fields={"amount": "exceeds_available"}) from None
        announce(withdrawal)
    return withdrawal


def in_transit_account(withdrawal: Withdrawal) -> Account:
    if withdrawal.shop_id is None:
        return open_account(
            kind=AccountKind.PAYOUTS_IN_TRANSIT, owner_ref=withdrawal.beneficiary_ref
        )
    return shop_account(withdrawal.shop, AccountKind.PAYOUTS_IN_TRANSIT)


def process_withdrawal(*, withdrawal: Withdrawal, now: datetime | None = None) -> Withdrawal:
    """Send a due pending withdrawal to the payout provider and record the answer."""
    now = now or clock.now()
    claimed = Withdrawal.objects.filter(
        pk=withdrawal.pk, state=Withdrawal.State.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + PAYOUT_CLAIM_LEASE)
    withdrawal.refresh_from_db()
    if not claimed:
        return withdrawal
    try:
        result = get_payout_provider().pay(withdrawal=withdrawal)
    except ProviderError as error:
        if withdrawal.attempts >= MAX_PAYOUT_ATTEMPTS:
            return _withdrawal_failed(withdrawal, reason=str(error), now=now)
        Withdrawal.objects.filter(pk=withdrawal.pk, state=Withdrawal.State.PENDING).update(
            next_attempt_at=now + payout_backoff(withdrawal.attempts),
            failure_reason=str(error)[:300],
        )
        withdrawal.refresh_from_db()
        return withdrawal
    if result.paid:
        return _withdrawal_paid(withdrawal, reference=result.reference, now=now)
    return _withdrawal_failed(withdrawal, reason=result.reason, now=now)


def payout_backoff(attempts: int) -> timedelta:
    seconds = PAYOUT_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, PAYOUT_BACKOFF_CAP_SECONDS))


def _withdrawal_paid(withdrawal: Withdrawal, *, reference: str, now: datetime) -> Withdrawal:
    provider = get_payout_provider().name
    with transaction.atomic():
        settled = Withdrawal.objects.filter(
            pk=withdrawal.pk, state=Withdrawal.State.PENDING
        ).update(state=Withdrawal.State.PAID, settled_at=now, provider_ref=reference[:64])
        if settled:
            post_hold(key=f"withdrawal:{withdrawal.public_id}:post", hold=_hold(withdrawal))
            transfer(
                key=f"withdrawal:{withdrawal.public_id}:paid",
                debit=in_transit_account(withdrawal),
                credit=open_account(kind=AccountKind.PROVIDER_CLEARING, owner_ref=provider),
                amount=withdrawal.amount,
                reason="withdrawal_paid",
                cause=f"withdrawal:{withdrawal.public_id}",
            )
            _publish("ledger.withdrawal.paid", withdrawal)
    withdrawal.refresh_from_db()
    return withdrawal


def _withdrawal_failed(withdrawal: Withdrawal, *, reason: str, now: datetime) -> Withdrawal:
    with transaction.atomic():
        settled = Withdrawal.objects.filter(
            pk=withdrawal.pk, state=Withdrawal.State.PENDING
        ).update(
            state=Withdrawal.State.FAILED,
            settled_at=now,
            next_attempt_at=None,
            failure_reason=reason[:300],
        )
        if settled:
            void_hold(key=f"withdrawal:{withdrawal.public_id}:void", hold=_hold(withdrawal))
            _publish("ledger.withdrawal.failed", withdrawal)
    withdrawal.refresh_from_db()
    return withdrawal


def settle_due_withdrawals(now: datetime) -> int:
    """settle_due handler: pay out pending withdrawals whose attempt is due."""
    settled = 0
    while True:
        with transaction.atomic():
            # OF self: locking the joined shop as well would skip every withdrawal of a shop
            # whose row anyone holds (an order being placed there takes KEY SHARE on it) and,
            # between concurrent settlers, strand a withdrawal one of them locked but skipped.
            batch = list(
                Withdrawal.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=Withdrawal.State.PENDING, next_attempt_at__lte=now)
                .select_related("shop")
                .order_by("next_attempt_at", "pk")[:SETTLE_BATCH_SIZE]
            )
        for due in batch:
            if process_withdrawal(withdrawal=due, now=now).state != Withdrawal.State.PENDING:
                settled += 1
        if len(batch) < SETTLE_BATCH_SIZE:
            return settled


# --- helpers ---------------------------------------------------------------------------------


def _hold_key(withdrawal: Withdrawal) -> str:
    return f"withdrawal:{withdrawal.public_id}:hold"


def _hold(withdrawal: Withdrawal) -> Transfer:
    return Transfer.objects.get(idempotency_key=_hold_key(withdrawal))


def _publish(name: str, withdrawal: Withdrawal) -> None:
    publish(
        name,
        withdrawal_public_id=withdrawal.public_id,
        shop_public_id=withdrawal.shop.public_id if withdrawal.shop_id else "",
        beneficiary_ref=withdrawal.beneficiary_ref,
        amount_fen=withdrawal.amount,
    )


def _same_withdrawal_or_error(earlier: Withdrawal, *, amount: int) -> Withdrawal:
    if earlier.amount != amount:
        raise IdempotencyKeyReused(
            _("This request key was already used for a different withdrawal.")
        )
    return earlier


def _clean_holder(value) -> str:
    holder = value.strip() if isinstance(value, str) else ""
    if not holder or len(holder) > MAX_HOLDER_LENGTH or not holder.isprintable():
        raise WithdrawalRefused(
            _("Enter the account holder's name (at most %(max)d characters).")
            % {"max": MAX_HOLDER_LENGTH},
            code="invalid_account_holder",
            fields={"account_holder": "invalid"},
        )
    return holder


def _clean_account_number(value) -> str:
    number = re.sub(r"[\s-]", "", value) if isinstance(value, str) else ""
    if not ACCOUNT_NUMBER_PATTERN.match(number):
        raise WithdrawalRefused(
            _("Enter a bank account number of 8 to 30 digits."),
            code="invalid_account_number",
            fields={"account_number": "invalid"},
        )
    return number


def _clean_request_key(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REQUEST_KEY_LENGTH:
        raise WithdrawalRefused(
            _("The request key is missing or too long."),
            code="invalid_request_key",
            fields={"request_key": "invalid"},
        )
    return value.strip()
