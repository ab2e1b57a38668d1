"""Carriers a shop ships with, stored on the order as a code, and their tracking-number formats.

Formats are checked where they are known; every other carrier takes 8–30 letters and digits.
Numbers are compared without spaces or dashes and in capitals, as the carriers print them.
"""

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed


class Carrier(models.TextChoices):
    SF = "sf", _("SF Express (顺丰)")
    ZTO = "zto", _("ZTO Express (中通)")
    YTO = "yto", _("YTO Express (圆通)")
    YUNDA = "yunda", _("Yunda Express (韵达)")
    STO = "sto", _("STO Express (申通)")
    EMS = "ems", _("China Post EMS")
    JD = "jd", _("JD Logistics (京东)")
    OTHER = "other", _("Other carrier")


_ANY = re.compile(r"^[0-9A-Z]{8,30}$")
FORMATS = {
    Carrier.SF: re.compile(r"^SF\d{12,13}$"),
    Carrier.ZTO: re.compile(r"^\d{12,15}$"),
    Carrier.YTO: re.compile(r"^YT\d{13}$"),
    Carrier.JD: re.compile(r"^JD[0-9A-Z]{13,15}$"),
    # A UPU item number (E + a letter, 9 digits, CN) or a 13-digit domestic number.
    Carrier.EMS: re.compile(r"^(E[A-Z]\d{9}CN|\d{13})$"),
}
EXAMPLES = {
    Carrier.SF: "SF1234567890123",
    Carrier.ZTO: "781234567890",
    Carrier.YTO: "YT1234567890123",
    Carrier.JD: "JDVA12345678901",
    Carrier.EMS: "EA123456789CN",
}
_SEPARATORS = re.compile(r"[\s\-]")


def label(code: str) -> str:
    """The carrier's name; an order shipped before carriers were codes shows its text."""
    try:
        return str(Carrier(code).label)
    except ValueError:
        return code


def clean_carrier(value) -> str:
    if not isinstance(value, str) or value not in Carrier.values:
        raise ValidationFailed(
            _("Choose a carrier from the list."),
            code="carrier_unknown",
            fields={"carrier": "unknown"},
        )
    return value


def clean_tracking_number(*, carrier: str, value) -> str:
    """The number in the carrier's format (spaces and dashes dropped, capitals), or an error
    that shows an example of the expected format."""
    number = _SEPARATORS.sub("", str(value or "")).upper() if isinstance(value, str) else ""
    if not (FORMATS.get(carrier, _ANY).match(number) and _ANY.match(number)):
        example = EXAMPLES.get(carrier)
        message = (
            _("This is not a %(carrier)s tracking number (for example %(example)s).")
            % {"carrier": label(carrier), "example": example}
            if example
            else _("A tracking number is 8 to 30 letters and digits.")
        )
        raise ValidationFailed(
            message, code="tracking_number_invalid", fields={"tracking_number": "format"}
        )
    return number
