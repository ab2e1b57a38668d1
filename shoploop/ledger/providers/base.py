"""What every payment provider does: start a payment, verify and parse its callback, refund, query.

Providers never touch the database; the payments service decides what a verified callback means.
A provider's refund or payout that fails raises ``ProviderError`` and is retried by ``settle_due``.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shoploop.ledger.errors import InvalidCallback

SUCCEEDED = "succeeded"
FAILED = "failed"
WAITING = "waiting"  # a notification that the buyer has not paid yet: nothing to do


@dataclass(frozen=True)
class CallbackEvent:
    """A verified provider notification."""

    event_id: str
    payment_public_id: str
    kind: str  # SUCCEEDED, FAILED or WAITING
    amount: int  # fen, as the provider reports it
    trade_no: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    provider_refund_no: str


@dataclass(frozen=True)
class PayoutResult:
    paid: bool
    reference: str = ""
    reason: str = ""


class PaymentProvider(ABC):
    name: str
    # What the webhook answers to a callback it accepted (providers stop retrying on it).
    ack_body: bytes = b"ok"
    ack_content_type: str = "text/plain"

    @abstractmethod
    def start_url(self, payment) -> str:
        """Where the buyer goes to pay."""

    @abstractmethod
    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        """Verify a callback's signature and freshness; raise ``InvalidCallback`` if refused."""

    @abstractmethod
    def refund(self, *, payment, refund) -> RefundResult:
        """Ask the provider to return money; idempotent by ``refund.public_id``."""

    @abstractmethod
    def query(self, *, payment) -> CallbackEvent:
        """The provider's view of the payment, as its notification would have said it (kind
        WAITING when there is nothing to settle yet). Build it with ``query_event``."""


class PayoutProvider(ABC):
    name: str

    @abstractmethod
    def pay(self, *, withdrawal) -> PayoutResult:
        """Send a withdrawal to the bank; idempotent by ``withdrawal.public_id``."""


def query_event(
    payment, *, kind: str, amount: int, trade_no: str = "", payload: dict | None = None
) -> CallbackEvent:
    """A provider's answer to our query, shaped as a notification. Its event id names the decision
    (one per payment and outcome), so asking again records nothing new, and the real notification
    that arrives later finds the payment already settled."""
    return CallbackEvent(
        event_id=f"query:{payment.public_id}:{kind}",
        payment_public_id=payment.public_id,
        kind=kind,
        amount=amount,
        trade_no=trade_no[:64],
        payload=payload or {},
    )


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


def get_provider(name: str) -> PaymentProvider:
    from shoploop.ledger.providers.alipay import AlipayProvider
    from shoploop.ledger.providers.sandbox import SandboxProvider
    from shoploop.ledger.providers.wechat import WechatPayProvider

    if name == SandboxProvider.name:
        return SandboxProvider()
    if name == AlipayProvider.name:
        return AlipayProvider()
    if name == WechatPayProvider.name:
        return WechatPayProvider()
    raise InvalidCallback(code="unknown_provider")


def get_payout_provider() -> PayoutProvider:
    from shoploop.ledger.providers.sandbox import SandboxPayoutProvider

    return SandboxPayoutProvider()
