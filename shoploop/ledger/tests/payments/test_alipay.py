"""Alipay offline: keys generated here, callbacks signed as Alipay signs them (RSA2 over the
sorted k=v string without sign and sign_type), no network."""

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import alipay as alipay_sdk
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import override_settings

from shoploop.ledger.errors import InvalidCallback
from shoploop.ledger.models import Payment, PaymentEvent
from shoploop.ledger.providers import get_provider
from shoploop.ledger.providers.alipay import AlipayProvider, yuan_text
from shoploop.ledger.services import payments

APP_ID = "2021000000000001"


def _keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, private, public


@pytest.fixture(scope="module")
def keys():
    _app_key, app_private, _app_public = _keypair()
    alipay_key, _alipay_private, alipay_public = _keypair()
    return {"app_private": app_private, "alipay_key": alipay_key, "alipay_public": alipay_public}


@pytest.fixture
def alipay(keys, tmp_path):
    (tmp_path / "app.pem").write_bytes(keys["app_private"])
    (tmp_path / "alipay.pem").write_bytes(keys["alipay_public"])
    with override_settings(
        PAYMENT_PROVIDER="alipay",
        ALIPAY_APP_ID=APP_ID,
        ALIPAY_PRIVATE_KEY_PATH=str(tmp_path / "app.pem"),
        ALIPAY_PUBLIC_KEY_PATH=str(tmp_path / "alipay.pem"),
        ALIPAY_SANDBOX=True,
        ALIPAY_NOTIFY_URL="https://shop.example/webhooks/alipay/",
        ALIPAY_RETURN_URL="https://shop.example/orders/",
    ):
        yield


def alipay_signs(params: dict, key) -> bytes:
    """What Alipay POSTs to notify_url."""
    message = "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type")
    )
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    signed = {**params, "sign_type": "RSA2", "sign": base64.b64encode(signature).decode()}
    return urlencode(signed).encode()


def notification(payment, **overrides) -> dict:
    return {
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "notify_time": "2024-05-01 12:00:00",
        "notify_type": "trade_status_sync",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2024050122001400000000000001",
        "out_trade_no": payment.public_id,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": yuan_text(payment.amount),
        "subject": "测试 & 订单",
        **overrides,
    }


@pytest.fixture
def alipay_payment(alipay, user):
    return payments.create_payment(
        payer=user, amount=129900, reference="checkout:a", description="测试", idempotency_key="k"
    )


def test_the_configured_provider_is_alipay(alipay_payment):
    assert alipay_payment.provider == "alipay"
    assert isinstance(get_provider("alipay"), AlipayProvider)


def test_start_url_is_a_signed_page_pay_request(alipay_payment, keys):
    url = payments.payment_start_url(alipay_payment)
    parts = urlsplit(url)
    assert parts.netloc == "openapi-sandbox.dl.alipaydev.com"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["method"] == "alipay.trade.page.pay" and query["app_id"] == APP_ID
    assert query["sign_type"] == "RSA2" and query["notify_url"].endswith("/webhooks/alipay/")
    assert f'"out_trade_no":"{alipay_payment.public_id}"' in query["biz_content"]
    assert '"total_amount":"1299.00"' in query["biz_content"]
    # The signature verifies with the app's public key, as Alipay checks it.
    app_key = serialization.load_pem_private_key(keys["app_private"], None).public_key()
    signature = base64.b64decode(query.pop("sign"))
    message = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
    app_key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_wap_pay_when_configured(alipay_payment, settings):
    settings.ALIPAY_WAP = True
    assert "alipay.trade.wap.pay" in payments.payment_start_url(alipay_payment)


def test_a_real_signed_notification_captures(alipay_payment, keys, ledger_ok):
    body = alipay_signs(notification(alipay_payment), keys["alipay_key"])
    event = payments.handle_callback(provider="alipay", body=body, headers={})
    alipay_payment.refresh_from_db()
    assert event.outcome == PaymentEvent.Outcome.CAPTURED
    assert alipay_payment.state == Payment.State.SUCCEEDED
    assert alipay_payment.provider_trade_no == "2024050122001400000000000001"
    assert payments.escrow_account(alipay_payment).credit_balance == 129900
    ledger_ok()


def test_a_tampered_notification_is_refused(alipay_payment, keys):
    body = alipay_signs(notification(alipay_payment, total_amount="0.01"), keys["alipay_key"])
    tampered = body.replace(b"total_amount=0.01", b"total_amount=1299.00")
    with pytest.raises(InvalidCallback):
        payments.handle_callback(provider="alipay", body=tampered, headers={})
    alipay_payment.refresh_from_db()
    assert alipay_payment.state == Payment.State.REQUIRES_PAYMENT
    assert not PaymentEvent.objects.exists()


def test_a_notification_signed_by_another_key_is_refused(alipay_payment):
    stranger, _private, _public = _keypair()
    body = alipay_signs(notification(alipay_payment), stranger)
    with pytest.raises(InvalidCallback):
        payments.handle_callback(provider="alipay", body=body, headers={})


def test_a_notification_for_another_app_is_refused(alipay_payment, keys):
    body = alipay_signs(notification(alipay_payment, app_id="2021999"), keys["alipay_key"])
    with pytest.raises(InvalidCallback):
        payments.handle_callback(provider="alipay", body=body, headers={})


