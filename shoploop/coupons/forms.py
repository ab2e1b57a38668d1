"""Page forms: they only parse what a person typed; the rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed
from shoploop.core.money import parse_yuan
from shoploop.coupons.models import (
    COUPON_NAME_MAX_LENGTH,
    MAX_PER_USER_LIMIT,
    MAX_PERCENT_OFF,
    MAX_TOTAL_QUANTITY,
    MIN_PERCENT_OFF,
    Coupon,
)

_DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _fen_from_text(text: str, *, field: str, allow_zero: bool = False) -> int:
    try:
        return parse_yuan(text, field=field, allow_zero=allow_zero)
    except ValidationFailed as error:
        raise forms.ValidationError(str(error.message)) from None


class CouponForm(forms.Form):
    """Amounts in yuan as people type them; times in the site's time zone (made aware by Django)."""

    name = forms.CharField(label=_("Name"), max_length=COUPON_NAME_MAX_LENGTH)
    kind = forms.ChoiceField(label=_("Kind"), choices=Coupon.Kind.choices)
    amount_off = forms.CharField(
        label=_("Amount off in yuan (fixed coupons)"), required=False, max_length=20
    )
    percent_off = forms.IntegerField(
        label=_("Percent off (percentage coupons)"),
        required=False,
        min_value=MIN_PERCENT_OFF,
        max_value=MAX_PERCENT_OFF,
    )
    max_discount = forms.CharField(
        label=_("Most one order saves, in yuan (percentage coupons)"),
        required=False,
        max_length=20,
    )
    min_spend = forms.CharField(
        label=_("Minimum spend in yuan"), required=False, max_length=20, initial="0"
    )
    starts_at = forms.DateTimeField(label=_("Valid from"), widget=_DATETIME_WIDGET)
    ends_at = forms.DateTimeField(label=_("Valid until"), widget=_DATETIME_WIDGET)
    total_quantity = forms.IntegerField(
        label=_("How many can be claimed"), min_value=1, max_value=MAX_TOTAL_QUANTITY
    )
    per_user_limit = forms.IntegerField(
        label=_("Per person"), min_value=1, max_value=MAX_PER_USER_LIMIT, initial=1
    )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Coupon.Kind.FIXED:
            self._require_amount(data, "amount_off")
        elif kind == Coupon.Kind.PERCENT:
            if data.get("percent_off") is None:
                self.add_error("percent_off", _("Enter the percent off."))
            self._require_amount(data, "max_discount")
        text = (data.get("min_spend") or "").strip() or "0"
        try:
            data["min_spend"] = _fen_from_text(text, field="min_spend", allow_zero=True)
        except forms.ValidationError as error:
            self.add_error("min_spend", error)
        return data

    def _require_amount(self, data: dict, field: str) -> None:
        text = (data.get(field) or "").strip()
        if not text:
            self.add_error(field, _("Enter an amount in yuan."))
            return
        try:
            data[field] = _fen_from_text(text, field=field)
        except forms.ValidationError as error:
            self.add_error(field, error)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        percent = data["kind"] == Coupon.Kind.PERCENT
        return {
            "name": data["name"],
            "kind": data["kind"],
            "amount_off_fen": None if percent else data["amount_off"],
            "percent_off": data["percent_off"] if percent else None,
            "max_discount_fen": data["max_discount"] if percent else None,
            "min_spend_fen": data["min_spend"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "total_quantity": data["total_quantity"],
            "per_user_limit": data["per_user_limit"],
        }
