"""Tencent Cloud SMS (``SendSms``, API 2021-01-11) through tencentcloud-sdk-python-sms.

Select it with ``SHOPLOOP_SMS_PROVIDER=shoploop.accounts.sms_tencent.TencentSMSProvider``. The SDK
signs each request with TC3-HMAC-SHA256 (secret id and key) and posts it to
``sms.tencentcloudapi.com``; Tencent answers one status per number, and anything but ``Ok`` is a
failed send (the caller then frees the person's hourly allowance and shows "try again").
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from shoploop.accounts.sms import SMSSendFailed, TemplateSMSProvider

ENDPOINT = "sms.tencentcloudapi.com"
REQUEST_TIMEOUT_SECONDS = 10
OK = "Ok"


def _setting(name: str) -> str:
    value = getattr(settings, name, "")
    if not value:
        raise ImproperlyConfigured(f"Set SHOPLOOP_{name} to send SMS through Tencent Cloud.")
    return value


class TencentSMSProvider(TemplateSMSProvider):
    def client(self) -> sms_client.SmsClient:
        http = HttpProfile(endpoint=ENDPOINT, reqTimeout=REQUEST_TIMEOUT_SECONDS)
        return sms_client.SmsClient(
            credential.Credential(
                _setting("TENCENT_SMS_SECRET_ID"), _setting("TENCENT_SMS_SECRET_KEY")
            ),
            getattr(settings, "TENCENT_SMS_REGION", "") or "ap-guangzhou",
            ClientProfile(httpProfile=http),
        )

    def request_for(self, *, phone: str, kind: str, params: list[str]) -> models.SendSmsRequest:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [phone]  # E.164, as phones are stored: +8613800000000
        request.SmsSdkAppId = _setting("TENCENT_SMS_SDK_APP_ID")
        request.SignName = _setting("TENCENT_SMS_SIGN_NAME")
        request.TemplateId = self.template_for(kind)
        request.TemplateParamSet = [str(param) for param in params]
        return request

    def send_template(self, *, phone: str, kind: str, params: list[str]) -> None:
        request = self.request_for(phone=phone, kind=kind, params=params)
        try:
            response = self.client().SendSms(request)
        except TencentCloudSDKException as error:
            raise SMSSendFailed(f"tencent sms: {error.get_code()}") from error
        statuses = response.SendStatusSet or []
        if not statuses or statuses[0].Code != OK:
            code = statuses[0].Code if statuses else "no_status"
            raise SMSSendFailed(f"tencent sms refused: {code}")
