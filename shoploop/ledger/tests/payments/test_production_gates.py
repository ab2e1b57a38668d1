"""In production (DEBUG off, not staging) the sandbox cashier does not exist, and no webhook
answers a 500 whatever is wrong with its provider."""

import logging

import pytest
from django.test import override_settings

from shoploop.ledger.models import Payment
from shoploop.ledger.providers.sandbox import signed_callback

pytestmark = pytest.mark.django_db

production = override_settings(DEBUG=False, STAGING=False)


def _sandbox_callback(payment) -> tuple[bytes, dict]:
    body, headers = signed_callback(
        event_id="evt-prod", payment_public_id=payment.public_id, kind="succeeded", amount=1000
    )
    return body, {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def test_the_sandbox_cashier_page_is_404_in_production(client, make_payment, user):
    payment = make_payment()
    client.force_login(user)
    with production:
        assert client.get(f"/pay/{payment.public_id}/").status_code == 404
        assert client.post(f"/pay/{payment.public_id}/", {"action": "confirm"}).status_code == 404
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT
    assert client.get(f"/pay/{payment.public_id}/").status_code == 200  # staging: still there


def test_a_real_providers_payment_lands_on_its_status_page_in_production(
    client, make_payment, user, english
):
    """WeChat Pay sends the buyer back to /pay/<id>/ after paying: in production that page shows
    the payment's state (no sandbox buttons), it is not the sandbox's 404."""
    payment = make_payment()
    Payment.objects.filter(pk=payment.pk).update(provider="wechat", state="succeeded")
    client.force_login(user)
    with production:
        page = client.get(f"/pay/{payment.public_id}/")
        refused = client.post(f"/pay/{payment.public_id}/", {"action": "decline"})
    assert page.status_code == 200
    content = page.content.decode()
    assert "Paid. Thank you!" in content and "Sandbox cashier" not in content
    assert refused.status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED


def test_the_sandbox_cashier_api_is_404_in_production(api, make_payment, user):
    payment = make_payment()
    with production:
        answer = api.post(f"/ledger/payments/{payment.public_id}/sandbox/confirm", user=user)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT


def test_the_sandbox_webhook_is_404_in_production(client, make_payment, caplog):
    payment = make_payment()
    body, headers = _sandbox_callback(payment)
    with production, caplog.at_level(logging.WARNING, logger="shoploop.ledger.views"):
        answer = client.post("/webhooks/sandbox/", body, content_type="application/json", **headers)
    assert answer.status_code == 404
    assert [r.getMessage() for r in caplog.records] == [
        "webhook sandbox refused: provider_disabled"
    ]
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT


@override_settings(ALIPAY_APP_ID="", ALIPAY_PRIVATE_KEY_PATH="", ALIPAY_PUBLIC_KEY_PATH="")
def test_an_unconfigured_alipay_webhook_is_a_4xx_and_one_log_line(client, caplog):
    body = b"notify_id=1&out_trade_no=x&total_amount=1.00&sign=abc"
    with caplog.at_level(logging.WARNING, logger="shoploop.ledger.views"):
        answer = client.post(
            "/webhooks/alipay/", body, content_type="application/x-www-form-urlencoded"
        )
    assert answer.status_code == 404
    assert [r.getMessage() for r in caplog.records] == [
        "webhook alipay refused: provider_not_configured"
    ]


@override_settings(
    ALIPAY_APP_ID="2021000000000000",
    ALIPAY_PRIVATE_KEY_PATH="/nonexistent/app.pem",
    ALIPAY_PUBLIC_KEY_PATH="/nonexistent/alipay.pem",
)
def test_an_alipay_webhook_with_missing_key_files_is_a_4xx(client):
    body = b"notify_id=1&out_trade_no=x&total_amount=1.00&sign=abc"
    answer = client.post(
        "/webhooks/alipay/", body, content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 404


def test_an_unsigned_sandbox_callback_is_a_400_and_one_log_line(client, make_payment, caplog):
    payment = make_payment()
    body, _headers = _sandbox_callback(payment)
    with caplog.at_level(logging.WARNING, logger="shoploop.ledger.views"):
        answer = client.post("/webhooks/sandbox/", body, content_type="application/json")
    assert answer.status_code == 400
    assert len([r for r in caplog.records if r.name == "shoploop.ledger.views"]) == 1


def test_an_unknown_provider_is_a_404(client, caplog):
    with caplog.at_level(logging.WARNING, logger="shoploop.ledger.views"):
        answer = client.post("/webhooks/paypal/", b"{}", content_type="application/json")
    assert answer.status_code == 404
    assert [r.getMessage() for r in caplog.records] == ["webhook paypal refused: unknown_provider"]
