"""Core tables: the shared idempotency record (see ``shoploop.core.idempotency``) and the
event outbox (see ``shoploop.core.outbox``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock

IDEMPOTENCY_SCOPE_MAX_LENGTH = 80
IDEMPOTENCY_KEY_MAX_LENGTH = 200


class IdempotencyRecord(models.Model):
    """What the first request with a (scope, key) did: its body's fingerprint and its answer.

    Written in the same transaction as the request's effect, so a record exists exactly when the
    effect does; the unique index makes a concurrent duplicate wait for the first to finish."""

    scope = models.CharField(_("scope"), max_length=IDEMPOTENCY_SCOPE_MAX_LENGTH)
    key = models.CharField(_("key"), max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), default=0)
    response_body = models.JSONField(_("response body"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change that caused it.

    ``id`` is monotonic, so a consumer can replay "every event since id N". An event is pending
    until each of its subscribers has handled it or been parked for it; the delivery worker claims
    pending events in batches (``SKIP LOCKED``) with a short lease (``claimed_until``)."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    aggregate = models.CharField(_("aggregate"), max_length=160, blank=True, default="")
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    next_attempt_at = models.DateTimeField(_("next delivery attempt"))
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="core_outbox_pending",
                condition=models.Q(delivered_at__isnull=True),
            ),
            models.Index(
                fields=["aggregate", "id"],
                name="core_outbox_pending_aggregate",
                condition=models.Q(delivered_at__isnull=True),
            ),
            models.Index(fields=["name", "id"], name="core_outbox_name"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"


class OutboxHandled(models.Model):
    """Subscriber ``subscriber`` has handled ``event``: written in the same transaction as the
    subscriber's own changes: the unique pair makes it act once however often delivery repeats."""

    subscriber = models.CharField(_("subscriber"), max_length=200)
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="handled", verbose_name=_("event")
    )
    handled_at = models.DateTimeField(_("handled at"))

    class Meta:
        verbose_name = _("handled event")
        verbose_name_plural = _("handled events")
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "event"], name="core_outbox_handled_once")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} handled #{self.event_id}"


class OutboxFailure(models.Model):
    """A subscriber that failed on an event: retried with backoff, parked after too many attempts
    (then visible to operators until one retries it)."""

    subscriber = models.CharField(_("subscriber"), max_length=200)
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="failures", verbose_name=_("event")
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    failed_at = models.DateTimeField(_("failed at"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    parked_at = models.DateTimeField(_("parked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscriber failure")
        verbose_name_plural = _("subscriber failures")
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "event"], name="core_outbox_failure_once")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} failed on #{self.event_id}"
