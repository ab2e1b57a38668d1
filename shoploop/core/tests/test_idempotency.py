"""run_idempotent: one effect per (scope, key); same body → same answer; other body → 409."""

import pytest
from django.contrib.auth import get_user_model

from shoploop.core.errors import DomainError, ValidationFailed
from shoploop.core.idempotency import (
    IdempotencyKeyReused,
    fingerprint_of,
    run_idempotent,
)
from shoploop.core.models import IdempotencyRecord
from shoploop.core.testing import race

pytestmark = pytest.mark.django_db


def _creating(counter: list, phone: str):
    """A compute whose effect is visible: it creates a user (and counts its calls)."""

    def compute():
        counter.append(1)
        user = get_user_model().objects.create_user(phone)
        return 201, {"user_id": user.public_id}

    return compute


def test_fingerprint_ignores_key_order_and_spacing():
    assert fingerprint_of({"a": 1, "b": [1, 2]}) == fingerprint_of({"b": [1, 2], "a": 1})
    assert fingerprint_of({"a": 1}) != fingerprint_of({"a": 2})
    assert len(fingerprint_of({})) == 64


def test_first_call_computes_and_stores_the_answer():
    calls = []
    result = run_idempotent(
        scope="test", key="k1", fingerprint="f", compute=_creating(calls, "+8613900000001")
    )
    assert result.status == 201 and not result.replayed
    record = IdempotencyRecord.objects.get(scope="test", key="k1")
    assert record.response_body == result.body and record.response_status == 201


def test_retry_with_same_fingerprint_returns_the_stored_answer_without_computing():
    calls = []
    first = run_idempotent(
        scope="test", key="k1", fingerprint="f", compute=_creating(calls, "+8613900000002")
    )
    again = run_idempotent(
        scope="test", key="k1", fingerprint="f", compute=_creating(calls, "+8613900000003")
    )
    assert again.replayed and again.body == first.body and again.status == 201
    assert len(calls) == 1
    assert get_user_model().objects.count() == 1


def test_same_key_with_another_body_is_a_409_and_changes_nothing():
    calls = []
    run_idempotent(
        scope="test", key="k1", fingerprint="f", compute=_creating(calls, "+8613900000004")
    )
    with pytest.raises(IdempotencyKeyReused) as caught:
        run_idempotent(
            scope="test", key="k1", fingerprint="other", compute=_creating(calls, "+8613900000005")
        )
    assert caught.value.code == "idempotency_key_reused" and caught.value.status == 409
    assert len(calls) == 1 and get_user_model().objects.count() == 1


def test_scopes_keep_keys_apart():
    calls = []
    run_idempotent(scope="a", key="k", fingerprint="f", compute=_creating(calls, "+8613900000006"))
    run_idempotent(scope="b", key="k", fingerprint="g", compute=_creating(calls, "+8613900000007"))
    assert len(calls) == 2


def test_a_failing_compute_keeps_no_record_so_a_retry_runs_again():
    def failing():
        get_user_model().objects.create_user("+8613900000008")
        raise DomainError(code="boom")

    with pytest.raises(DomainError):
        run_idempotent(scope="test", key="k1", fingerprint="f", compute=failing)
    assert not IdempotencyRecord.objects.exists()
    assert not get_user_model().objects.exists()
    calls = []
    result = run_idempotent(
        scope="test", key="k1", fingerprint="f", compute=_creating(calls, "+8613900000009")
    )
    assert not result.replayed and len(calls) == 1


@pytest.mark.parametrize("key", ["", "   ", None, 12, "x" * 201, "bad\nkey"])
def test_bad_keys_are_refused(key):
    with pytest.raises(ValidationFailed):
        run_idempotent(scope="test", key=key, fingerprint="f", compute=lambda: (200, {}))
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_wait_and_return_the_first_answer():
    calls = []

    def attempt(index):
        return run_idempotent(
            scope="race",
            key="same",
            fingerprint="f",
            compute=_creating(calls, f"+86139100000{index:02d}"),
        ).body

    outcomes = race(attempt, 10)
    assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
    assert len({outcome["user_id"] for outcome in outcomes}) == 1
    assert get_user_model().objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
