"""Ledger API (/api/v1/ledger): payments, sandbox cashier, refunds, wallet and withdrawals.
Parse, call a service or selector, return a schema."""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status
from ninja.pagination import CursorPagination, paginate
from pydantic import Field, StrictInt

from shoploop.core.deployment import sandbox_allowed
from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.core.ratelimit import money_endpoint
from shoploop.core.schemas import InputSchema, PublicSchema
from shoploop.ledger import selectors
from shoploop.ledger.services import payments, payouts

router = Router(tags=["ledger"])


class PaymentOut(PublicSchema):
    amount: int
    state: str
    reference: str
    description: str
    provider: str
    refunded: int
    pay_url: str
    created_at: datetime
    captured_at: datetime | None

    @staticmethod
    def resolve_refunded(obj) -> int:
        return obj.refunded_fen

    @staticmethod
    def resolve_pay_url(obj) -> str:
        return payments.payment_start_url(obj)


class RefundOut(PublicSchema):
    payment_id: str
    amount: int
    state: str
    reason: str
    attempts: int
    created_at: datetime
    settled_at: datetime | None

    @staticmethod
    def resolve_payment_id(obj) -> str:
        return obj.payment.public_id


class WalletOut(Schema):
    shop_id: str
    available: int
    pending: int
    in_transit: int

    @staticmethod
    def resolve_shop_id(obj) -> str:
        return obj.shop.public_id


class LineOut(PublicSchema):
    kind: str
    amount: int
    from_account: str
    to_account: str
    reason: str
    cause: str
    created_at: datetime

    @staticmethod
    def resolve_from_account(obj) -> str:
        return obj.from_kind

    @staticmethod
    def resolve_to_account(obj) -> str:
        return obj.to_kind


class WithdrawalIn(InputSchema):
    amount: StrictInt = Field(
        description="fen; at least 100 (¥1) and at most the available balance"
    )
    account_holder: str = Field(max_length=200)
    account_number: str = Field(max_length=200)


class WithdrawalOut(PublicSchema):
    amount: int
    state: str
    account_holder: str
    account_number: str
    failure_reason: str
    created_at: datetime
    settled_at: datetime | None

    @staticmethod
    def resolve_account_number(obj) -> str:
        return obj.account_masked


@router.get("/payments/{payment_id}", response=PaymentOut)
def payment_detail(request, payment_id: str):
    return payments.payment_for_payer(public_id=payment_id, actor=request.user)


def _answer_sandbox(request, payment_id: str, *, approve: bool):
    if not sandbox_allowed():  # buyers approve their own payments here: never in production
        raise NotFound()
    payment = payments.payment_for_payer(public_id=payment_id, actor=request.user)
    payments.respond_in_sandbox(payment=payment, actor=request.user, approve=approve)
    payment.refresh_from_db()
    return payment


@router.post("/payments/{payment_id}/sandbox/confirm", response=PaymentOut)
@money_endpoint
def sandbox_confirm(request, payment_id: str):
    return _answer_sandbox(request, payment_id, approve=True)


@router.post("/payments/{payment_id}/sandbox/decline", response=PaymentOut)
@money_endpoint
def sandbox_decline(request, payment_id: str):
    return _answer_sandbox(request, payment_id, approve=False)


@router.get("/refunds/{refund_id}", response=RefundOut)
def refund_detail(request, refund_id: str):
    return payments.refund_for_viewer(public_id=refund_id, actor=request.user)


@router.get("/wallet", response=WalletOut)
def wallet(request):
    return selectors.wallet_of(actor=request.user)


@router.get("/wallet/lines", response=list[LineOut])
@paginate(CursorPagination, ordering=("-created_at",))
def wallet_lines(request):
    return selectors.wallet_lines(actor=request.user)


@router.post("/withdrawals", response={201: WithdrawalOut})
@money_endpoint
def withdrawal_create(request, payload: WithdrawalIn):
    """Takes an ``Idempotency-Key`` header: the same key returns the first withdrawal."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise ValidationFailed(
            _("Send an Idempotency-Key header."),
            code="idempotency_key_missing",
            fields={"Idempotency-Key": "required"},
        )
    withdrawal = payouts.request_withdrawal(
        actor=request.user,
        amount=payload.amount,
        account_holder=payload.account_holder,
        account_number=payload.account_number,
        request_key=key,
    )
    return Status(201, withdrawal)


@router.get("/withdrawals", response=list[WithdrawalOut])
@paginate(CursorPagination, ordering=("-created_at",))
def withdrawal_list(request):
    return selectors.withdrawals_of(actor=request.user)
