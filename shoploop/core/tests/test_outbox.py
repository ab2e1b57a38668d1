"""The outbox: events written with the change, delivered once per subscriber whatever happens."""

import signal
import sys
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from shoploop.core import clock, outbox
from shoploop.core.events import DomainEvent, publish, publish_many, subscribe, unsubscribe
from shoploop.core.models import IdempotencyRecord, OutboxEvent, OutboxFailure, OutboxHandled
from shoploop.core.tests import outbox_subscribers as subs
from shoploop.tests.processes import child_env, current_database_url, running

LATER = timedelta(minutes=1)  # past the fast path's grace period


def _due_now(count: int, name: str = subs.EVENT) -> list[int]:
    """``count`` pending events as a crashed publisher leaves them (no on-commit delivery ran)."""
    now = clock.now()
    rows = OutboxEvent.objects.bulk_create(
        OutboxEvent(name=name, payload={"n": i}, occurred_at=now, next_attempt_at=now)
        for i in range(count)
    )
    return [r.pk for r in rows]


@pytest.mark.django_db
def test_publish_writes_the_event_in_the_changes_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(subs.EVENT, n=1)
        raise RuntimeError("the change is rolled back")
    assert not OutboxEvent.objects.exists()

    event = publish("test.outbox.nobody_listens", order_public_id="o1")  # outside a transaction
    row = OutboxEvent.objects.get(pk=event.id)
    assert row.name == "test.outbox.nobody_listens"
    assert row.payload == {"order_public_id": "o1"}
    assert row.delivered_at is not None  # nobody to deliver to


@pytest.mark.django_db
def test_ids_are_monotonic_and_the_aggregate_comes_from_the_public_id():
    a = publish("deals.group.joined", group_public_id="G1", member_public_id="U1")
    b = publish("deals.group.failed", group_public_id="G1")
    c = publish("test.outbox.nobody_listens", aggregate="custom:1")
    assert a.id < b.id < c.id
    assert list(OutboxEvent.objects.order_by("id").values_list("aggregate", flat=True)) == [
        "deals.group:G1",
        "deals.group:G1",
        "custom:1",
    ]


@pytest.mark.django_db
def test_payload_must_be_json():
    with pytest.raises(TypeError):
        publish("test.outbox.bad", when=clock.now())


