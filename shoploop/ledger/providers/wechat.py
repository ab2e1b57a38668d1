"""WeChat Pay API v3 through wechatpayv3: JSAPI (inside WeChat), H5 (phone browsers) and Native (a
QR code on desktop) orders, verified and decrypted notifications, refunds and order queries.

A notification is a JSON POST signed by WeChat Pay: SHA256withRSA over
``"{Wechatpay-Timestamp}\\n{Wechatpay-Nonce}\\n{body}\\n"`` with the platform key named by
``Wechatpay-Serial`` (a platform certificate from the configured directory, or the platform public
key and its id). Its ``resource`` is encrypted with AEAD_AES_256_GCM under the APIv3 key. We refuse
a timestamp more than 300 s away from now, a nonce we already accepted (an exact replay; WeChat's
own retries are signed afresh), and a decrypted transaction for another merchant or app. A retry of
an accepted notification (same ``id``) is processed once by the payments service.

The callback path never calls WeChat: a serial we do not know is refused (the SDK fetches new
platform certificates into the directory when it sees them on the answers to our own calls), so a
forged request cannot make us call out.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlencode

import requests
from cryptography import x509
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt, rsa_verify

from shoploop.core import clock
from shoploop.ledger import conf
from shoploop.ledger.errors import InvalidCallback, ProviderError
from shoploop.ledger.providers.base import (
    FAILED,
    SUCCEEDED,
    WAITING,
    CallbackEvent,
    PaymentProvider,
    RefundResult,
    lowercase_headers,
    query_event,
)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CURRENCY = "CNY"
MAX_DESCRIPTION_LENGTH = 127  # WeChat's limit on an order's description
PAID_STATES = {"SUCCESS", "REFUND"}  # REFUND: paid, then (partly) refunded
FAILED_STATES = {"CLOSED", "REVOKED", "PAYERROR"}
REQUEST_TIMEOUT = (5, 15)  # seconds to connect, to read
OAUTH_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
OAUTH_TOKEN_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"
NONCE_CACHE_PREFIX = "ledger:wechat-nonce:"


@dataclass(frozen=True)
class PlatformKeys:
    """The keys WeChat Pay signs with, by serial (certificate serial in hex, or public key id)."""

    by_serial: dict[str, object]

    def key_for(self, serial: str):
        return self.by_serial.get(serial.upper())


def _read(path: str, setting: str) -> str:
    if not path:
        raise ImproperlyConfigured(f"Set {setting} to use the WeChat Pay provider.")
    return Path(path).read_text()


def _require(config: dict, key: str, setting: str) -> str:
    if not config[key]:
        raise ImproperlyConfigured(f"Set {setting} to use the WeChat Pay provider.")
    return config[key]


def load_platform_keys(config: dict) -> PlatformKeys:
    """Platform certificates valid now from the directory, plus the platform public key if set."""
    keys: dict[str, object] = {}
    directory = config["platform_cert_dir"]
    now = clock.now()
    if directory and Path(directory).is_dir():
        for pem in sorted(Path(directory).glob("*.pem")):
            try:
                certificate = x509.load_pem_x509_certificate(pem.read_bytes())
            except ValueError:
                continue
            if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
                keys[format(certificate.serial_number, "X")] = certificate.public_key()
    if config["public_key_path"] and config["public_key_id"]:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        public = load_pem_public_key(Path(config["public_key_path"]).read_bytes())
        keys[config["public_key_id"].upper()] = public
    return PlatformKeys(by_serial=keys)


class WechatPayProvider(PaymentProvider):
    name = "wechat"
    ack_body = b'{"code":"SUCCESS","message":"OK"}'
    ack_content_type = "application/json"

    def __init__(self, config: dict | None = None):
        self.config = config or conf.wechat_settings()

    # --- the SDK client ----------------------------------------------------------------------

    @cached_property
    def client(self) -> WeChatPay:
        config = self.config
        if not (config["platform_cert_dir"] or config["public_key_path"]):
            raise ImproperlyConfigured(
                "Set SHOPLOOP_WECHAT_PLATFORM_CERT_DIR (or SHOPLOOP_WECHAT_PUBLIC_KEY_PATH and "
                "SHOPLOOP_WECHAT_PUBLIC_KEY_ID) to use the WeChat Pay provider."
            )
        public_key = public_key_id = None
        if config["public_key_path"]:
            public_key = _read(config["public_key_path"], "SHOPLOOP_WECHAT_PUBLIC_KEY_PATH")
            public_key_id = _require(config, "public_key_id", "SHOPLOOP_WECHAT_PUBLIC_KEY_ID")
        return WeChatPay(
            wechatpay_type=WeChatPayType.H5,
            mchid=_require(config, "mchid", "SHOPLOOP_WECHAT_MCHID"),
            private_key=_read(config["private_key_path"], "SHOPLOOP_WECHAT_PRIVATE_KEY_PATH"),
            cert_serial_no=_require(config, "cert_serial_no", "SHOPLOOP_WECHAT_CERT_SERIAL_NO"),
            appid=_require(config, "appid", "SHOPLOOP_WECHAT_APPID"),
            apiv3_key=_require(config, "apiv3_key", "SHOPLOOP_WECHAT_APIV3_KEY"),
            notify_url=_require(config, "notify_url", "SHOPLOOP_WECHAT_NOTIFY_URL"),
            cert_dir=config["platform_cert_dir"] or None,
            public_key=public_key,
            public_key_id=public_key_id,
            timeout=REQUEST_TIMEOUT,
        )

    def _call(self, what: str, call, *args, **kwargs) -> tuple[int, dict]:
        """One SDK call: (HTTP status, parsed JSON). The SDK verifies the answer's signature."""
        try:
            status, text = call(*args, **kwargs)
        except Exception as error:  # network, TLS, an answer whose signature does not verify
            raise ProviderError(f"wechat {what} failed: {error}") from error
        try:
            data = json.loads(text) if text else {}
        except (TypeError, ValueError):
            raise ProviderError(f"wechat {what}: unreadable answer {status}") from None
        return status, data

    # --- starting a payment ------------------------------------------------------------------

    def start_url(self, payment) -> str:
        """Our own checkout page: it knows the buyer's browser (JSAPI inside WeChat, H5 in other
        phone browsers), which the provider interface does not."""
        return reverse("ledger:wechat_checkout", kwargs={"payment_id": payment.public_id})

    def _order(self, payment) -> dict:
        return {
            "description": (payment.description or payment.reference)[:MAX_DESCRIPTION_LENGTH],
            "out_trade_no": payment.public_id,
            "amount": {"total": payment.amount, "currency": CURRENCY},
        }

    def h5_url(self, payment, *, client_ip: str, return_url: str = "") -> str:
        """Place an H5 order; the buyer's phone browser goes to the returned ``h5_url``, which
        brings them back to ``return_url`` afterwards."""
        status, data = self._call(
            "h5 order",
            self.client.pay,
            pay_type=WeChatPayType.H5,
            scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}},
            **self._order(payment),
        )
        if status != 200 or not data.get("h5_url"):
            raise ProviderError(f"wechat refused the h5 order: {status} {data.get('code')}")
        url = data["h5_url"]
        if return_url:
            url = f"{url}&{urlencode({'redirect_url': return_url})}"
        return url

    def native_code_url(self, payment) -> str:
        """Place a Native order: a ``weixin://`` link that a desktop page shows as a QR code for
        the buyer's phone to scan."""
        status, data = self._call(
            "native order", self.client.pay, pay_type=WeChatPayType.NATIVE, **self._order(payment)
        )
        if status != 200 or not data.get("code_url"):
            raise ProviderError(f"wechat refused the native order: {status} {data.get('code')}")
        return data["code_url"]

    def jsapi_params(self, payment, *, openid: str) -> dict[str, str]:
        """Place a JSAPI order for the buyer's ``openid`` and sign what the page hands to
        ``WeixinJSBridge.invoke("getBrandWCPayRequest", …)``."""
        status, data = self._call(
            "jsapi order",
            self.client.pay,
            pay_type=WeChatPayType.JSAPI,
            payer={"openid": openid},
            **self._order(payment),
        )
        if status != 200 or not data.get("prepay_id"):
            raise ProviderError(f"wechat refused the jsapi order: {status} {data.get('code')}")
        params = {
            "appId": self.config["appid"],
            "timeStamp": str(int(clock.now().timestamp())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={data['prepay_id']}",
        }
        params["signType"] = "RSA"
        params["paySign"] = self.client.sign(
            [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        )
        return params

    def oauth_url(self, *, redirect_uri: str, state: str) -> str:
        """Where a WeChat browser gets a silent ``snsapi_base`` code for the buyer's openid."""
        query = urlencode(
            {
                "appid": self.config["appid"],
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
            }
        )
        return f"{OAUTH_AUTHORIZE_URL}?{query}#wechat_redirect"

    def openid_for_code(self, code: str) -> str:
        if not self.config["app_secret"]:
            raise ImproperlyConfigured("Set SHOPLOOP_WECHAT_APP_SECRET to pay inside WeChat.")
        params = {
            "appid": self.config["appid"],
            "secret": self.config["app_secret"],
            "code": code,
            "grant_type": "authorization_code",
        }
        try:
            answer = requests.get(OAUTH_TOKEN_URL, params=params, timeout=REQUEST_TIMEOUT).json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderError(f"wechat oauth failed: {error}") from error
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not openid:
            raise ProviderError(f"wechat oauth refused: {answer}")
        return str(openid)

    # --- notifications -----------------------------------------------------------------------

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        headers = lowercase_headers(headers)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidCallback(code="malformed_callback") from None
        timestamp, nonce = self._verify(text, headers)
        data = _json_object(text)
        resource = self._decrypt(data)
        self._check_merchant(resource)
        # Only a verified callback may take a nonce, so forged requests cannot block real ones.
        seen_for = conf.CALLBACK_TOLERANCE_SECONDS * 2
        if not cache.add(NONCE_CACHE_PREFIX + nonce, timestamp, seen_for):
            raise InvalidCallback(code="replayed_callback")
        return _event_from(data, resource)

    def _verify(self, text: str, headers: dict[str, str]) -> tuple[str, str]:
        timestamp = headers.get("wechatpay-timestamp", "")
        nonce = headers.get("wechatpay-nonce", "")
        signature = headers.get("wechatpay-signature", "")
        serial = headers.get("wechatpay-serial", "")
        if headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise InvalidCallback(code="bad_signature")
        try:
            moment = int(timestamp)
        except ValueError:
            raise InvalidCallback(code="bad_timestamp") from None
        if abs(clock.now().timestamp() - moment) > conf.CALLBACK_TOLERANCE_SECONDS:
            raise InvalidCallback(code="stale_callback")
        if not nonce or not signature or not serial:
            raise InvalidCallback(code="bad_signature")
        key = load_platform_keys(self.config).key_for(serial)
        if key is None:
            raise InvalidCallback(code="unknown_certificate")
        if not rsa_verify(timestamp, nonce, text, signature, key):
            raise InvalidCallback(code="bad_signature")
        return timestamp, nonce

    def _decrypt(self, data: dict) -> dict:
        resource = data.get("resource")
        if data.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise InvalidCallback(code="malformed_callback")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise InvalidCallback(code="malformed_callback")
        try:
            plain = aes_decrypt(
                nonce=str(resource.get("nonce", "")),
                ciphertext=str(resource.get("ciphertext", "")),
                associated_data=str(resource.get("associated_data") or ""),
                apiv3_key=self.config["apiv3_key"],
            )
        except (ValueError, TypeError):
            plain = None
        if plain is None:
            raise InvalidCallback(code="bad_ciphertext")
        return _json_object(plain)

    def _check_merchant(self, resource: dict) -> None:
        if str(resource.get("mchid", "")) != str(self.config["mchid"]):
            raise InvalidCallback(code="wrong_merchant")
        if "appid" in resource and str(resource["appid"]) != str(self.config["appid"]):
            raise InvalidCallback(code="wrong_app")

    # --- refunds and queries -----------------------------------------------------------------

    def refund(self, *, payment, refund) -> RefundResult:
        """``out_refund_no`` is the refund's public id: WeChat answers a retry with the refund it
        already has, so asking twice returns the money once."""
        status, data = self._call(
            "refund",
            self.client.refund,
            out_refund_no=refund.public_id,
            out_trade_no=payment.public_id,
            amount={"refund": refund.amount, "total": payment.amount, "currency": CURRENCY},
        )
        if status != 200 or data.get("status") not in ("SUCCESS", "PROCESSING"):
            raise ProviderError(f"wechat refused the refund: {status} {data.get('code')}")
        return RefundResult(provider_refund_no=str(data.get("refund_id", ""))[:64])

    def query(self, *, payment) -> CallbackEvent:
        """The order by out_trade_no. An order WeChat does not know (the buyer never opened the
        cashier) is still waiting."""
        status, data = self._call("query", self.client.query, out_trade_no=payment.public_id)
        if status == 404:
            return query_event(payment, kind=WAITING, amount=payment.amount)
        if status != 200:
            raise ProviderError(f"wechat query refused: {status} {data.get('code')}")
        self._check_query_merchant(data)
        amount = (data.get("amount") or {}).get("total")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ProviderError("wechat query answered no amount")
        return query_event(
            payment,
            kind=_kind_of(str(data.get("trade_state", ""))),
            amount=amount,
            trade_no=str(data.get("transaction_id", "")),
            payload=data,
        )

    def _check_query_merchant(self, data: dict) -> None:
        try:
            self._check_merchant(data)
        except InvalidCallback as refused:
            message = f"wechat query answered for another merchant: {refused.code}"
            raise ProviderError(message) from None


def _kind_of(trade_state: str) -> str:
    if trade_state in PAID_STATES:
        return SUCCEEDED
    if trade_state in FAILED_STATES:
        return FAILED
    return WAITING  # NOTPAY, USERPAYING


def _json_object(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidCallback(code="malformed_callback") from None
    if not isinstance(data, dict):
        raise InvalidCallback(code="malformed_callback")
    return data


def _event_from(data: dict, resource: dict) -> CallbackEvent:
    event_id, payment_id = data.get("id"), resource.get("out_trade_no")
    amount = (resource.get("amount") or {}).get("total")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= 100
        or not isinstance(payment_id, str)
        or not isinstance(amount, int)
        or isinstance(amount, bool)
    ):
        raise InvalidCallback(code="malformed_callback")
    # Refund notifications (REFUND.*) share the notify URL; they settle nothing here.
    is_transaction = str(data.get("event_type", "")).startswith("TRANSACTION.")
    kind = _kind_of(str(resource.get("trade_state", ""))) if is_transaction else WAITING
    return CallbackEvent(
        event_id=event_id,
        payment_public_id=payment_id,
        kind=kind,
        amount=amount,
        trade_no=str(resource.get("transaction_id", ""))[:64],
        payload={"id": event_id, "event_type": data.get("event_type"), "resource": resource},
    )
