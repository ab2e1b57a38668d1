"""PostgreSQL: real threads against the contended paths of crowdfunding."""

from datetime import timedelta

import pytest

from shoploop.core.errors import Conflict
from shoploop.core.testing import holding_row_lock, race
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_tier_limit_holds_under_a_rush_of_backers(make_project, make_user):
    project = make_project(tiers=[tier_spec(limit=5)])
    tier = project.tiers.get()
    users = [make_user() for _ in range(30)]
    ships = [address_id_for(user) for user in users]  # made before the race
    outcomes = race(lambda i: services.back(tier=tier, user=users[i], address_id=ships[i]), 30)
    pledges = [o for o in outcomes if isinstance(o, Pledge)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(pledges) == 5
    assert len(refused) == 25
    assert {o.code for o in refused} == {"tier_sold_out"}
    tier.refresh_from_db()
    assert tier.claimed == 5
    assert Pledge.objects.count() == 5
    assert Order.objects.count() == 5
    assert verify_ledger().ok


def test_same_backer_clicking_twenty_times_gets_one_pledge(project, buyer):
    tier = project.tiers.get(position=0)
    ship = address_id_for(buyer)
    outcomes = race(lambda i: services.back(tier=tier, user=buyer, address_id=ship), 20)
    assert sum(isinstance(o, Pledge) for o in outcomes) == 1
    assert Pledge.objects.count() == 1
    tier.refresh_from_db()
    assert tier.claimed == 1


def _funded(make_project, make_user, pay, count, target_value):
    project = make_project(target_value=target_value, tiers=[tier_spec()])
    tier = project.tiers.get()
    pledges = []
    for _ in range(count):
        pledge = services.back(tier=tier, **as_buyer(make_user()))
        pay(pledge.order.checkout)
        pledge.refresh_from_db()
        assert pledge.state == Pledge.State.ACTIVE
        pledges.append(pledge)
    return project, pledges


def _assert_each_moved_once(pledges, *, succeeded):
    for pledge in pledges:
        pledge.refresh_from_db()
        order = Order.objects.get(pk=pledge.order_id)
        if succeeded:
            assert pledge.state == Pledge.State.CHARGED
            assert order.state == Order.State.PAID
            assert order.refunded_fen == 0
        else:
            assert pledge.state == Pledge.State.REFUNDED
            assert order.state == Order.State.CANCELLED
            assert order.refunded_fen == order.total_fen
    assert verify_ledger().ok


@pytest.mark.parametrize("succeeded", [True, False])
def test_settle_killed_half_way_and_rerun(make_project, make_user, pay, monkeypatch, succeeded):
    target = 9900 * (6 if succeeded else 100)
    project, pledges = _funded(make_project, make_user, pay, 7, target)
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 3)
    seen = []

    def killed_after_four(pledge):
        seen.append(pledge.pk)
        if len(seen) == 4:
            raise SystemExit("worker killed")  # not an Exception: like a dying process

    monkeypatch.setattr(services, "_after_pledge_settled", killed_after_four)
    now = project.deadline + timedelta(seconds=1)
    with pytest.raises(SystemExit):
        services.settle(now)
    project.refresh_from_db()
    assert project.state == (Project.State.SUCCEEDED if succeeded else Project.State.FAILED)
    assert project.settled_at is None
    done = Pledge.State.CHARGED if succeeded else Pledge.State.REFUNDED
    states = list(Pledge.objects.order_by("pk").values_list("state", flat=True))
    assert states.count(done) == 3  # the first batch committed, the second rolled back
    assert verify_ledger().ok

    monkeypatch.setattr(services, "_after_pledge_settled", lambda pledge: None)
    assert services.settle(now) == 4
    assert services.settle(now) == 0
    _assert_each_moved_once(pledges, succeeded=succeeded)


def test_two_workers_settle_the_same_project(make_project, make_user, pay, monkeypatch):
    project, pledges = _funded(make_project, make_user, pay, 8, 9900 * 100)
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    now = project.deadline + timedelta(seconds=1)
    outcomes = race(lambda i: services.settle(now), 2)
    assert sum(outcomes) == 8, outcomes
    services.settle(now)
    _assert_each_moved_once(pledges, succeeded=False)
    project.refresh_from_db()
    assert project.settled_at is not None


def test_payment_at_the_moment_of_the_decision(make_project, make_user, pay):
    """A payment counted at the deadline is either in the decision or refused and refunded:
    every pledge ends charged with the project funded, or refunded with it failed."""
    for _ in range(3):
        project, pledges = _funded(make_project, make_user, pay, 1, 2 * 9900)
        late = services.back(tier=project.tiers.get(), **as_buyer(make_user()))
        now = project.deadline + timedelta(seconds=1)

        def work(i, late=late, now=now):
            if i == 0:
                return pay(late.order.checkout)
            return services.settle(now)

        outcomes = race(work, 2)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        services.settle(now)
        project.refresh_from_db()
        late.refresh_from_db()
        succeeded = project.state == Project.State.SUCCEEDED
        if succeeded:
            assert late.state == Pledge.State.CHARGED
        else:
            assert late.state in (Pledge.State.REFUNDED, Pledge.State.CANCELLED)
            order = Order.objects.get(pk=late.order_id)
            assert order.refunded_fen == order.total_fen
        _assert_each_moved_once(pledges, succeeded=succeeded)


