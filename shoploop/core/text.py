"""Cleaning text that people type, one way for every service."""

from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed


def clean_text(value, *, field: str, max_length: int, required: bool = False) -> str:
    """Trimmed text within limits. The content itself is stored as given (escaped on output)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("This must be text."), fields={field: "not_text"})
    value = value.strip()
    if "\x00" in value:
        raise ValidationFailed(
            _("This text contains invalid characters."), fields={field: "invalid"}
        )
    if required and not value:
        raise ValidationFailed(_("This field is required."), fields={field: "required"})
    if len(value) > max_length:
        raise ValidationFailed(
            _("This text is too long (at most %(max)d characters).") % {"max": max_length},
            fields={field: "too_long"},
        )
    return value
