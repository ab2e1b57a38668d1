"""The Tencent Cloud SMS adapter offline: the SDK builds and signs its real request, which is
caught at the HTTP transport; the TC3-HMAC-SHA256 signature is recomputed here from Tencent's
published algorithm, and Tencent's answers (sent, refused, an API error) are played back."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from shoploop.accounts import services
from shoploop.accounts.models import OneTimeCode
from shoploop.accounts.sms import SMSSendFailed, get_provider
from shoploop.accounts.sms_tencent import TencentSMSProvider
from shoploop.ledger.tests import fake_http

PHONE = "+8613912345678"
SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
API = "https://sms.tencentcloudapi.com/"


@pytest.fixture
def tencent(monkeypatch):
    http = fake_http.install(monkeypatch)
    with override_settings(
        SMS_PROVIDER="shoploop.accounts.sms_tencent.TencentSMSProvider",
        TENCENT_SMS_SECRET_ID=SECRET_ID,
        TENCENT_SMS_SECRET_KEY=SECRET_KEY,
        TENCENT_SMS_REGION="ap-guangzhou",
        TENCENT_SMS_SDK_APP_ID="1400006666",
        TENCENT_SMS_SIGN_NAME="小环社群",
        SMS_TEMPLATES={"sign_in_code": "449739"},
    ):
        yield http


def sent(code="Ok"):
    status = {"SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": PHONE, "Fee": 1}
    answer = {"SendStatusSet": [{**status, "Code": code, "Message": "", "IsoCode": "CN"}]}
    return lambda _request: (200, {"Response": {**answer, "RequestId": "a0aabda6"}}, {})


def tc3_signature(request, secret_key: str) -> str:
    """TC3-HMAC-SHA256 as Tencent Cloud documents it (signature v3)."""
    timestamp = request.headers["X-TC-Timestamp"]
    date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{request.headers['Content-Type']}\nhost:{request.headers['Host']}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(f"TC3{secret_key}".encode(), date), "sms"), "tc3_request")
    return hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_setting_selects_the_tencent_adapter(tencent):
    assert isinstance(get_provider(), TencentSMSProvider)


def test_a_sign_in_code_is_a_signed_send_sms_request(tencent, db):
    tencent.on("POST", API, sent())
    otp = services.send_code(phone=PHONE, ip="10.0.0.1")
    (request,) = tencent.sent
    assert request.url == API
    assert request.headers["Host"] == "sms.tencentcloudapi.com"
    assert request.headers["X-TC-Action"] == "SendSms"
    assert request.headers["X-TC-Version"] == "2021-01-11"
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    body = json.loads(request.body)
    assert body["PhoneNumberSet"] == [PHONE]
    assert body["SmsSdkAppId"] == "1400006666" and body["SignName"] == "小环社群"
    assert body["TemplateId"] == "449739"
    code, minutes = body["TemplateParamSet"]
    assert minutes == "5"
    assert otp.code_hash == services.hash_code(phone=PHONE, code=code)
    authorization = request.headers["Authorization"]
    assert authorization.startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    assert "SignedHeaders=content-type;host" in authorization
    assert authorization.endswith(f"Signature={tc3_signature(request, SECRET_KEY)}")
    assert tc3_signature(request, "another-secret") not in authorization


def test_a_refused_send_frees_the_allowance(tencent, db):
    tencent.on("POST", API, sent(code="LimitExceeded.PhoneNumberDailyLimit"))
    with pytest.raises(SMSSendFailed, match="PhoneNumberDailyLimit"):
        get_provider().send_code(phone=PHONE, code="123456")
    with pytest.raises(services.SMSUnavailable):
        services.send_code(phone=PHONE)
    assert not OneTimeCode.objects.exists()


def test_an_api_error_is_a_failed_send(tencent):
    error = {"Error": {"Code": "AuthFailure.SecretIdNotFound", "Message": "no such secret id"}}
    tencent.on("POST", API, lambda _r: (200, {"Response": {**error, "RequestId": "r1"}}, {}))
    with pytest.raises(SMSSendFailed, match=r"AuthFailure\.SecretIdNotFound"):
        get_provider().send_code(phone=PHONE, code="123456")


def test_a_kind_without_a_template_is_a_configuration_error(tencent, settings):
    settings.SMS_TEMPLATES = {}
    with pytest.raises(ImproperlyConfigured):
        get_provider().send_code(phone=PHONE, code="123456")
    assert tencent.sent == []