@pytest.mark.parametrize("body", [b"", b"sign=abc", b"\xff\xfe"])
def test_unsigned_or_malformed_notifications_are_refused(alipay_payment, body):
    with pytest.raises(InvalidCallback):
        payments.handle_callback(provider="alipay", body=body, headers={})


def test_the_webhook_answers_success_to_alipay(alipay_payment, keys, client):
    body = alipay_signs(notification(alipay_payment), keys["alipay_key"])
    response = client.post(
        "/webhooks/alipay/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and response.content == b"success"
    tampered = body.replace(b"TRADE_SUCCESS", b"TRADE_FINISHED")
    forged = client.post(
        "/webhooks/alipay/", tampered, content_type="application/x-www-form-urlencoded"
    )
    assert forged.status_code == 400


def test_trade_closed_fails_and_waiting_is_ignored(alipay_payment, keys):
    waiting = notification(alipay_payment, trade_status="WAIT_BUYER_PAY", notify_id="n1")
    event = payments.handle_callback(
        provider="alipay", body=alipay_signs(waiting, keys["alipay_key"]), headers={}
    )
    assert event.outcome == PaymentEvent.Outcome.IGNORED
    closed = notification(alipay_payment, trade_status="TRADE_CLOSED", notify_id="n2")
    payments.handle_callback(
        provider="alipay", body=alipay_signs(closed, keys["alipay_key"]), headers={}
    )
    alipay_payment.refresh_from_db()
    assert alipay_payment.state == Payment.State.FAILED


def test_the_cashier_page_sends_alipay_payers_to_alipay(alipay_payment, client, user):
    client.force_login(user)
    response = client.get(f"/pay/{alipay_payment.public_id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://openapi-sandbox.dl.alipaydev.com/")


# --- Alipay ----------------------------------------------------------------------------------


class FakeAlipayGateway:
    """Stands in for ``urlopen`` inside python-alipay-sdk: records the signed request, answers
    as Alipay does (the response object signed with Alipay's key)."""

    def __init__(self, key, answer: dict):
        self.key, self.answer, self.requested = key, answer, []

    def __call__(self, url, timeout=None):
        self.requested.append(url)
        inner = json.dumps(self.answer, ensure_ascii=False, separators=(",", ":"))
        signature = self.key.sign(inner.encode(), padding.PKCS1v15(), hashes.SHA256())
        raw = (
            f'{{"alipay_trade_query_response":{inner},'
            f'"sign":"{base64.b64encode(signature).decode()}"}}'
        )
        return _Body(raw.encode())


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def read(self) -> bytes:
        return self.data


@pytest.fixture
def alipay_gateway(alipay, keys, monkeypatch):
    def install(answer: dict) -> FakeAlipayGateway:
        gateway = FakeAlipayGateway(keys["alipay_key"], answer)
        monkeypatch.setattr(alipay_sdk, "urlopen", gateway)
        return gateway

    return install


def trade(payment, **overrides) -> dict:
    return {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": payment.public_id,
        "trade_no": "2024050122001400000000000009",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "1299.00",
        **overrides,
    }


def test_a_lost_alipay_notification_is_settled_by_trade_query(
    alipay_payment, alipay_gateway, keys, ledger_ok
):
    gateway = alipay_gateway(trade(alipay_payment))
    assert payments.settle_due_queries(alipay_payment.next_query_at) == 1
    alipay_payment.refresh_from_db()
    assert alipay_payment.state == Payment.State.SUCCEEDED
    assert alipay_payment.provider_trade_no == "2024050122001400000000000009"
    (url,) = gateway.requested
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["method"] == "alipay.trade.query"
    assert json.loads(query["biz_content"]) == {"out_trade_no": alipay_payment.public_id}
    app_key = serialization.load_pem_private_key(keys["app_private"], None).public_key()
    signature = base64.b64decode(query.pop("sign"))
    message = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
    app_key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    # Alipay's notification, a little late: acknowledged, nothing moves.
    body = alipay_signs(notification(alipay_payment), keys["alipay_key"])
    late = payments.handle_callback(provider="alipay", body=body, headers={})
    assert late.outcome == PaymentEvent.Outcome.IGNORED
    ledger_ok()


def test_alipay_waiting_unknown_or_forged_answers_settle_nothing(
    alipay_payment, alipay_gateway, monkeypatch
):
    alipay_gateway(trade(alipay_payment, trade_status="WAIT_BUYER_PAY"))
    assert payments.settle_due_queries(alipay_payment.next_query_at) == 0
    alipay_payment.refresh_from_db()
    missing = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
    alipay_gateway(missing)
    assert payments.settle_due_queries(alipay_payment.next_query_at) == 0
    # An answer signed by someone else than Alipay is not believed.
    stranger, _private, _public = _keypair()
    monkeypatch.setattr(alipay_sdk, "urlopen", FakeAlipayGateway(stranger, trade(alipay_payment)))
    alipay_payment.refresh_from_db()
    assert payments.settle_due_queries(alipay_payment.next_query_at) == 0
    alipay_payment.refresh_from_db()
    assert alipay_payment.state == Payment.State.REQUIRES_PAYMENT
    assert not PaymentEvent.objects.exists()
