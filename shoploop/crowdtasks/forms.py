"""Page forms: they only parse what a person typed; the rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import ValidationFailed
from shoploop.core.money import parse_yuan
from shoploop.crowdtasks.models import (
    BRIEF_MAX_LENGTH,
    ENTRY_MAX_LENGTH,
    MAX_WINNERS,
    TITLE_MAX_LENGTH,
    Task,
)

_DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the task asks"), choices=Task.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    brief = forms.CharField(
        label=_("Brief"), max_length=BRIEF_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    deadline = forms.DateTimeField(label=_("Deadline"), widget=_DATETIME_WIDGET)
    winners_count = forms.IntegerField(
        label=_("Number of winners"), min_value=1, max_value=MAX_WINNERS, initial=1
    )
    audience = forms.ChoiceField(label=_("Open to"), choices=Task.Audience.choices)
    reward_kind = forms.ChoiceField(label=_("Reward"), choices=Task.RewardKind.choices)
    reward = forms.CharField(
        label=_("Money per winner in yuan (money rewards)"), required=False, max_length=20
    )
    coupon = forms.ChoiceField(label=_("Coupon (coupon rewards)"), required=False, choices=())

    def __init__(self, *args, coupons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coupon"].choices = [("", "—")] + [(c.public_id, c.name) for c in coupons]

    def clean(self):
        data = super().clean()
        if data.get("reward_kind") == Task.RewardKind.MONEY:
            try:
                data["reward_fen"] = parse_yuan(data.get("reward") or "", field="reward")
            except ValidationFailed as error:
                self.add_error("reward", str(error.message))
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "title": data["title"],
            "brief": data["brief"],
            "deadline": data["deadline"],
            "winners_count": data["winners_count"],
            "audience": data["audience"],
            "reward_kind": data["reward_kind"],
            "reward_fen": data.get("reward_fen"),
            "coupon_public_id": data.get("coupon") or None,
        }


class EntryForm(forms.Form):
    text = forms.CharField(
        label=_("Your entry"),
        max_length=ENTRY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # A plain file field: the service opens it with Pillow and refuses what is not an image.
    photo = forms.FileField(label=_("Photo (optional)"), required=False)
