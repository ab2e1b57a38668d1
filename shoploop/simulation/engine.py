"""Plan the world, then play it day by day; the demo logins and world.json come from here."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from shoploop.celery import app as celery_app
from shoploop.simulation.activities import DEFAULT_ACTIVITIES, Activity
from shoploop.simulation.outcomes import crowdtask_outcomes, money_outcomes, sharing_outcomes
from shoploop.simulation.parameters import WorldParameters
from shoploop.simulation.world import World

DEMO_ROLES = ("buyer", "merchant", "owner")
# Loggers that would print one line per simulated action (the console SMS provider logs each code).
# Celery logs every in-process task (each sandbox callback and refund).
_CHATTY_LOGGERS = ("shoploop.accounts.sms", "celery.app.trace")


def default_start(days: int) -> datetime:
    """Midnight ``days`` days ago in the project's time zone: the world ends yesterday."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


def plan_world(
    params: WorldParameters,
    *,
    start: datetime | None = None,
    progress=None,
    activities: Sequence[type[Activity]] = DEFAULT_ACTIVITIES,
) -> tuple[World, list[Activity]]:
    """Everything the world will do, decided from the seed alone (no database)."""
    world = World(params, start=start or default_start(params.days), progress=progress)
    planned = [activity(world) for activity in activities]
    for activity in planned:
        activity.plan()
    world.demo_logins = choose_demo_logins(world)
    return world, planned


def play_world(world: World, activities: Sequence[Activity]) -> None:
    with quiet_loggers(), tasks_in_process(), commits_without_waiting_for_disk():
        for day in range(world.params.days):
            for position, activity in enumerate(activities):
                world.set_slice(day, position, len(activities))
                with world.activity(activity.name):
                    activity.play_day(day)
                world.step_done()
            world.flush()
            refresh_planner_statistics(world)


def total_steps(world: World, activities: Sequence[Activity]) -> int:
    """The progress bar's exact total: each activity plays each day once. (Counting service calls
    instead overshot: how many calls a day makes is only known once it is played.)"""
    return world.params.days * len(activities)


def choose_demo_logins(world: World) -> dict[str, int]:
    """Stable rule: the first shop's owner (always approved), the first community's owner
    (always public and active), and the early user with the most planned joins who owns and
    sells nothing."""
    owners = {community.owner for community in world.communities}
    sellers = set(world.merchants)
    buyers = [
        person.index
        for person in world.people
        if person.join_day == 0 and person.index not in owners | sellers
    ] or [person.index for person in world.people]
    buyer = max(buyers, key=lambda index: (world.planned_joins[index], -index))
    return {
        "buyer": buyer,
        "merchant": world.shops[0].owner if world.shops else buyer,
        "owner": world.communities[0].owner if world.communities else buyer,
    }


def demo_login_rows(world: World) -> list[dict[str, str]]:
    rows = [
        {
            "role": role,
            "phone": world.person(world.demo_logins[role]).phone,
            "name": world.person(world.demo_logins[role]).name,
        }
        for role in DEMO_ROLES
    ]
    if world.operator is not None:
        # The operator signs in the same way, at /admin/ (staff only).
        rows.append(
            {"role": "operator", "phone": world.operator.phone, "name": world.operator.name}
        )
    return rows


def event_outcomes() -> dict:
    """The domain events the world published, by name (what insights will count), and how many
    the outbox has not delivered yet."""
    from django.db.models import Count

    from shoploop.core.models import OutboxEvent

    by_name = OutboxEvent.objects.values_list("name").annotate(n=Count("id")).order_by("name")
    return {
        "by_name": dict(by_name),
        "undelivered": OutboxEvent.objects.filter(delivered_at__isnull=True).count(),
    }


def world_summary(world: World, *, seconds: float | None = None, ledger=None) -> dict:
    return {
        "parameters": world.params.as_dict(),
        "start": world.start.isoformat(),
        "demo_logins": demo_login_rows(world),
        "operator": {"phone": world.operator.phone, "name": world.operator.name},
        "outcomes": dict(sorted(world.outcomes.items())),
        # The per-community posting, commenting and liking rates the content activity drew.
        "content_rates": list(getattr(world, "content_rates", {}).values()),
        # The per-shop daily follow rates (粉丝) the shop-follows activity drew.
        "shop_follow_rates": list(getattr(world, "shop_follow_rates", {}).values()),
        "money": money_outcomes(),
        "sharing": sharing_outcomes(),
        "crowdtasks": crowdtask_outcomes(),
        # What the sharing activity played, counted as it played (manage.py loop_truth compares
        # what insights recovers from the events with it): see docs/insights.md.
        "loop_played": getattr(world, "loop_played", None),
        "events": event_outcomes(),
        "ledger": None if ledger is None else {"ok": ledger.ok, "summary": ledger.summary()},
        "seconds": round(seconds, 2) if seconds is not None else None,
    }


def write_world_file(path: Path | str, summary: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


@contextmanager
def tasks_in_process() -> Iterator[None]:
    """Run Celery tasks (the sandbox's callbacks, refunds sent to the provider) in this process
    while the world plays, even when a broker is configured: they must happen at the simulated
    moment, under the simulator's clock, not later in a worker at wall-clock time."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager, conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_eager_propagates = saved


@contextmanager
def commits_without_waiting_for_disk() -> Iterator[None]:
    """On PostgreSQL, the world's session commits without waiting for the WAL flush
    (``synchronous_commit = off``): the world commits after every batch and every on-commit
    delivery, and each commit waited for a disk flush (the 20,000-user world spent its time in
    ``WALSync``). A crash loses at most the last fraction of a second of a world that is rebuilt
    from its seed anyway; nothing is ever inconsistent. SQLite already runs with
    ``synchronous=NORMAL`` in WAL mode."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT")


# From this many people a world's tables grow by orders of magnitude within one run.
ANALYZE_FROM_USERS = 2_000


def refresh_planner_statistics(world: World) -> None:
    """After each day of a big world on PostgreSQL, ``ANALYZE``: the planner's row counts are
    those of the last analyze, and where autovacuum is off (this project's CI and test machines
    run PostgreSQL so) they were taken while the tables were nearly empty. The 20,000-user world
    then fanned each post out with a sequential scan of the whole timeline table (1.2 million
    rows, about 0.5 s a post) instead of an index scan, and its last days slowed to minutes a
    step. Small worlds (tests, the demo) never grow enough for it to matter."""
    from django.db import connection

    if connection.vendor == "postgresql" and world.params.users >= ANALYZE_FROM_USERS:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@contextmanager
def quiet_loggers() -> Iterator[None]:
    saved = {}
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
