"""What kind of deployment this is: development (DEBUG), staging, or production.

The sandbox cashier lets buyers approve their own payments and the console SMS provider shows
sign-in codes in the log: both are for development and staging only.
"""

from django.conf import settings

SANDBOX_PAYMENT_PROVIDER = "sandbox"
CONSOLE_SMS_PROVIDER = "shoploop.accounts.sms.ConsoleSMSProvider"


def is_production() -> bool:
    return not (settings.DEBUG or getattr(settings, "STAGING", False))


def sandbox_allowed() -> bool:
    """The sandbox cashier and its webhook answer only in development and staging."""
    return not is_production()
