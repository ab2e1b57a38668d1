from django import forms
from django.utils.translation import gettext_lazy as _

from shoploop.chat.models import REPORT_REASON_MAX_LENGTH, TEXT_MAX_LENGTH


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
    )
    image = forms.FileField(label=_("Picture"), required=False)


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with it?"), required=False, max_length=REPORT_REASON_MAX_LENGTH
    )
