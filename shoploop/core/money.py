"""Money is an integer count of fen (minor units) in the deployment's one currency.

There is one formatter and one parser; nothing else turns money into text or text into money.
"""

import re

from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed

FEN_PER_YUAN = 100
CURRENCY_SYMBOL = "¥"
# A price above a hundred million yuan is a typo, not a product.
MAX_PRICE_FEN = 100_000_000 * FEN_PER_YUAN

_YUAN_PATTERN = re.compile(r"^(?P<whole>\d{1,12})(?:\.(?P<frac>\d{1,2}))?$")


def format_fen(amount: int, *, symbol: bool = True) -> str:
    """``1230`` → ``¥12.30``; negative amounts keep their sign in front of the symbol."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"money must be an int count of fen, got {type(amount).__name__}")
    sign = "-" if amount < 0 else ""
    yuan, fen = divmod(abs(amount), FEN_PER_YUAN)
    prefix = CURRENCY_SYMBOL if symbol else ""
    return f"{sign}{prefix}{yuan:,}.{fen:02d}"


def parse_yuan(text: str, *, field: str = "price", allow_zero: bool = False) -> int:
    """Parse what a person typed (``12``, ``12.3``, ``¥12.30``, ``1,299.00``) into fen.

    Raises ``ValidationFailed`` with a message a person can act on; never rounds silently.
    """
    cleaned = str(text).strip().replace(",", "").replace("，", "")
    cleaned = cleaned.removeprefix(CURRENCY_SYMBOL).removeprefix("￥").strip()
    if cleaned.startswith("-"):
        raise ValidationFailed(_("The amount cannot be negative."), fields={field: "negative"})
    match = _YUAN_PATTERN.match(cleaned)
    if not match:
        raise ValidationFailed(
            _("Enter a valid amount such as 12 or 12.30 (at most two decimals)."),
            fields={field: "invalid"},
        )
    frac = (match["frac"] or "").ljust(2, "0")
    amount = int(match["whole"]) * FEN_PER_YUAN + int(frac or 0)
    return validate_fen(amount, field=field, allow_zero=allow_zero)


def validate_fen(amount: int, *, field: str = "price", allow_zero: bool = False) -> int:
    """Check an integer amount of fen coming from an API or another service."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValidationFailed(
            _("The amount must be a whole number of fen."), fields={field: "not_integer"}
        )
    if amount < 0:
        raise ValidationFailed(_("The amount cannot be negative."), fields={field: "negative"})
    if amount == 0 and not allow_zero:
        raise ValidationFailed(_("The amount must be greater than zero."), fields={field: "zero"})
    if amount > MAX_PRICE_FEN:
        raise ValidationFailed(_("The amount is too large."), fields={field: "too_large"})
    return amount
