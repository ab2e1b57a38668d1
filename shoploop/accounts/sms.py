"""Sending SMS through a provider chosen by ``settings.SMS_PROVIDER`` (a dotted path to a class).

A real provider subclasses ``SMSProvider`` and implements ``send``. The console provider logs the
message (a developer reads the code in the server log) and keeps the last code per number in the
cache for ``latest_debug_code``, which the sign-in page shows only when DEBUG is on.

Chinese SMS services send only approved templates under an approved sign name, so real adapters
subclass ``TemplateSMSProvider``: each message kind (``SIGN_IN_CODE`` now; notification kinds
later) names its template in ``settings.SMS_TEMPLATES`` and passes its parameters in order. The
Tencent Cloud adapter is ``shoploop.accounts.sms_tencent.TencentSMSProvider``.
"""

import logging
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

DEBUG_CODE_TTL_SECONDS = 10 * 60
SIGN_IN_CODE = "sign_in_code"  # template parameters: {1} the code, {2} minutes it stays valid


class SMSSendFailed(Exception):
    """The provider could not deliver the message."""


def code_text(*, code: str) -> str:
    """The SMS body, in the active language: ``send_code`` runs under the recipient's language
    (``translation.override`` in ``services.send_code``)."""
    return gettext(
        "[Shoploop] Your sign-in code is %(code)s. It is valid for 5 minutes. "
        "Do not share it with anyone."
    ) % {"code": code}


class SMSProvider:
    """``send_code`` is called with the recipient's language active (a template provider can pick
    its template by ``translation.get_language()``)."""

    def send_code(self, *, phone: str, code: str) -> None:
        self.send(phone=phone, text=code_text(code=code))

    def send(self, *, phone: str, text: str) -> None:
        raise NotImplementedError


class TemplateSMSProvider(SMSProvider):
    """A provider that sends approved templates: one per message kind (``SMS_TEMPLATES``)."""

    def send_code(self, *, phone: str, code: str) -> None:
        from shoploop.accounts.services import CODE_LIFETIME

        minutes = str(int(CODE_LIFETIME.total_seconds() // 60))
        self.send_template(phone=phone, kind=SIGN_IN_CODE, params=[code, minutes])

    def send(self, *, phone: str, text: str) -> None:
        raise ImproperlyConfigured("This SMS provider sends approved templates only.")

    def send_template(self, *, phone: str, kind: str, params: list[str]) -> None:
        raise NotImplementedError

    @staticmethod
    def template_for(kind: str) -> str:
        template = (getattr(settings, "SMS_TEMPLATES", {}) or {}).get(kind, "")
        if not template:
            raise ImproperlyConfigured(f"No SMS template for {kind!r}: set it in SMS_TEMPLATES.")
        return template


def _debug_code_key(phone: str) -> str:
    return f"accounts:debug-code:{phone}"


class ConsoleSMSProvider(SMSProvider):
    """For development and tests: nothing leaves the machine."""

    def send_code(self, *, phone: str, code: str) -> None:
        # The cache (Redis when scaled out) makes the code readable by the next request, which may
        # be served by another process.
        cache.set(_debug_code_key(phone), code, DEBUG_CODE_TTL_SECONDS)
        super().send_code(phone=phone, code=code)

    def send(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s : %s", phone, text)


def latest_debug_code(phone: str) -> str | None:
    """The last code the console provider sent to ``phone`` (None when there is none)."""
    return cache.get(_debug_code_key(phone))


@lru_cache(maxsize=4)
def _provider_class(path: str) -> type[SMSProvider]:
    return import_string(path)


def get_provider() -> SMSProvider:
    return _provider_class(settings.SMS_PROVIDER)()
