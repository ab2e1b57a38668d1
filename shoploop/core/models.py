"""Core tables: the shared idempotency record (see ``shoploop.core.idempotency``)."""

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
