"""The ledger's settings, with their defaults. Values come from shoploop/settings.py (which reads
the environment); nothing here reads the environment itself."""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings

CALLBACK_TOLERANCE_SECONDS = 300


def payment_provider_name() -> str:
    return getattr(settings, "PAYMENT_PROVIDER", "sandbox") or "sandbox"


def sandbox_pay_secret() -> bytes:
    configured = getattr(settings, "SANDBOX_PAY_SECRET", "")
    if configured:
        return configured.encode()
    # Derived, not equal, so the signing secret never reveals SECRET_KEY.
    return hmac.new(settings.SECRET_KEY.encode(), b"shoploop-sandbox-pay", hashlib.sha256).digest()


def alipay_settings() -> dict:
    return {
        "app_id": getattr(settings, "ALIPAY_APP_ID", ""),
        "private_key_path": getattr(settings, "ALIPAY_PRIVATE_KEY_PATH", ""),
        "public_key_path": getattr(settings, "ALIPAY_PUBLIC_KEY_PATH", ""),
        "sandbox": bool(getattr(settings, "ALIPAY_SANDBOX", False)),
        "notify_url": getattr(settings, "ALIPAY_NOTIFY_URL", ""),
        "return_url": getattr(settings, "ALIPAY_RETURN_URL", ""),
        "wap": bool(getattr(settings, "ALIPAY_WAP", False)),
    }


def wechat_settings() -> dict:
    return {
        "mchid": getattr(settings, "WECHAT_MCHID", ""),
        "appid": getattr(settings, "WECHAT_APPID", ""),
        "app_secret": getattr(settings, "WECHAT_APP_SECRET", ""),
        "private_key_path": getattr(settings, "WECHAT_PRIVATE_KEY_PATH", ""),
        "cert_serial_no": getattr(settings, "WECHAT_CERT_SERIAL_NO", ""),
        "apiv3_key": getattr(settings, "WECHAT_APIV3_KEY", ""),
        "platform_cert_dir": getattr(settings, "WECHAT_PLATFORM_CERT_DIR", ""),
        "public_key_path": getattr(settings, "WECHAT_PUBLIC_KEY_PATH", ""),
        "public_key_id": getattr(settings, "WECHAT_PUBLIC_KEY_ID", ""),
        "notify_url": getattr(settings, "WECHAT_NOTIFY_URL", ""),
    }


def payment_query_delay() -> timedelta:
    """How long a payment may wait for its notification before we ask the provider ourselves."""
    return timedelta(minutes=int(getattr(settings, "PAYMENT_QUERY_AFTER_MINUTES", 5)))
