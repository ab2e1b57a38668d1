from datetime import UTC, datetime

import pytest

from shoploop.core import clock
from shoploop.core.deadlines import register_deadline_handler, registered_handlers, settle_due
from shoploop.core.errors import Conflict, DomainError, NotFound
from shoploop.core.events import DomainEvent, publish, recorded_events, subscribe
from shoploop.core.ids import PUBLIC_ID_LENGTH, new_public_id


def test_public_ids_are_random_url_safe_and_unique():
    ids = {new_public_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == PUBLIC_ID_LENGTH and i.isalnum() for i in ids)


def test_domain_error_carries_a_stable_code_and_fields():
    err = Conflict("taken", code="already_member", fields={"community": "member"})
    assert err.as_dict() == {
        "code": "already_member",
        "message": "taken",
        "fields": {"community": "member"},
    }
    assert err.status == 409
    assert NotFound().as_dict()["code"] == "not_found"
    assert isinstance(err, DomainError)


@pytest.mark.django_db
def test_events_are_delivered_after_commit_only(django_capture_on_commit_callbacks):
    seen: list[DomainEvent] = []
    subscribe("test.happened", key="test.seen")(seen.append)
    with recorded_events() as recorded, django_capture_on_commit_callbacks(execute=False) as cbs:
        publish("test.happened", value=1)
    assert [e.name for e in recorded] == ["test.happened"]
    assert seen == []  # not committed yet
    for callback in cbs:
        callback()
    assert [e.payload for e in seen] == [{"value": 1}]


@pytest.mark.django_db
def test_a_failing_subscriber_does_not_stop_the_others(django_capture_on_commit_callbacks):
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    subscribe("test.fragile")(broken)
    subscribe("test.fragile", key="test.seen")(seen.append)
    with django_capture_on_commit_callbacks(execute=True):
        publish("test.fragile")
    assert len(seen) == 1


def test_settle_due_runs_every_handler_and_isolates_failures():
    calls = []

    @register_deadline_handler("test.ok")
    def ok(now):
        calls.append(now)
        return 3

    @register_deadline_handler("test.broken")
    def broken(now):
        raise RuntimeError("boom")

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        result = settle_due(moment)
    finally:
        from shoploop.core import deadlines

        deadlines._handlers.pop("test.ok")
        deadlines._handlers.pop("test.broken")
    assert result["test.ok"] == 3
    assert result["test.broken"] == -1
    assert calls == [moment]
    assert "test.ok" not in registered_handlers()


def test_frozen_clock():
    moment = datetime(2026, 5, 1, tzinfo=UTC)
    with clock.frozen_at(moment):
        assert clock.now() == moment
    assert clock.now() != moment