@pytest.mark.django_db
def test_on_commit_fast_path_delivers_once_and_the_worker_then_does_nothing(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(subs.EVENT, n=7)
    assert subs.runs_per_event(subs.SCOPES[0]) == {event.id: 1}
    assert subs.runs_per_event(subs.SCOPES[1]) == {event.id: 1}
    assert OutboxEvent.objects.get(pk=event.id).delivered_at is not None
    # Delivery repeats (a worker that claimed it anyway, a replay): nobody acts twice.
    outbox.deliver_event(event)
    OutboxEvent.objects.filter(pk=event.id).update(delivered_at=None)
    assert outbox.deliver_pending(now=clock.now() + LATER) == 1
    assert subs.runs_per_event(subs.SCOPES[0]) == {event.id: 1}
    assert subs.runs_per_event(subs.SCOPES[1]) == {event.id: 1}
    assert OutboxHandled.objects.filter(event_id=event.id).count() == 2


@pytest.mark.django_db
def test_events_published_together_are_written_at_once_and_delivered_once_each(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(1):
        events = publish_many(subs.EVENT, [{"n": i, "outbox_public_id": f"O{i}"} for i in range(5)])
    assert [e.payload["n"] for e in events] == list(range(5))
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert list(OutboxEvent.objects.order_by("id").values_list("aggregate", flat=True)) == [
        f"test.outbox:O{i}" for i in range(5)
    ]
    assert len(callbacks) == 1  # one delivery for all of them
    # Read the pending rows, then one chunk: its savepoint, a handled-row INSERT, the two
    # subscribers' writes, the "done" UPDATE, the release; not a transaction per event and
    # subscriber.
    with django_assert_max_num_queries(1 + 1 + 1 + 2 * len(events) + 1 + 1):
        callbacks[0]()
    ids = {e.id: 1 for e in events}
    assert subs.runs_per_event(subs.SCOPES[0]) == ids
    assert subs.runs_per_event(subs.SCOPES[1]) == ids
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    OutboxEvent.objects.update(delivered_at=None)
    outbox.deliver_events(events)  # delivered again (a replay): nobody acts twice
    assert subs.runs_per_event(subs.SCOPES[0]) == ids
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_commits_events_reach_their_subscribers_in_one_go(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        events = [publish(subs.EVENT, n=i) for i in range(4)]
    assert len(callbacks) == 4
    # The first callback takes the commit's four events: one read of their rows, one
    # handled-row INSERT, the 8 subscribers' writes, one "done" UPDATE (and the savepoint of
    # the chunk's transaction inside the test's); the other callbacks find nothing left.
    with django_assert_max_num_queries(1 + 1 + 8 + 1 + 2):
        callbacks[0]()
    with django_assert_max_num_queries(0):
        for callback in callbacks[1:]:
            callback()
    ids = {event.id: 1 for event in events}
    assert subs.runs_per_event(subs.SCOPES[0]) == ids
    assert subs.runs_per_event(subs.SCOPES[1]) == ids
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db
def test_an_event_of_a_rolled_back_savepoint_is_never_delivered_the_others_are(
    django_capture_on_commit_callbacks,
):
    before = publish(subs.EVENT, n=0)  # its callback is not among those run below
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = publish(subs.EVENT, n=1)
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(subs.EVENT, n=2)
            raise RuntimeError("rolled back")
        last = publish(subs.EVENT, n=3)
    assert subs.runs_per_event(subs.SCOPES[0]) == {kept.id: 1, last.id: 1}
    # What the subscribers saw, not only ids (SQLite gives the rolled-back event's id to the next).
    seen = IdempotencyRecord.objects.filter(scope=subs.SCOPES[0]).order_by("pk")
    assert list(seen.values_list("fingerprint", flat=True)) == ["1", "3"]
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).get().pk == before.id


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_list_is_reset_and_a_rolled_back_transactions_events_stay_out():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(subs.EVENT, n=1)
        raise RuntimeError("rolled back")
    assert len(connection.shoploop_outbox_batch) == 1  # left by the rolled-back transaction
    with transaction.atomic():
        kept = publish(subs.EVENT, n=2)
        assert connection.shoploop_outbox_batch == [kept]  # a fresh list, not the old one
        also = publish(subs.EVENT, n=3)
    assert subs.runs_per_event(subs.SCOPES[0]) == {kept.id: 1, also.id: 1}
    assert connection.shoploop_outbox_batch is None
    assert OutboxEvent.objects.get(pk=kept.id).delivered_at is not None


@pytest.mark.django_db
def test_a_subscriber_failing_on_one_of_events_published_together_delays_only_that_one(
    django_capture_on_commit_callbacks,
):
    def fails_on_the_second(event: DomainEvent) -> None:
        if event.payload["n"] == 1:
            raise RuntimeError("boom")

    subscribe(subs.EVENT)(fails_on_the_second)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first, second, third = publish_many(subs.EVENT, [{"n": i} for i in range(3)])
        assert subs.runs_per_event(subs.SCOPES[0]) == {first.id: 1, second.id: 1, third.id: 1}
        failure = OutboxFailure.objects.get()
        assert failure.event_id == second.id and failure.next_attempt_at is not None
        assert list(
            OutboxEvent.objects.filter(delivered_at__isnull=True).values_list("pk", flat=True)
        ) == [second.id]
    finally:
        unsubscribe(subs.EVENT, fails_on_the_second)


@pytest.mark.django_db
def test_events_published_together_that_nobody_listens_to_are_done_at_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        events = publish_many("test.outbox.nobody_listens", [{"n": 1}, {"n": 2}])
    assert callbacks == [] and len(events) == 2
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    assert publish_many(subs.EVENT, []) == []


@pytest.mark.django_db
def test_the_worker_delivers_what_was_never_delivered_and_waits_out_the_grace():
    ids = _due_now(5)
    later = clock.now() + LATER
    assert outbox.deliver_pending(now=later, batch_size=2) == 5
    assert subs.runs_per_event(subs.SCOPES[0]) == dict.fromkeys(ids, 1)
    assert subs.runs_per_event(subs.SCOPES[1]) == dict.fromkeys(ids, 1)
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    assert outbox.deliver_pending(now=later) == 0

    # An event published now (its commit's fast path not run here) is left to the fast path
    # for the grace period, then the worker takes it.
    fresh = publish(subs.EVENT, n=99)
    assert outbox.deliver_pending() == 0
    assert fresh.id not in subs.runs_per_event(subs.SCOPES[0])
    assert outbox.deliver_pending(now=clock.now() + LATER) == 1
    assert subs.runs_per_event(subs.SCOPES[0])[fresh.id] == 1


@pytest.mark.django_db
def test_a_subscriber_and_its_handled_row_commit_together_or_not_at_all():
    calls = []

    def writes_then_fails(event: DomainEvent) -> None:
        calls.append(event.id)
        IdempotencyRecord.objects.create(scope="half-done", key=str(event.id), fingerprint="x")
        if len(calls) == 1:
            raise RuntimeError("provider down")

    subscribe("test.outbox.fragile")(writes_then_fails)
    try:
        (event_id,) = _due_now(1, name="test.outbox.fragile")
        now = clock.now() + LATER
        assert outbox.deliver_pending(now=now) == 0
        assert not IdempotencyRecord.objects.filter(scope="half-done").exists()
        assert not OutboxHandled.objects.exists()
        failure = OutboxFailure.objects.get()
        assert failure.attempts == 1 and "provider down" in failure.last_error
        assert outbox.deliver_pending(now=now + timedelta(seconds=1)) == 0  # backing off
        assert calls == [event_id]
        assert outbox.deliver_pending(now=now + outbox.backoff(1)) == 1
        assert calls == [event_id, event_id]
        assert IdempotencyRecord.objects.filter(scope="half-done").count() == 1
        assert not OutboxFailure.objects.exists()
    finally:
        unsubscribe("test.outbox.fragile", writes_then_fails)


@pytest.mark.django_db
def test_a_failing_subscriber_is_retried_with_backoff_never_blocks_others_then_parks(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    attempts = []

    def broken(event: DomainEvent) -> None:
        attempts.append(event.id)
        raise RuntimeError("boom")

    subscribe(subs.EVENT)(broken)
    try:
        first, second = _due_now(2)
        now = clock.now() + LATER
        outbox.deliver_pending(now=now)
        # The others ran on both events at once; only the broken one waits.
        assert subs.runs_per_event(subs.SCOPES[0]) == {first: 1, second: 1}
        assert subs.runs_per_event(subs.SCOPES[1]) == {first: 1, second: 1}
        assert attempts == [first, second]
        assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 2
        assert outbox.status(now).retrying[0]["events"] == 2

        now += outbox.backoff(1)
        outbox.deliver_pending(now=now)
        now += outbox.backoff(2)
        outbox.deliver_pending(now=now)
        assert len(attempts) == 6
        # Parked after 3 attempts: the events are done, the failure stays visible.
        assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
        status = outbox.status(now)
        assert status.pending == 0 and status.retrying == []
        assert status.parked[0]["subscriber"].endswith(".broken")
        assert status.parked[0]["events"] == 2
        outbox.deliver_pending(now=now + timedelta(days=1))
        assert len(attempts) == 6
        assert subs.runs_per_event(subs.SCOPES[0]) == {first: 1, second: 1}

        # An operator fixes the cause and retries: it runs again, the others do not.
        unsubscribe(subs.EVENT, broken)
        fixed = []
        subscribe(subs.EVENT, key=OutboxFailure.objects.first().subscriber)(fixed.append)
        assert outbox.retry_parked() == 2
        assert outbox.deliver_pending(now=now + timedelta(days=1)) == 2
        assert sorted(e.id for e in fixed) == [first, second]
        assert subs.runs_per_event(subs.SCOPES[0]) == {first: 1, second: 1}
        assert not OutboxFailure.objects.exists()
    finally:
        unsubscribe(subs.EVENT, broken)
        for registered in list(outbox.subscribers_of(subs.EVENT)):
            if registered.handler not in (subs.first, subs.second):
                unsubscribe(subs.EVENT, registered.handler)


@pytest.mark.django_db
def test_outbox_command_shows_backlog_lag_and_parked_subscribers(capsys, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    _due_now(3)
    call_command("outbox")
    out = capsys.readouterr().out
    assert "pending=3" in out and "lag_seconds=" in out

    def always_broken(event):
        raise RuntimeError("nope")

    subscribe(subs.EVENT)(always_broken)
    try:
        call_command("outbox", "--deliver")
    finally:
        unsubscribe(subs.EVENT, always_broken)
    out = capsys.readouterr().out
    assert "pending=0" in out
    assert "parked: shoploop.core.tests.test_outbox" in out and "events=3" in out


@pytest.mark.django_db
def test_operators_see_lag_backlog_and_parked_subscribers_in_the_admin(client, operator):
    _due_now(4)
    OutboxFailure.objects.create(
        subscriber="app.handler",
        event_id=OutboxEvent.objects.first().pk,
        attempts=8,
        failed_at=clock.now(),
        parked_at=clock.now(),
        last_error="RuntimeError: x",
    )
    client.force_login(operator)
    page = client.get("/admin/core/outboxevent/").content.decode()
    assert 'class="outbox-pending">4<' in page
    assert "app.handler" in page and "outbox-parked" in page
    assert client.get("/admin/core/outboxfailure/").status_code == 200


# --- proofs across processes (PostgreSQL) --------------------------------------------------------

CHILD = """
import os, sys, time, django
django.setup()
from django.db import transaction
from shoploop.core.events import publish
from shoploop.core.tests import outbox_subscribers as subs

def hang():
    # Runs first among the on-commit callbacks: the events are committed, delivery has not run.
    print("committed", flush=True)
    time.sleep(120)

with transaction.atomic():
    transaction.on_commit(hang)
    for n in range({count}):
        publish(subs.EVENT, n=n)
print("never reached", flush=True)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sigkill_between_commit_and_delivery_loses_nothing_and_runs_each_subscriber_once():
    count = 20
    env = child_env(
        SHOPLOOP_DATABASE_URL=current_database_url(), DJANGO_SETTINGS_MODULE="shoploop.settings"
    )
    with running(
        [sys.executable, "-c", CHILD.format(count=count)], env=env, ready_marker="committed"
    ) as child:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=20)
    assert child.returncode == -signal.SIGKILL
    pending = list(OutboxEvent.objects.filter(name=subs.EVENT, delivered_at__isnull=True))
    assert len(pending) == count  # committed with the change, never delivered
    assert not OutboxHandled.objects.exists()

    # The worker (this process) delivers them; running it again changes nothing.
    later = clock.now() + LATER
    assert outbox.deliver_pending(now=later) == count
    assert outbox.deliver_pending(now=later) == 0
    ids = {e.pk for e in pending}
    for scope in subs.SCOPES:
        assert subs.runs_per_event(scope) == dict.fromkeys(ids, 1)
    assert OutboxHandled.objects.count() == 2 * count


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_deliver_each_event_once_per_subscriber():
    ids = _due_now(400)
    later = clock.now() + LATER
    barrier = threading.Barrier(2)
    completed = []

    def worker():
        try:
            barrier.wait()
            completed.append(outbox.deliver_pending(now=later, batch_size=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(completed) == len(ids)
    assert all(completed), completed  # both took a share
    for scope in subs.SCOPES:
        assert subs.runs_per_event(scope) == dict.fromkeys(ids, 1)
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_fast_path_racing_a_worker_still_runs_each_subscriber_once():
    with transaction.atomic():
        events = [publish(subs.EVENT, n=n) for n in range(50)]
    # (the on-commit fast path already ran above, in this thread; a worker now races a repeat)
    barrier = threading.Barrier(2)

    def fast_path_again():
        try:
            barrier.wait()
            for event in events:
                outbox.deliver_event(event)
        finally:
            connection.close()

    def worker():
        try:
            barrier.wait()
            OutboxEvent.objects.update(delivered_at=None)
            outbox.deliver_pending(now=clock.now() + LATER, batch_size=10)
        finally:
            connection.close()

    threads = [threading.Thread(target=fast_path_again), threading.Thread(target=worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for scope in subs.SCOPES:
        assert subs.runs_per_event(scope) == {e.id: 1 for e in events}


@pytest.mark.django_db
def test_the_celery_task_runs_the_worker():
    from shoploop.core.tasks import deliver_outbox_task

    ids = _due_now(2)
    assert deliver_outbox_task.delay().get() == 2  # eager in the embedded/test settings
    assert subs.runs_per_event(subs.SCOPES[0]) == dict.fromkeys(ids, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_delivers_the_outbox_on_its_own_timer():
    from shoploop.core.scheduler import EmbeddedScheduler

    ids = _due_now(3)
    scheduler = EmbeddedScheduler(interval_seconds=3600, outbox_interval_seconds=0.05)
    scheduler.start()
    try:
        for _ in range(600):  # until delivered (a generous bound, not a timing assertion)
            if not OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
                break
            threading.Event().wait(0.1)
    finally:
        scheduler.stop()
    assert subs.runs_per_event(subs.SCOPES[0]) == dict.fromkeys(ids, 1)
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
