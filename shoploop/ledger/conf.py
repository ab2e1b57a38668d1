"""The ledger's settings, with their defaults. Values come from shoploop/settings.py (which reads
the environment); nothing here reads the environment itself."""

import hashlib
import hmac

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