# A settle worker in its own process that SIGKILLs itself after moving ``kill_after`` pledges
# (inside the open batch transaction, as a crash would).
_CHILD = """
import os, signal, sys
from datetime import datetime
import django
django.setup()
from shoploop.deals.crowdfunding import services
services.SETTLE_BATCH_SIZE = 3
moved = []
def die(pledge):
    moved.append(pledge.pk)
    if len(moved) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
services._after_pledge_settled = die
services.settle(datetime.fromisoformat(sys.argv[1]))
"""


def _settle_in_a_process_killed_after(now, kill_after):
    import os
    import signal
    import subprocess
    import sys

    from django.conf import settings as django_settings
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "SHOPLOOP_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "shoploop.settings"),
        "SHOPLOOP_DEBUG": "1",
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, now.isoformat(), str(kill_after)],
        cwd=str(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def test_settle_process_killed_with_sigkill_then_rerun(make_project, make_user, pay):
    project, pledges = _funded(make_project, make_user, pay, 7, 9900 * 100)
    now = project.deadline + timedelta(seconds=1)
    _settle_in_a_process_killed_after(now, kill_after=5)
    states = list(Pledge.objects.values_list("state", flat=True))
    assert states.count(Pledge.State.REFUNDED) == 3  # batch 1 committed; batch 2 died open
    project.refresh_from_db()
    assert project.state == Project.State.FAILED
    assert project.settled_at is None
    assert verify_ledger().ok
    assert services.settle(now) == 4
    _assert_each_moved_once(pledges, succeeded=False)


def test_captures_after_the_deadline_at_once_are_never_counted(make_project, make_user, pay):
    """Six payments begun in time all arrive at once just after the deadline, before any settle:
    none is counted (the target needed them), each is refunded once, its tier place freed, and
    the settle then fails the project with its one backer refunded."""
    from shoploop.core import clock

    project, pledges = _funded(make_project, make_user, pay, 1, 3 * 9900)
    tier = project.tiers.get()
    with clock.frozen_at(project.deadline - timedelta(minutes=1)):
        late = [services.back(tier=tier, **as_buyer(make_user())) for _ in range(6)]
    now = project.deadline + timedelta(seconds=1)
    with clock.frozen_at(now):
        outcomes = race(lambda i: pay(late[i].order.checkout), len(late))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        project.refresh_from_db()
        assert project.state == Project.State.LIVE  # not decided yet
        assert (project.backers, project.pledged_fen) == (1, 9900)
        tier.refresh_from_db()
        assert tier.claimed == 1
        services.settle(now)
    project.refresh_from_db()
    assert project.state == Project.State.FAILED
    for pledge in late:
        pledge.refresh_from_db()
        assert pledge.state == Pledge.State.CANCELLED
        order = Order.objects.get(pk=pledge.order_id)
        assert order.state == Order.State.CANCELLED
        assert order.refunded_fen == order.total_fen
    _assert_each_moved_once(pledges, succeeded=False)


def test_one_backer_racing_for_both_tiers_gets_one_pledge_and_a_cancelled_one_frees_it(
    project, buyer
):
    tiers = list(project.tiers.order_by("position"))
    ship = address_id_for(buyer)

    def back(i):
        return services.back(tier=tiers[i % 2], user=buyer, address_id=ship)

    outcomes = race(back, 12)
    pledges = [o for o in outcomes if isinstance(o, Pledge)]
    assert len(pledges) == 1, outcomes
    assert [o.code for o in outcomes if isinstance(o, Conflict)] == ["already_backed"] * 11
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert sum(tier.claimed for tier in project.tiers.all()) == 1
    assert verify_ledger().ok

    services.cancel_pledge(pledge=pledges[0], actor=buyer)  # the place is free again
    outcomes = race(back, 12)

    assert sum(isinstance(o, Pledge) for o in outcomes) == 1, outcomes
    assert {o.code for o in outcomes if isinstance(o, Conflict)} == {"already_backed"}
    open_pledges = Pledge.objects.filter(backer=buyer, state__in=Pledge.OPEN_STATES)
    assert open_pledges.count() == 1
    assert sum(tier.claimed for tier in project.tiers.all()) == 1
    assert verify_ledger().ok


def test_two_unpaid_sweeps_at_once_free_each_pledge_once(make_project, make_user, monkeypatch):
    project = make_project(tiers=[tier_spec(limit=20)])
    tier = project.tiers.get()
    pledges = [services.back(tier=tier, **as_buyer(make_user())) for _ in range(9)]
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    after_the_window = max(pledge.expires_at for pledge in pledges) + timedelta(seconds=1)
    outcomes = race(lambda i: services.expire_unpaid_pledges(after_the_window), 2)
    assert sum(outcomes) == 9, outcomes
    assert services.expire_unpaid_pledges(after_the_window) == 0
    for pledge in pledges:
        pledge.refresh_from_db()
        assert pledge.state == Pledge.State.CANCELLED
        assert Order.objects.get(pk=pledge.order_id).state == Order.State.CANCELLED
    tier.refresh_from_db()
    assert tier.claimed == 0
    assert verify_ledger().ok


def test_a_pledge_held_by_another_worker_keeps_its_project_unsettled_until_a_later_run(
    make_project, make_user, pay
):
    project, pledges = _funded(make_project, make_user, pay, 3, 9900 * 100)
    now = project.deadline + timedelta(seconds=1)
    with holding_row_lock(Pledge, pledges[1].pk):
        assert services.settle(now) == 2  # the held one is skipped, not waited for
        project.refresh_from_db()
        assert project.state == Project.State.FAILED and project.settled_at is None
    later = now + timedelta(minutes=1)
    assert services.settle(later) == 1
    project.refresh_from_db()
    assert project.settled_at == later
    _assert_each_moved_once(pledges, succeeded=False)
