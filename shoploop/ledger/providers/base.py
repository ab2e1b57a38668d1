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
    def query(self, *, payment) -> str:
        """The provider's view of the payment: SUCCEEDED, FAILED or WAITING."""


class PayoutProvider(ABC):
    name: str

    @abstractmethod
    def pay(self, *, withdrawal) -> PayoutResult:
        """Send a withdrawal to the bank; idempotent by ``withdrawal.public_id``."""


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


def get_provider(name: str) -> PaymentProvider:
    from shoploop.ledger.providers.alipay import AlipayProvider
    from shoploop.ledger.providers.sandbox import SandboxProvider

    if name == SandboxProvider.name:
        return SandboxProvider()
    if name == AlipayProvider.name:
        return AlipayProvider()
    raise InvalidCallback(code="unknown_provider")


def get_payout_provider() -> PayoutProvider:
    from shoploop.ledger.providers.sandbox import SandboxPayoutProvider

    return SandboxPayoutProvider()
