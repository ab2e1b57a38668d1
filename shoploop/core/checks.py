"""System checks that stop a production deployment from starting with development stand-ins."""

from django.conf import settings
from django.core.checks import Error, register

from shoploop.core.deployment import (
    CONSOLE_SMS_PROVIDER,
    SANDBOX_PAYMENT_PROVIDER,
    is_production,
)

STAGING_HINT = (
    "Configure a real provider, or set SHOPLOOP_STAGING=1 if this deployment is a staging one."
)


@register(deploy=False)
def development_providers_in_production(app_configs=None, **kwargs):
    if not is_production():
        return []
    errors = []
    if (getattr(settings, "PAYMENT_PROVIDER", "") or "sandbox") == SANDBOX_PAYMENT_PROVIDER:
        errors.append(
            Error(
                "DEBUG is off but payments use the sandbox cashier, where buyers approve their "
                "own payments (SHOPLOOP_PAYMENT_PROVIDER=sandbox).",
                hint=STAGING_HINT,
                id="shoploop.E001",
            )
        )
    if settings.SMS_PROVIDER == CONSOLE_SMS_PROVIDER:
        errors.append(
            Error(
                "DEBUG is off but sign-in codes go to the console SMS provider, which only logs "
                "them (SHOPLOOP_SMS_PROVIDER).",
                hint=STAGING_HINT,
                id="shoploop.E002",
            )
        )
    return errors


def refuse_to_start_if_unsafe() -> None:
    """For servers started without manage.py (uvicorn shoploop.asgi:application): the same
    errors stop the process instead of serving."""
    from django.core.exceptions import ImproperlyConfigured

    errors = development_providers_in_production()
    if errors:
        raise ImproperlyConfigured("\n".join(f"{e.id}: {e.msg} {e.hint}" for e in errors))
