"""Alipay through python-alipay-sdk: page/wap pay requests and RSA2-verified notifications.

Alipay's asynchronous notification (``notify_url``) is a form POST signed with Alipay's private
key: RSA2 (SHA256withRSA) over the parameters sorted by name and joined as ``k=v&…`` without
``sign`` and ``sign_type``. It is retried for up to a day until we answer ``success``, so there is
no freshness window here; replays are stopped by ``notify_id`` being processed once.
"""

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.exceptions import AliPayException
from django.core.exceptions import ImproperlyConfigured

from shoploop.core.errors import ValidationFailed
from shoploop.core.money import FEN_PER_YUAN, parse_yuan
from shoploop.ledger import conf
from shoploop.ledger.errors import InvalidCallback, ProviderError
from shoploop.ledger.providers.base import (
    FAILED,
    SUCCEEDED,
    WAITING,
    CallbackEvent,
    PaymentProvider,
    RefundResult,
    query_event,
)

PAID_STATUSES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
CLOSED_STATUSES = {"TRADE_CLOSED"}
SUCCESS_CODE = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


def yuan_text(amount: int) -> str:
    """Alipay's amount format: yuan with two decimals and no separators (``1299.00``)."""
    yuan, fen = divmod(amount, FEN_PER_YUAN)
    return f"{yuan}.{fen:02d}"


def _read_key(path: str, setting: str) -> str:
    if not path:
        raise ImproperlyConfigured(f"Set {setting} to use the Alipay provider.")
    return Path(path).read_text()


class AlipayProvider(PaymentProvider):
    name = "alipay"
    ack_body = b"success"
    ack_content_type = "text/plain"

    def __init__(self, config: dict | None = None):
        self.config = config or conf.alipay_settings()

    @cached_property
    def client(self) -> AliPay:
        if not self.config["app_id"]:
            raise ImproperlyConfigured("Set SHOPLOOP_ALIPAY_APP_ID to use the Alipay provider.")
        return AliPay(
            appid=self.config["app_id"],
            app_notify_url=self.config["notify_url"] or None,
            app_private_key_string=_read_key(
                self.config["private_key_path"], "SHOPLOOP_ALIPAY_PRIVATE_KEY_PATH"
            ),
            alipay_public_key_string=_read_key(
                self.config["public_key_path"], "SHOPLOOP_ALIPAY_PUBLIC_KEY_PATH"
            ),
            sign_type="RSA2",
            debug=self.config["sandbox"],
        )

    def start_url(self, payment) -> str:
        build = (
            self.client.api_alipay_trade_wap_pay
            if self.config["wap"]
            else self.client.api_alipay_trade_page_pay
        )
        order_string = build(
            subject=payment.description or payment.reference,
            out_trade_no=payment.public_id,
            total_amount=yuan_text(payment.amount),
            return_url=self.config["return_url"] or None,
            notify_url=self.config["notify_url"] or None,
        )
        return f"{self.client._gateway}?{order_string}"

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        try:
            data = dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError):
            raise InvalidCallback(code="malformed_callback") from None
        self._verify(data)
        return _event_from(data)

    def _verify(self, data: dict[str, str]) -> None:
        signature = data.get("sign", "")
        unsigned = {key: value for key, value in data.items() if key != "sign"}
        try:
            valid = bool(signature) and self.client.verify(unsigned, signature)
        except (AliPayException, ValueError, TypeError):
            valid = False
        if not valid:
            raise InvalidCallback(code="bad_signature")
        if data.get("app_id") != str(self.config["app_id"]):
            raise InvalidCallback(code="wrong_app")

    def refund(self, *, payment, refund) -> RefundResult:
        try:
            response = self.client.api_alipay_trade_refund(
                refund_amount=yuan_text(refund.amount),
                out_trade_no=payment.public_id,
                out_request_no=refund.public_id,
            )
        except Exception as error:  # network, TLS, a bad signature on the answer: retry later
            raise ProviderError(f"alipay refund call failed: {error}") from error
        if response.get("code") != SUCCESS_CODE:
            raise ProviderError(f"alipay refused: {response.get('sub_code') or response}")
        return RefundResult(provider_refund_no=str(response.get("trade_no", ""))[:64])

    def query(self, *, payment) -> CallbackEvent:
        """``alipay.trade.query`` by out_trade_no. A trade Alipay does not know yet (the buyer
        never opened the cashier) is still waiting."""
        try:
            response = self.client.api_alipay_trade_query(out_trade_no=payment.public_id)
        except Exception as error:
            raise ProviderError(f"alipay query failed: {error}") from error
        if response.get("code") != SUCCESS_CODE:
            if response.get("sub_code") == TRADE_NOT_EXIST:
                return query_event(payment, kind=WAITING, amount=payment.amount)
            raise ProviderError(f"alipay query refused: {response.get('sub_code') or response}")
        try:
            amount = parse_yuan(response.get("total_amount", ""), field="total_amount")
        except ValidationFailed:
            raise ProviderError(f"alipay query answered no amount: {response}") from None
        return query_event(
            payment,
            kind=_kind_of(response.get("trade_status", "")),
            amount=amount,
            trade_no=str(response.get("trade_no", "")),
            payload={key: str(value) for key, value in response.items()},
        )


def _kind_of(trade_status: str) -> str:
    if trade_status in PAID_STATUSES:
        return SUCCEEDED
    if trade_status in CLOSED_STATUSES:
        return FAILED
    return WAITING


def _event_from(data: dict[str, str]) -> CallbackEvent:
    event_id, payment_id = data.get("notify_id", ""), data.get("out_trade_no", "")
    if not event_id or not payment_id:
        raise InvalidCallback(code="malformed_callback")
    try:
        amount = parse_yuan(data.get("total_amount", ""), field="total_amount")
    except ValidationFailed:
        raise InvalidCallback(code="malformed_callback") from None
    return CallbackEvent(
        event_id=event_id[:100],
        payment_public_id=payment_id,
        kind=_kind_of(data.get("trade_status", "")),
        amount=amount,
        trade_no=data.get("trade_no", "")[:64],
        payload={key: value for key, value in data.items() if key != "sign"},
    )
