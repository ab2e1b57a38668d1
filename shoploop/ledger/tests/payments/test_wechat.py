"""WeChat Pay v3 offline: generated merchant and platform keys, a self-signed platform
certificate, notifications signed and AES-256-GCM encrypted as WeChat Pay sends them, and its
API faked at the HTTP transport (every request our SDK sends is checked, nothing leaves)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.core.cache import cache
from django.test import override_settings

from shoploop.core import clock
from shoploop.core.testing import race
from shoploop.ledger.models import Payment, PaymentEvent, Refund, Transfer
from shoploop.ledger.providers import get_provider
from shoploop.ledger.providers.wechat import WechatPayProvider
from shoploop.ledger.services import payments
from shoploop.ledger.tests import fake_http
from shoploop.ledger.tests.payments.wechat_fakes import (
    API,
    APIV3_KEY,
    APPID,
    MCHID,
    MERCHANT_SERIAL,
    answer,
    certificate_for,
    merchant_signature_verifies,
    new_key,
    notification,
    pkcs8_pem,
    rsa_verifies,
    serial_of,
    transaction,
)

PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari"
WECHAT_BROWSER = f"{PHONE_BROWSER} MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI"


@pytest.fixture(scope="module")
def keys():
    merchant, platform = new_key(), new_key()
    certificate = certificate_for(platform)
    return {
        "merchant": merchant,
        "platform": {"key": platform, "certificate": certificate, "serial": serial_of(certificate)},
    }


@pytest.fixture
def http(monkeypatch):
    return fake_http.install(monkeypatch)


@pytest.fixture
def wechat(keys, tmp_path, http):
    (tmp_path / "apiclient_key.pem").write_bytes(pkcs8_pem(keys["merchant"]))
    certs = tmp_path / "platform"
    certs.mkdir()
    platform = keys["platform"]
    (certs / f"{platform['serial']}.pem").write_bytes(
        platform["certificate"].public_bytes(serialization.Encoding.PEM)
    )
    with override_settings(
        PAYMENT_PROVIDER="wechat",
        WECHAT_MCHID=MCHID,
        WECHAT_APPID=APPID,
        WECHAT_APP_SECRET="app-secret-for-oauth",
        WECHAT_PRIVATE_KEY_PATH=str(tmp_path / "apiclient_key.pem"),
        WECHAT_CERT_SERIAL_NO=MERCHANT_SERIAL,
        WECHAT_APIV3_KEY=APIV3_KEY,
        WECHAT_PLATFORM_CERT_DIR=str(certs),
        WECHAT_NOTIFY_URL="https://shop.example/webhooks/wechat/",
    ):
        yield
    cache.clear()


@pytest.fixture
def wechat_payment(wechat, user):
    return payments.create_payment(
        payer=user, amount=8800, reference="checkout:w", description="茶叶礼盒", idempotency_key="w"
    )


def notify(payment, keys, **overrides):
    platform = keys["platform"]
    resource = transaction(payment, **overrides.pop("resource", {}))
    return notification(resource, key=platform["key"], serial=platform["serial"], **overrides)


def post(client, body, headers):
    return client.post("/webhooks/wechat/", body, content_type="application/json", headers=headers)


def nothing_changed(payment):
    payment.refresh_from_db()
    assert payment.state == Payment.State.REQUIRES_PAYMENT and payment.captured_fen == 0
    assert not PaymentEvent.objects.exists()


def test_the_configured_provider_is_wechat(wechat_payment):
    assert wechat_payment.provider == "wechat"
    assert isinstance(get_provider("wechat"), WechatPayProvider)
    assert payments.payment_start_url(wechat_payment) == f"/pay/{wechat_payment.public_id}/wechat/"


# --- notifications ---------------------------------------------------------------------------


def test_a_signed_encrypted_notification_captures_once(wechat_payment, keys, client, ledger_ok):
    body, headers = notify(wechat_payment, keys)
    accepted = post(client, body, headers)
    assert accepted.status_code == 200
    assert accepted.json() == {"code": "SUCCESS", "message": "OK"}
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.SUCCEEDED
    assert wechat_payment.provider_trade_no == "4200002024050112345678901234"
    assert payments.escrow_account(wechat_payment).credit_balance == 8800
    # WeChat Pay's own retry of the same notification (same id, signed afresh) is acknowledged
    # and changes nothing.
    retry_body, retry_headers = notify(wechat_payment, keys)
    assert post(client, retry_body, retry_headers).status_code == 200
    assert PaymentEvent.objects.count() == 1
    assert payments.escrow_account(wechat_payment).credit_balance == 8800
    ledger_ok()


def test_an_exact_replay_is_refused(wechat_payment, keys, client):
    body, headers = notify(wechat_payment, keys)
    assert post(client, body, headers).status_code == 200
    replay = post(client, body, headers)
    assert replay.status_code == 400 and b"replayed_callback" in replay.content
    assert PaymentEvent.objects.count() == 1


def test_a_tampered_notification_is_refused(wechat_payment, keys, client):
    body, headers = notify(wechat_payment, keys)
    tampered = body.replace(b"EV-2018022511223320873", b"EV-2018022511223320874")
    refused = post(client, tampered, headers)
    assert refused.status_code == 400 and b"bad_signature" in refused.content
    nothing_changed(wechat_payment)


def test_a_notification_signed_by_another_key_is_refused(wechat_payment, keys, client):
    serial = keys["platform"]["serial"]
    body, headers = notification(transaction(wechat_payment), key=new_key(), serial=serial)
    assert post(client, body, headers).status_code == 400
    nothing_changed(wechat_payment)


def test_an_unknown_certificate_serial_is_refused_without_calling_out(wechat_payment, client, http):
    stranger = new_key()
    body, headers = notification(transaction(wechat_payment), key=stranger, serial="ABC123")
    refused = post(client, body, headers)
    assert refused.status_code == 400 and b"unknown_certificate" in refused.content
    assert http.sent == []
    nothing_changed(wechat_payment)


def test_a_stale_notification_is_refused(wechat_payment, keys, client):
    stale = int(clock.now().timestamp()) - 301
    body, headers = notify(wechat_payment, keys, timestamp=stale)
    refused = post(client, body, headers)
    assert refused.status_code == 400 and b"stale_callback" in refused.content
    nothing_changed(wechat_payment)


@pytest.mark.parametrize(
    ("resource", "code"),
    [({"mchid": "1900000999"}, b"wrong_merchant"), ({"appid": "wx0000000000000000"}, b"wrong_app")],
)
def test_a_notification_for_another_merchant_or_app_is_refused(
    wechat_payment, keys, client, resource, code
):
    body, headers = notify(wechat_payment, keys, resource=resource)
    refused = post(client, body, headers)
    assert refused.status_code == 400 and code in refused.content
    nothing_changed(wechat_payment)


def test_a_notification_encrypted_with_another_key_is_refused(wechat_payment, keys, client):
    body, headers = notify(wechat_payment, keys, apiv3_key="X" * 32)
    refused = post(client, body, headers)
    assert refused.status_code == 400 and b"bad_ciphertext" in refused.content
    nothing_changed(wechat_payment)


def test_a_wrong_amount_is_recorded_and_moves_no_money(wechat_payment, keys, client, ledger_ok):
    body, headers = notify(wechat_payment, keys, resource={"amount": {"total": 1}})
    assert post(client, body, headers).status_code == 200
    event = PaymentEvent.objects.get()
    assert event.outcome == PaymentEvent.Outcome.AMOUNT_MISMATCH
    wechat_payment.refresh_from_db()
    assert wechat_payment.captured_fen == 0
    ledger_ok()


def test_a_closed_trade_fails_the_payment_and_a_refund_notice_settles_nothing(
    wechat_payment, keys, client
):
    body, headers = notify(wechat_payment, keys, event_id="EV-refund", event_type="REFUND.SUCCESS")
    assert post(client, body, headers).status_code == 200
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.REQUIRES_PAYMENT
    body, headers = notify(
        wechat_payment, keys, event_id="EV-closed", resource={"trade_state": "CLOSED"}
    )
    assert post(client, body, headers).status_code == 200
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.FAILED


# --- refunds ---------------------------------------------------------------------------------


@pytest.fixture
def paid_wechat_payment(wechat_payment, keys, client):
    body, headers = notify(wechat_payment, keys)
    assert post(client, body, headers).status_code == 200
    wechat_payment.refresh_from_db()
    return wechat_payment


def test_a_refund_carries_its_public_id_as_out_refund_no_and_a_retry_reuses_it(
    paid_wechat_payment, keys, http, django_capture_on_commit_callbacks, ledger_ok
):
    platform = keys["platform"]
    refunds_url = f"{API}/v3/refund/domestic/refunds"
    http.on("POST", refunds_url, answer(platform, 500, {"code": "SYSTEM_ERROR"}))
    with django_capture_on_commit_callbacks(execute=True):
        refund = payments.refund(payment=paid_wechat_payment, amount=3000, key="r1", reason="x")
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING and refund.attempts == 1
    accepted = {"refund_id": "50000000382019052709732678859", "status": "PROCESSING"}
    http.on("POST", refunds_url, answer(platform, 200, accepted))
    payments.settle_due_refunds(refund.next_attempt_at)
    refund.refresh_from_db()
    assert refund.state == Refund.State.SUCCEEDED
    assert refund.provider_refund_no == "50000000382019052709732678859"
    sent = http.bodies(refunds_url)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert sent[0]["out_refund_no"] == refund.public_id
    assert sent[0]["out_trade_no"] == paid_wechat_payment.public_id
    assert sent[0]["amount"] == {"refund": 3000, "total": 8800, "currency": "CNY"}
    merchant_public = keys["merchant"].public_key()
    assert all(merchant_signature_verifies(r, merchant_public) for r in http.sent)
    ledger_ok()


def test_a_refund_answer_with_a_forged_signature_is_not_trusted(
    paid_wechat_payment, http, django_capture_on_commit_callbacks
):
    impostor = certificate_for(new_key())
    forged = {"key": new_key(), "serial": serial_of(impostor)}
    http.on(
        "POST",
        f"{API}/v3/refund/domestic/refunds",
        answer(forged, 200, {"refund_id": "1", "status": "SUCCESS"}),
    )
    # An unknown serial makes the SDK look for new platform certificates; WeChat has none.
    http.on("GET", f"{API}/v3/certificates", lambda _r: (200, {"data": []}, {}))
    with django_capture_on_commit_callbacks(execute=True):
        refund = payments.refund(payment=paid_wechat_payment, amount=100, key="r2", reason="x")
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING
    assert "signature" in refund.last_error


# --- starting a payment ----------------------------------------------------------------------


def test_a_phone_browser_goes_to_wechat_h5(wechat_payment, keys, client, user, http):
    h5 = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=1"
    http.on("POST", f"{API}/v3/pay/transactions/h5", answer(keys["platform"], 200, {"h5_url": h5}))
    client.force_login(user)
    response = client.get(
        f"/pay/{wechat_payment.public_id}/", headers={"User-Agent": PHONE_BROWSER}, follow=True
    )
    final = response.redirect_chain[-1][0]
    assert final.startswith(h5 + "&redirect_url=")
    back = parse_qs(urlsplit(final).query)["redirect_url"][0]
    assert back.endswith(f"/pay/{wechat_payment.public_id}/wechat/?returned=1")
    (order,) = http.bodies(f"{API}/v3/pay/transactions/h5")
    assert order["mchid"] == MCHID and order["appid"] == APPID
    assert order["out_trade_no"] == wechat_payment.public_id
    assert order["amount"] == {"total": 8800, "currency": "CNY"}
    assert order["notify_url"] == "https://shop.example/webhooks/wechat/"
    assert order["scene_info"]["payer_client_ip"] == "127.0.0.1"
    assert merchant_signature_verifies(http.sent[0], keys["merchant"].public_key())


def test_inside_wechat_the_buyer_pays_with_jsapi(wechat_payment, keys, client, user, http):
    client.force_login(user)
    path = f"/pay/{wechat_payment.public_id}/wechat/"
    first = client.get(path, headers={"User-Agent": WECHAT_BROWSER})
    assert first.status_code == 302
    oauth = urlsplit(first["Location"])
    assert oauth.netloc == "open.weixin.qq.com"
    assert parse_qs(oauth.query)["scope"] == ["snsapi_base"]
    http.on(
        "GET",
        "https://api.weixin.qq.com/sns/oauth2/access_token",
        lambda _r: (200, {"openid": "oBuyer123", "access_token": "t"}, {}),
    )
    prepay = {"prepay_id": "wx201410272009395522657a690389285100"}
    http.on("POST", f"{API}/v3/pay/transactions/jsapi", answer(keys["platform"], 200, prepay))
    page = client.get(f"{path}?code=CODE123", headers={"User-Agent": WECHAT_BROWSER})
    assert page.status_code == 200
    (order,) = http.bodies(f"{API}/v3/pay/transactions/jsapi")
    assert order["payer"] == {"openid": "oBuyer123"}
    params = page.context["jsapi"]
    assert params["package"] == f"prepay_id={prepay['prepay_id']}"
    assert params["appId"] == APPID and params["signType"] == "RSA"
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    assert rsa_verifies(keys["merchant"].public_key(), params["paySign"], message)
    assert b"wechat-jsapi" in page.content


def test_a_desktop_browser_shows_a_native_qr_code(wechat_payment, keys, client, user, http):
    code_url = "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    native = f"{API}/v3/pay/transactions/native"
    http.on("POST", native, answer(keys["platform"], 200, {"code_url": code_url}))
    client.force_login(user)
    desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"
    page = client.get(f"/pay/{wechat_payment.public_id}/wechat/", headers={"User-Agent": desktop})
    assert page.status_code == 200
    assert b'data-testid="pay-qr"><svg' in page.content and b"I have paid" in page.content
    (order,) = http.bodies(native)
    assert order["out_trade_no"] == wechat_payment.public_id and "scene_info" not in order
    assert merchant_signature_verifies(http.sent[0], keys["merchant"].public_key())


def test_the_checkout_page_refuses_another_buyer(wechat_payment, client, other_user, http):
    client.force_login(other_user)
    for browser in (PHONE_BROWSER, WECHAT_BROWSER):
        path = f"/pay/{wechat_payment.public_id}/wechat/"
        refused = client.get(path, headers={"User-Agent": browser})
        assert refused.status_code == 403
    assert http.sent == []


def test_a_paid_payment_goes_back_to_its_page(paid_wechat_payment, client, user, http):
    client.force_login(user)
    page = client.get(
        f"/pay/{paid_wechat_payment.public_id}/wechat/", headers={"User-Agent": WECHAT_BROWSER}
    )
    assert page.status_code == 302
    assert page["Location"] == f"/pay/{paid_wechat_payment.public_id}/"
    assert http.sent == []


def test_an_unreachable_wechat_shows_a_message(wechat_payment, client, user, http):
    client.force_login(user)

    def unreachable(_request):
        raise requests.ConnectionError("no route to api.mch.weixin.qq.com")

    http.on("POST", f"{API}/v3/pay/transactions/h5", unreachable)
    page = client.get(
        f"/pay/{wechat_payment.public_id}/wechat/", headers={"User-Agent": PHONE_BROWSER}
    )
    assert page.status_code == 503
    assert b"could not be reached" in page.content


# --- lost notifications ----------------------------------------------------------------------


def query_url(payment):
    return f"{API}/v3/pay/transactions/out-trade-no/{payment.public_id}?mchid={MCHID}"


def test_a_lost_notification_is_settled_by_the_query_and_the_late_one_changes_nothing(
    wechat_payment, keys, client, http, ledger_ok
):
    platform = keys["platform"]
    http.on("GET", query_url(wechat_payment), answer(platform, 200, transaction(wechat_payment)))
    assert payments.settle_due_queries(wechat_payment.created_at) == 0  # not due yet
    assert http.sent == []
    due = wechat_payment.next_query_at
    assert payments.settle_due_queries(due) == 1
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.SUCCEEDED
    assert merchant_signature_verifies(http.sent[0], keys["merchant"].public_key())
    body, headers = notify(wechat_payment, keys)
    assert post(client, body, headers).status_code == 200
    late = PaymentEvent.objects.get(event_id="EV-2018022511223320873")
    assert late.outcome == PaymentEvent.Outcome.IGNORED
    assert payments.escrow_account(wechat_payment).credit_balance == 8800
    ledger_ok()


def test_an_unpaid_order_is_asked_again_later_and_an_unknown_one_waits(wechat_payment, keys, http):
    notpay = transaction(wechat_payment, trade_state="NOTPAY")
    http.on("GET", query_url(wechat_payment), answer(keys["platform"], 200, notpay))
    first_due = wechat_payment.next_query_at
    assert payments.settle_due_queries(first_due) == 0
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.REQUIRES_PAYMENT
    assert wechat_payment.query_attempts == 1 and wechat_payment.next_query_at > first_due
    missing = {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
    http.on("GET", query_url(wechat_payment), lambda _r: (404, missing, {}))
    assert payments.settle_due_queries(wechat_payment.next_query_at) == 0
    assert not PaymentEvent.objects.exists()


def test_i_have_paid_asks_wechat_at_once(wechat_payment, keys, client, user, http):
    http.on(
        "GET", query_url(wechat_payment), answer(keys["platform"], 200, transaction(wechat_payment))
    )
    client.force_login(user)
    path = f"/pay/{wechat_payment.public_id}/wechat/"
    back = client.get(f"{path}?returned=1")
    assert back.status_code == 200 and b"I have paid" in back.content
    checked = client.post(path, follow=True)
    assert checked.redirect_chain[-1][0] == f"/pay/{wechat_payment.public_id}/"
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.SUCCEEDED
    assert PaymentEvent.objects.get().event_id == f"query:{wechat_payment.public_id}:succeeded"


# --- several deliveries at once --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_retries_and_a_query_racing_capture_once(wechat_payment, keys, http, ledger_ok):
    """WeChat's re-signed retries of one notification arrive together with our own query."""
    http.on(
        "GET", query_url(wechat_payment), answer(keys["platform"], 200, transaction(wechat_payment))
    )
    deliveries = [notify(wechat_payment, keys) for _ in range(5)]

    def work(i):
        if i == len(deliveries):
            return payments.settle_due_queries(wechat_payment.next_query_at)
        body, headers = deliveries[i]
        return payments.handle_callback(provider="wechat", body=body, headers=headers)

    outcomes = race(work, len(deliveries) + 1)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    wechat_payment.refresh_from_db()
    assert wechat_payment.state == Payment.State.SUCCEEDED and wechat_payment.captured_fen == 8800
    assert Transfer.objects.filter(reason="payment_captured").count() == 1
    assert PaymentEvent.objects.filter(outcome=PaymentEvent.Outcome.CAPTURED).count() == 1
    ledger_ok()
