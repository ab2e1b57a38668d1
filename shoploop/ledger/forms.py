from django import forms
from django.utils.translation import gettext_lazy as _


class WithdrawalForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "100.00"}),
    )
    account_holder = forms.CharField(label=_("Account holder"), max_length=60)
    account_number = forms.CharField(
        label=_("Bank account number"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    # A one-time token: a double click submits the same key and pays out once.
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=200)
