"""Page forms parse input only; the services decide what is valid."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shoploop.communities.models import Community


class CommunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), strip=True)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    tags = forms.CharField(
        label=_("Interest tags"),
        help_text=_("1 to 8 tags, separated by commas or spaces, e.g. hiking, coffee"),
    )
    visibility = forms.ChoiceField(
        label=_("Who can join"),
        choices=Community.Visibility.choices,
        initial=Community.Visibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    cover = forms.FileField(
        label=_("Cover image"),
        required=False,
        help_text=_("JPEG, PNG or WebP, at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


class InviteForm(forms.Form):
    expires_in_hours = forms.TypedChoiceField(
        label=_("Expires after"),
        coerce=int,
        choices=[(24, _("1 day")), (72, _("3 days")), (168, _("7 days")), (720, _("30 days"))],
        initial=168,
    )
    max_uses = forms.IntegerField(label=_("Maximum uses"), required=False)


def add_domain_error(form: forms.Form, error) -> None:
    """Show a DomainError on the form: by field where it names one, otherwise on the form."""
    placed = False
    for field, message in (error.fields or {}).items():
        if field in form.fields:
            form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(error.message))
