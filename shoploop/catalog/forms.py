"""Page forms: they only parse what a person typed; the rules live in services."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import (
    MAX_PRODUCT_TAGS,
    MAX_STOCK,
    PRODUCT_DESCRIPTION_MAX_LENGTH,
    PRODUCT_TITLE_MAX_LENGTH,
    REJECTION_REASON_MAX_LENGTH,
    SHOP_CONTACT_MAX_LENGTH,
    SHOP_DESCRIPTION_MAX_LENGTH,
    SHOP_NAME_MAX_LENGTH,
    SHOP_RETURN_ADDRESS_MAX_LENGTH,
    SKU_MAX_OPTIONS,
    Product,
)
from shoploop.core.errors import ValidationFailed
from shoploop.core.money import parse_yuan


class ShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=SHOP_NAME_MAX_LENGTH)
    contact = forms.CharField(
        label=_("Contact (phone, WeChat…)"), max_length=SHOP_CONTACT_MAX_LENGTH
    )
    description = forms.CharField(
        label=_("About the shop"),
        max_length=SHOP_DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea,
    )


class ShopDetailsForm(ShopForm):
    """The console's form: also what buyers see as the shop's contact (blank shows nothing)."""

    public_contact = forms.CharField(
        label=_("Public contact (shown on the shop page; leave empty to show none)"),
        max_length=SHOP_CONTACT_MAX_LENGTH,
        required=False,
    )


class ReturnAddressForm(forms.Form):
    return_address = forms.CharField(
        label=_("Return address (name, phone, address) shown to buyers whose return you accept"),
        max_length=SHOP_RETURN_ADDRESS_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LogoForm(forms.Form):
    logo = forms.FileField(label=_("Logo (JPEG, PNG or WebP, at most 5 MB)"))


class ShopCommunitiesForm(forms.Form):
    communities = forms.ModelMultipleChoiceField(
        label=_("Offer my shop in"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        to_field_name="public_id",
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["communities"].queryset = choices


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=PRODUCT_TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description (Markdown)"),
        max_length=PRODUCT_DESCRIPTION_MAX_LENGTH,
        required=False,
        strip=False,
        widget=forms.Textarea,
    )
    category = forms.ChoiceField(label=_("Category"), choices=Product.Category.choices)
    tags = forms.CharField(
        label=format_lazy(_("Tags (at most {max}, separated by commas)"), max=MAX_PRODUCT_TAGS),
        required=False,
        max_length=400,
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Offer in communities"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        to_field_name="public_id",
    )

    def __init__(self, *args, community_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["communities"].queryset = community_choices


class ImageForm(forms.Form):
    image = forms.FileField(label=_("Image (JPEG, PNG or WebP, at most 5 MB)"))


def _fen_from_text(text: str, *, field: str) -> int:
    try:
        return parse_yuan(text, field=field)
    except ValidationFailed as error:
        raise forms.ValidationError(str(error.message)) from None


class SkuForm(forms.Form):
    """Options as "颜色=红, 尺码=L"; prices in yuan as people type them (parse_yuan)."""

    options = forms.CharField(
        label=_("Options (name=value, separated by commas)"), required=False, max_length=300
    )
    price = forms.CharField(label=_("Price (yuan)"), max_length=20)
    list_price = forms.CharField(
        label=_("List price (yuan, optional)"), max_length=20, required=False
    )
    stock = forms.IntegerField(
        label=_("Stock"), min_value=0, max_value=MAX_STOCK, initial=0, required=False
    )
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def clean_options(self) -> dict:
        text = self.cleaned_data["options"].replace("，", ",")
        options = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                name, sep, value = part.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise forms.ValidationError(_("Write each option as name=value."))
            options[name.strip()] = value.strip()
        if len(options) > SKU_MAX_OPTIONS:
            raise forms.ValidationError(_("At most %(max)d options.") % {"max": SKU_MAX_OPTIONS})
        return options

    def clean_price(self) -> int:
        return _fen_from_text(self.cleaned_data["price"], field="price")

    def clean_list_price(self) -> int | None:
        text = self.cleaned_data["list_price"].strip()
        return _fen_from_text(text, field="list_price") if text else None


class StockAdjustForm(forms.Form):
    delta = forms.IntegerField(
        label=_("Add (or remove with a minus sign)"), min_value=-MAX_STOCK, max_value=MAX_STOCK
    )


class RejectShopForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REJECTION_REASON_MAX_LENGTH)


def options_as_text(options: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in options.items())
