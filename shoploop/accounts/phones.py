"""Phone numbers: what people type becomes E.164 (+8613812345678), or a clear error.

Supported regions: mainland China (+86) only, for now. Codes go out through a mainland SMS
provider, ``User.masked_phone`` and real-name rules assume +86 numbers, and the product launches
there; other regions are refused with a message that says so rather than "invalid".
"""

import re

import phonenumbers
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed

DEFAULT_REGION = "CN"
SUPPORTED_REGIONS = frozenset({"CN"})
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Digits and the usual separators only: phonenumbers would otherwise read letters as keypad digits.
_PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().\-]{5,30}$")


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        _("Enter a valid mobile number, such as 138 1234 5678."),
        code="phone_invalid",
        fields={"phone": _("Not a valid mobile number.")},
    )


def normalize_phone(raw) -> str:
    """Parse a typed number into E.164, refusing malformed, foreign and non-mobile numbers."""
    text = str(raw or "").strip()
    if not text:
        raise ValidationFailed(
            _("Enter your mobile number."), code="phone_required", fields={"phone": _("Required.")}
        )
    if not _PHONE_CHARACTERS.match(text):
        raise _invalid()
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _invalid() from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise _invalid()
    if phonenumbers.region_code_for_number(number) not in SUPPORTED_REGIONS:
        raise ValidationFailed(
            _("Only mainland China (+86) mobile numbers are supported for now."),
            code="phone_region_unsupported",
            fields={"phone": _("Region not supported.")},
        )
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValidationFailed(
            _("Enter a mobile number: landlines and service numbers cannot receive codes."),
            code="phone_not_mobile",
            fields={"phone": _("Not a mobile number.")},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
