"""Notifications: one row per (recipient, event) with the kind and its parameters; the text is
rendered when it is read, in the reader's language (``kinds.py``)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField


class Notification(models.Model):
    class Sms(models.TextChoices):
        NONE = "", _("Not sent by SMS")
        QUEUED = "queued", _("SMS queued")
        SENT = "sent", _("SMS sent")
        FAILED = "failed", _("SMS failed")
        CAPPED = "capped", _("SMS over the daily limit")

    public_id = PublicIdField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # The identity of the event for this recipient: a repeated delivery hits the unique key.
    key = models.CharField(max_length=200, editable=False)
    # False when the person turned the in-app channel off for this kind but wants the SMS.
    in_app = models.BooleanField(_("shown in the inbox"), default=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    sms = models.CharField(_("SMS"), max_length=10, choices=Sms.choices, blank=True, default="")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="one_notification_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notif_inbox"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, in_app=True),
                name="notif_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class Preference(models.Model):
    """One person's choice for one kind; no row means the kind's defaults (``kinds.py``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    in_app = models.BooleanField(_("in the app"), default=True)
    sms = models.BooleanField(_("by SMS"), default=False)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}"


class Activity(models.Model):
    """When a person was last seen (a page, an API call, a live connection); written at most about
    once a minute per person. "Away" is no activity for ``NOTIFY_AWAY_MINUTES``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("user"),
    )
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.last_seen_at:%Y-%m-%d %H:%M}"


class SmsAllowance(models.Model):
    """Notification SMS sent to one person on one (local) day; raised by one conditional UPDATE
    below the cap, so parallel notifications cannot send more than the cap."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    day = models.DateField(_("day"))
    sent = models.PositiveSmallIntegerField(_("sent"), default=0)

    class Meta:
        verbose_name = _("SMS allowance")
        verbose_name_plural = _("SMS allowances")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_sms_allowance_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.sent}"
