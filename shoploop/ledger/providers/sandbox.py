"""The embedded sandbox: an in-app cashier page and HMAC-signed asynchronous callbacks.

A callback body is JSON; its signature is HMAC-SHA256 over ``f"{timestamp}.{body}"`` with the
sandbox secret, sent in the ``X-Sandbox-Timestamp`` and ``X-Sandbox-Signature`` headers. A callback
whose timestamp is more than 300 s away from now (either way) is refused, so a captured callback
cannot be replayed later; a replay inside the window is stopped by the event id being unique.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping

from django.urls import reverse

from shoploop.core import clock
from shoploop.ledger import conf
from shoploop.ledger.errors import InvalidCallback
from shoploop.ledger.providers.base import (
    FAILED,
    SUCCEEDED,
    WAITING,
    CallbackEvent,
    PaymentProvider,
    PayoutProvider,
    PayoutResult,
    RefundResult,
    lowercase_headers,
    query_event,
)

TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
SIGNATURE_HEADER = "X-Sandbox-Signature"
MAX_EVENT_ID_LENGTH = 100
# The sandbox bank refuses accounts ending in these digits, so failed payouts can be tried out.
FAILING_ACCOUNT_SUFFIX = "0000"


def sign(*, body: bytes, timestamp: int, secret: bytes | None = None) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret or conf.sandbox_pay_secret(), message, hashlib.sha256).hexdigest()


def signed_callback(
    *, event_id: str, payment_public_id: str, kind: str, amount: int, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers the sandbox sends to the webhook."""
    body = json.dumps(
        {
            "event_id": event_id,
            "payment_id": payment_public_id,
            "outcome": kind,
            "amount": amount,
            "trade_no": f"sandbox-{payment_public_id}",
        },
        separators=(",", ":"),
    ).encode()
    moment = int(clock.now().timestamp()) if timestamp is None else timestamp
    headers = {TIMESTAMP_HEADER: str(moment), SIGNATURE_HEADER: sign(body=body, timestamp=moment)}
    return body, headers


class SandboxProvider(PaymentProvider):
    name = "sandbox"
    ack_body = b'{"ok":true}'
    ack_content_type = "application/json"

    def start_url(self, payment) -> str:
        return reverse("ledger:cashier", kwargs={"payment_id": payment.public_id})

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        headers = lowercase_headers(headers)
        timestamp = _fresh_timestamp(headers.get(TIMESTAMP_HEADER.lower(), ""))
        expected = sign(body=body, timestamp=timestamp)
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER.lower(), "")):
            raise InvalidCallback(code="bad_signature")
        return _event_from(body)

    def refund(self, *, payment, refund) -> RefundResult:
        return RefundResult(provider_refund_no=f"sandbox-refund-{refund.public_id}")

    def query(self, *, payment) -> CallbackEvent:
        """The sandbox's books: the buyer's recorded answer, or still waiting."""
        kind = payment.sandbox_outcome or WAITING
        return query_event(
            payment, kind=kind, amount=payment.amount, trade_no=f"sandbox-{payment.public_id}"
        )


class SandboxPayoutProvider(PayoutProvider):
    name = "sandbox_payouts"

    def pay(self, *, withdrawal) -> PayoutResult:
        if withdrawal.account_masked.endswith(FAILING_ACCOUNT_SUFFIX):
            return PayoutResult(paid=False, reason="account_rejected")
        return PayoutResult(paid=True, reference=f"sandbox-payout-{withdrawal.public_id}")


def _fresh_timestamp(raw: str) -> int:
    try:
        timestamp = int(raw)
    except ValueError:
        raise InvalidCallback(code="bad_timestamp") from None
    if abs(clock.now().timestamp() - timestamp) > conf.CALLBACK_TOLERANCE_SECONDS:
        raise InvalidCallback(code="stale_callback")
    return timestamp


def _event_from(body: bytes) -> CallbackEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCallback(code="malformed_callback") from None
    if not isinstance(data, dict):
        raise InvalidCallback(code="malformed_callback")
    event_id, payment_id = data.get("event_id"), data.get("payment_id")
    kind, amount = data.get("outcome"), data.get("amount")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH
        or not isinstance(payment_id, str)
        or kind not in (SUCCEEDED, FAILED)
        or not isinstance(amount, int)
        or isinstance(amount, bool)
    ):
        raise InvalidCallback(code="malformed_callback")
    return CallbackEvent(
        event_id=event_id,
        payment_public_id=payment_id,
        kind=kind,
        amount=amount,
        trade_no=str(data.get("trade_no", ""))[:64],
        payload=data,
    )
