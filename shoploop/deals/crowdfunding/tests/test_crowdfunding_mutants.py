"""Tests written for mutation testing of ``shoploop/deals/crowdfunding/services.py``
(``scripts/mutate.py crowdfunding``, docs/mutation.md): the refusals' codes and messages and the
deadline's edge, the rows a pledge, a payment, a cancellation, an expiry and a decision write
(timestamps included), their events' payloads, counters and places that move for their own
project and tier only, and the outcome by the target's kind."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.testing import outbox_payloads, said
from shoploop.deals import registry
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project, RewardTier
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, record_capture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _back(tier, user):
    return services.back(tier=tier, user=user, address_id=address_id_for(user))


def _tiers(project) -> list[RewardTier]:
    return list(project.tiers.order_by("pk"))


def _fresh(project) -> Project:
    return Project.objects.get(pk=project.pk)


CLOSED = "This project is closed: it no longer takes pledges."
TOO_LATE = "The deadline has passed: pledges can no longer be cancelled."
SOLD_OUT = ("tier_sold_out", "This reward tier is sold out.")


# --- backing ------------------------------------------------------------------------------------


def test_backing_refusals_say_why(project, buyer, make_user, shop):
    first, limited = _tiers(project)
    assert said(lambda: _back(first, shop.owner)) == (
        "own_project",
        "You cannot back your own project.",
    )
    _back(first, buyer)
    assert said(lambda: _back(limited, buyer)) == (
        "already_backed",
        "You already back this project; cancel that pledge first to change tiers.",
    )
    services.pause_project(project=project, actor=shop.owner)
    assert said(lambda: _back(first, make_user())) == (
        "paused",
        "The creator paused this project: it takes no new pledges for now.",
    )
    services.resume_project(project=project, actor=shop.owner)
    with clock.frozen_at(project.deadline):
        assert said(lambda: _back(first, make_user())) == ("closed", CLOSED)


def test_a_full_tier_says_so_as_read_and_at_the_update(project, make_user):
    _, limited = _tiers(project)  # limit 2
    _back(limited, make_user())
    stale = RewardTier.objects.get(pk=limited.pk)  # read with one place left
    _back(limited, make_user())
    assert said(lambda: _back(stale, make_user())) == SOLD_OUT
    assert said(lambda: _back(RewardTier.objects.get(pk=limited.pk), make_user())) == SOLD_OUT
    assert RewardTier.objects.get(pk=limited.pk).claimed == 2
    assert Pledge.objects.filter(tier=limited).count() == 2


def test_a_pledge_writes_its_moment_and_its_order_names_the_project_and_tier(project, buyer):
    first, _ = _tiers(project)
    moment = clock.now() + timedelta(minutes=5)
    with clock.frozen_at(moment):
        pledge = _back(first, buyer)
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert pledge.created_at == moment
    order = Order.objects.get(pk=pledge.order_id)
    assert order.checkout.deal_ref == registry.deal_ref(services.DEAL_PREFIX, pledge.public_id)
    line = order.lines.get()
    assert (line.product_public_id, line.options) == (project.public_id, {"tier": first.title})


# --- paying -------------------------------------------------------------------------------------


def test_a_payment_says_who_paid_for_what(project, buyer, back_and_pay, shop):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    assert outbox_payloads("crowdfunding.pledge.paid") == [
        {
            "pledge_public_id": pledge.public_id,
            "project_public_id": project.public_id,
            "order_public_id": pledge.order.public_id,
            "backer_public_id": buyer.public_id,
            "shop_public_id": shop.public_id,
            "community_public_id": None,
        }
    ]


def test_a_payment_counted_in_its_own_project_only(make_project, buyer, back_and_pay):
    mine, other = make_project(), make_project()
    back_and_pay(_tiers(mine)[0], buyer)
    assert (_fresh(mine).backers, _fresh(other).backers) == (1, 0)
    assert (_fresh(other).pledged_fen, _fresh(other).pledged_units) == (0, 0)


# --- cancelling ---------------------------------------------------------------------------------


def test_cancel_refusals_say_why(project, buyer, make_user, back_and_pay):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    assert said(lambda: services.cancel_pledge(pledge=pledge, actor=make_user())) == (
        "not_your_pledge",
        "This is not your pledge.",
    )
    with clock.frozen_at(project.deadline):
        assert said(lambda: services.cancel_pledge(pledge=pledge, actor=buyer)) == (
            "closed",
            TOO_LATE,
        )
    services.cancel_pledge(pledge=pledge, actor=buyer)
    assert said(lambda: services.cancel_pledge(pledge=pledge, actor=buyer)) == (
        "pledge_closed",
        "This pledge is already closed.",
    )


def test_a_cancellation_the_counters_refuse_says_the_deadline_passed(
    project, buyer, back_and_pay, monkeypatch
):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    # The project was decided between the cancellation's read and its counters' UPDATE.
    monkeypatch.setattr(services, "_count", lambda *args: 0)
    assert said(lambda: services.cancel_pledge(pledge=pledge, actor=buyer)) == ("closed", TOO_LATE)
    assert Pledge.objects.get(pk=pledge.pk).state == Pledge.State.ACTIVE


def test_a_cancellation_stamps_its_moment_and_frees_its_own_place(
    make_project, buyer, make_user, back_and_pay
):
    mine, other = make_project(), make_project()
    pledge = back_and_pay(_tiers(mine)[0], buyer)
    back_and_pay(_tiers(other)[0], make_user())
    moment = clock.now() + timedelta(minutes=3)
    with clock.frozen_at(moment):
        services.cancel_pledge(pledge=pledge, actor=buyer)
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert (pledge.state, pledge.closed_at) == (Pledge.State.CANCELLED, moment)
    assert RewardTier.objects.get(pk=_tiers(other)[0].pk).claimed == 1
    assert _fresh(other).backers == 1
    assert (_fresh(mine).backers, RewardTier.objects.get(pk=_tiers(mine)[0].pk).claimed) == (0, 0)


def test_the_creator_cancelling_stamps_the_moment_says_so_and_leaves_other_projects(
    make_project, shop
):
    mine, other = make_project(), make_project()
    moment = clock.now() + timedelta(minutes=1)
    with clock.frozen_at(moment):
        services.cancel_project(project=mine, actor=shop.owner)
    cancelled = _fresh(mine)
    assert (cancelled.state, cancelled.decided_at, cancelled.settled_at) == (
        Project.State.CANCELLED,
        moment,
        moment,
    )
    assert _fresh(other).state == Project.State.LIVE
    assert outbox_payloads("crowdfunding.project.cancelled") == [
        {"project_public_id": mine.public_id}
    ]
    assert said(lambda: services.cancel_project(project=mine, actor=shop.owner)) == (
        "project_closed",
        "This project is already closed.",
    )


# --- the payment window -------------------------------------------------------------------------


def test_expiry_counts_each_pledge_stamps_it_and_cancels_its_order_as_expired(
    monkeypatch, project, make_user, back_and_pay
):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 1)
    first, limited = _tiers(project)
    unpaid = [_back(first, make_user()), _back(limited, make_user())]
    paid = back_and_pay(first, make_user())
    later = max(p.expires_at for p in unpaid) + timedelta(minutes=1)
    Pledge.objects.filter(pk=paid.pk).update(expires_at=later - timedelta(seconds=30))
    assert services.expire_unpaid_pledges(later) == 2
    for pledge in unpaid:
        pledge = Pledge.objects.get(pk=pledge.pk)
        assert (pledge.state, pledge.closed_at) == (Pledge.State.CANCELLED, later)
        assert Order.objects.get(pk=pledge.order_id).cancel_reason == Order.CancelReason.EXPIRED
    assert Pledge.objects.get(pk=paid.pk).state == Pledge.State.ACTIVE
    assert (RewardTier.objects.get(pk=first.pk).claimed, _fresh(project).backers) == (1, 1)


# --- the outcome --------------------------------------------------------------------------------


def test_the_outcome_is_decided_once_at_the_deadline_and_said(make_project, buyer, back_and_pay):
    project = make_project(target_value=9900)
    back_and_pay(_tiers(project)[0], buyer)
    early = project.deadline - timedelta(seconds=1)
    assert services.decide_outcome(project=project, now=early) is False
    assert _fresh(project).state == Project.State.LIVE
    assert services.decide_outcome(project=project, now=project.deadline) is True
    decided = _fresh(project)
    assert (decided.state, decided.decided_at) == (Project.State.SUCCEEDED, project.deadline)
    assert services.decide_outcome(project=decided, now=project.deadline) is False
    assert outbox_payloads("crowdfunding.project.succeeded") == [
        {"project_public_id": project.public_id}
    ]
    assert outbox_payloads("crowdfunding.project.failed") == []


def test_deciding_one_project_leaves_another_due_one(make_project):
    first = make_project(days=1)
    second = make_project(days=7)
    assert services.decide_outcome(project=second, now=first.deadline) is False
    assert _fresh(first).state == Project.State.LIVE
    assert services.decide_outcome(project=first, now=first.deadline) is True
    assert _fresh(second).state == Project.State.LIVE
    assert outbox_payloads("crowdfunding.project.failed") == [
        {"project_public_id": first.public_id}
    ]


def test_a_units_target_counts_units_not_fen(make_project, buyer, back_and_pay):
    # 9,900 fen pledged is far above a target of 3, but it is one unit: the target is missed.
    project = make_project(target_kind="units", target_value=3, tiers=[tier_spec(units=1)])
    back_and_pay(_tiers(project)[0], buyer)
    assert services.decide_outcome(project=project, now=project.deadline) is True
    assert _fresh(project).state == Project.State.FAILED


def test_settling_stamps_each_pledge_and_cancels_a_failed_projects_orders_as_failed(
    make_project, buyer, make_user, back_and_pay
):
    project = make_project(target_value=10**7)
    paid = back_and_pay(_tiers(project)[0], buyer)
    unpaid = _back(_tiers(project)[1], make_user())
    services.settle(project.deadline)
    paid, unpaid = Pledge.objects.get(pk=paid.pk), Pledge.objects.get(pk=unpaid.pk)
    assert (paid.state, paid.closed_at) == (Pledge.State.REFUNDED, project.deadline)
    assert (unpaid.state, unpaid.closed_at) == (Pledge.State.CANCELLED, project.deadline)
    for pledge in (paid, unpaid):
        order = Order.objects.get(pk=pledge.order_id)
        assert order.cancel_reason == Order.CancelReason.DEAL_FAILED
    # The unpaid pledge's place is freed; a refunded backer's stays counted (the project is over).
    assert [t.claimed for t in _tiers(project)] == [1, 0]


def test_settling_moves_only_the_due_projects_and_counts_them_all(
    make_project, make_user, back_and_pay
):
    due = [make_project(days=1, target_value=10**7) for _ in range(2)]
    later = make_project(days=7)
    for project in (*due, later):
        back_and_pay(_tiers(project)[0], make_user())
    moment = due[0].deadline + timedelta(minutes=1)
    assert services.settle(moment) == 2
    for project in due:
        settled = _fresh(project)
        assert (settled.state, settled.settled_at) == (Project.State.FAILED, moment)
    waiting = _fresh(later)
    assert (waiting.state, waiting.settled_at) == (Project.State.LIVE, None)
    assert Pledge.objects.get(project=later).state == Pledge.State.ACTIVE


def test_settle_reads_due_projects_in_batches_and_passes_over_one_it_could_not_lock(
    make_project, monkeypatch
):
    monkeypatch.setattr(services, "DECIDE_BATCH_SIZE", 2)
    due = [make_project(days=1) for _ in range(5)]
    later = make_project(days=7)
    locked_elsewhere = due[1]
    decided = []
    decide = services.decide_outcome

    def decide_once(*, project, now):
        assert project.pk not in decided, "a project was picked twice in one run"
        decided.append(project.pk)
        if project.pk == locked_elsewhere.pk:
            return False  # another worker holds its row (SKIP LOCKED)
        return decide(project=project, now=now)

    monkeypatch.setattr(services, "decide_outcome", decide_once)
    services.settle(due[0].deadline + timedelta(minutes=1))
    # Three batches (2 + 2 + 1), each after the last project seen, the skipped one included.
    assert decided == [project.pk for project in due]
    assert [_fresh(p).state for p in due] == [
        Project.State.FAILED,
        Project.State.LIVE,
        *[Project.State.FAILED] * 3,
    ]
    assert _fresh(later).state == Project.State.LIVE


def test_one_settle_run_processes_a_bounded_number_of_projects_earliest_decided_first(
    make_project, monkeypatch
):
    monkeypatch.setattr(services, "SETTLE_PROJECTS_PER_RUN", 2)
    projects = [make_project(days=1) for _ in range(3)]
    deadline = max(p.deadline for p in projects)
    # Decided in the reverse order of their creation: the settle goes by decision time.
    for minutes, project in enumerate(reversed(projects)):
        assert services.decide_outcome(project=project, now=deadline + timedelta(minutes=minutes))
    moment = deadline + timedelta(hours=1)
    services.settle(moment)
    assert [_fresh(p).settled_at for p in projects] == [None, moment, moment]
    services.settle(moment + timedelta(minutes=1))
    assert _fresh(projects[0]).settled_at == moment + timedelta(minutes=1)


def test_a_cancel_that_meets_a_decision_taken_meanwhile_changes_nothing(
    project, buyer, back_and_pay, monkeypatch
):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    cancel_order = services.order_services.cancel_deal_order

    def decided_meanwhile(**kwargs):
        cancel_order(**kwargs)
        # Another worker's decision lands between the cancel's checks and its counters.
        Project.objects.filter(pk=project.pk).update(state=Project.State.SUCCEEDED)

    monkeypatch.setattr(services.order_services, "cancel_deal_order", decided_meanwhile)
    order_state = Order.objects.get(pk=pledge.order_id).state
    assert said(lambda: services.cancel_pledge(pledge=pledge, actor=buyer)) == ("closed", TOO_LATE)
    assert Pledge.objects.get(pk=pledge.pk).state == Pledge.State.ACTIVE
    assert Order.objects.get(pk=pledge.order_id).state == order_state != Order.State.CANCELLED
    fresh = _fresh(project)
    assert (fresh.backers, fresh.pledged_fen) == (1, pledge.amount_fen)


def test_a_pledge_that_could_not_be_moved_keeps_its_project_unsettled(
    make_project, make_user, back_and_pay, monkeypatch
):
    project = make_project(days=1, target_value=10**7)
    other = make_project(days=1, target_value=10**7)  # settled meanwhile: not what is asked
    stuck, moved = (back_and_pay(_tiers(project)[0], make_user()) for _ in range(2))
    back_and_pay(_tiers(other)[0], make_user())
    moment = max(project.deadline, other.deadline) + timedelta(minutes=1)
    settle_pledge = services._settle_pledge

    def skip_the_stuck_one(pledge, **kwargs):
        # As when another worker holds it (SKIP LOCKED passes it over on PostgreSQL).
        return False if pledge.pk == stuck.pk else settle_pledge(pledge, **kwargs)

    monkeypatch.setattr(services, "_settle_pledge", skip_the_stuck_one)
    services.settle(moment)
    assert Pledge.objects.get(pk=moved.pk).state == Pledge.State.REFUNDED
    assert _fresh(project).settled_at is None
    assert _fresh(other).settled_at == moment


def test_settling_a_settled_project_again_keeps_its_moment(make_project, buyer, back_and_pay):
    project = make_project(days=1, target_value=10**7)
    back_and_pay(_tiers(project)[0], buyer)
    moment = project.deadline + timedelta(minutes=1)
    services.settle(moment)
    assert services.settle_pledges_of(project=_fresh(project), now=moment + timedelta(days=1)) == 0
    assert _fresh(project).settled_at == moment


def test_a_cancelled_pledges_order_names_the_buyer_and_why(project, buyer, back_and_pay):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    services.cancel_pledge(pledge=pledge, actor=buyer)
    order = Order.objects.get(pk=pledge.order_id)
    assert order.cancel_reason == Order.CancelReason.BUYER
    assert order.events.get(kind="cancelled").actor == buyer


def test_a_tier_read_exactly_at_its_limit_is_sold_out_at_once(project, make_user, monkeypatch):
    _, limited = _tiers(project)  # limit 2
    for _ in range(2):
        _back(limited, make_user())
    full = RewardTier.objects.get(pk=limited.pk)
    orders_before = Order.objects.count()
    # Answered from the row as read, before any order is placed.
    monkeypatch.setattr(
        services.order_services, "place_deal_order", lambda **kwargs: pytest.fail("placed")
    )
    assert said(lambda: _back(full, make_user())) == SOLD_OUT
    assert Order.objects.count() == orders_before


def test_a_fen_target_is_not_reached_by_units(make_project, buyer, back_and_pay):
    # A tier may give 1,000 units for 1 fen: the units pass a target of 100, the fen do not.
    project = make_project(target_value=100, tiers=[tier_spec(price_fen=1, units=1000)])
    back_and_pay(_tiers(project)[0], buyer)
    assert services.decide_outcome(project=project, now=project.deadline) is True
    assert _fresh(project).state == Project.State.FAILED


# --- a capture whose event was lost or came late -----------------------------------------------


def _refunded_in_full(order_pk: int) -> bool:
    order = Order.objects.get(pk=order_pk)
    return order.state == Order.State.CANCELLED and order.refunded_fen == order.total_fen > 0


def test_the_settle_refunds_a_pending_pledge_whose_capture_was_never_counted(project, buyer):
    pledge = _back(_tiers(project)[0], buyer)
    record_capture(pledge.order.checkout)  # its event never delivered
    services.settle(project.deadline)
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert (pledge.state, pledge.closed_at) == (Pledge.State.CANCELLED, project.deadline)
    assert _refunded_in_full(pledge.order_id)
    assert _tiers(project)[0].claimed == 0
    assert _fresh(project).backers == 0


def test_the_unpaid_sweep_counts_a_lost_capture_and_goes_on_to_the_next_pledge(
    project, buyer, make_user
):
    first, second_tier = _tiers(project)
    start = clock.now()
    with clock.frozen_at(start):
        captured = _back(first, buyer)
    with clock.frozen_at(start + timedelta(minutes=1)):
        unpaid = _back(second_tier, make_user())
    record_capture(captured.order.checkout)  # its event never delivered
    after_both_windows = unpaid.expires_at + timedelta(seconds=1)
    assert services.expire_unpaid_pledges(after_both_windows) == 1
    assert Pledge.objects.get(pk=captured.pk).state == Pledge.State.ACTIVE
    assert Pledge.objects.get(pk=unpaid.pk).state == Pledge.State.CANCELLED
    assert _fresh(project).backers == 1


def test_a_capture_after_the_deadline_closes_the_pledge_at_that_moment(project, buyer, pay):
    pledge = _back(_tiers(project)[0], buyer)
    late = project.deadline + timedelta(seconds=30)
    with clock.frozen_at(late):
        pay(pledge.order.checkout)
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert (pledge.state, pledge.closed_at) == (Pledge.State.CANCELLED, late)
    assert _refunded_in_full(pledge.order_id)
    assert _fresh(project).backers == 0
