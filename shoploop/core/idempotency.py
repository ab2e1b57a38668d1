"""Idempotent requests: (scope, key) → the first request's fingerprint and stored response.

``run_idempotent`` claims the key by inserting its record, runs ``compute`` and stores the answer,
all in ONE transaction: if ``compute`` fails nothing is kept and a retry runs afresh; if it commits,
the record and the effect exist together. A retry with the same fingerprint gets the stored answer;
a retry with another fingerprint is a 409 ``idempotency_key_reused``. A concurrent duplicate
blocks on the unique index until the first commits, then reads and returns the first answer.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import Conflict, ValidationFailed
from shoploop.core.models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_SCOPE_MAX_LENGTH,
    IdempotencyRecord,
)


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = _("This idempotency key was already used for a different request.")


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: Any
    replayed: bool


def fingerprint_of(body: Any) -> str:
    """sha256 of the canonical JSON of a request body (key order and spacing do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def clean_key(key) -> str:
    """A client-chosen key: printable text of 1..200 characters."""
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(_("The idempotency key is missing."), code="idempotency_key_missing")
    key = key.strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationFailed(
            _("The idempotency key must be printable text of at most %(max)d characters.")
            % {"max": IDEMPOTENCY_KEY_MAX_LENGTH},
            code="idempotency_key_invalid",
        )
    return key


def run_idempotent(
    *, scope: str, key: str, fingerprint: str, compute: Callable[[], tuple[int, Any]]
) -> IdempotentResult:
    """Run ``compute() -> (status, json_body)`` at most once per (scope, key)."""
    key = clean_key(key)
    if not scope or len(scope) > IDEMPOTENCY_SCOPE_MAX_LENGTH:
        raise ValueError("an idempotency scope is 1..80 characters")
    with transaction.atomic():
        stored = _stored_result(scope=scope, key=key, fingerprint=fingerprint)
        if stored is not None:
            return stored
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            # A concurrent duplicate committed first (we waited on the unique index): answer as
            # its retry would.
            stored = _stored_result(scope=scope, key=key, fingerprint=fingerprint)
            if stored is None:
                raise
            return stored
        status, body = compute()
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=status, response_body=body
        )
    return IdempotentResult(status=status, body=body, replayed=False)


def _stored_result(*, scope: str, key: str, fingerprint: str) -> IdempotentResult | None:
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return IdempotentResult(status=record.response_status, body=record.response_body, replayed=True)
