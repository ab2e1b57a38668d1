"""Crowdfunding services: rules, bad input, money through the ledger, settling exactly once."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project, RewardTier
from shoploop.deals.crowdfunding.tests.conftest import tier_spec
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _tiers(project):
    return list(project.tiers.order_by("position"))


def _after_deadline(project):
    return project.deadline + timedelta(seconds=1)


def _reload(row):
    row.refresh_from_db()
    return row


# --- creating -------------------------------------------------------------------------------


def test_create_project_with_tiers(project, shop):
    assert project.state == Project.State.LIVE
    assert project.shop == shop
    first, second = _tiers(project)
    assert (first.price_fen, first.units, first.limit) == (9900, 1, None)
    assert (second.price_fen, second.units, second.limit, second.claimed) == (19900, 2, 2, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deadline": -timedelta(hours=1)}, "deadline"),
        ({"deadline": timedelta(days=200)}, "deadline"),
        ({"target_value": 0}, "target_value"),
        ({"target_value": -5}, "target_value"),
        ({"target_kind": "likes"}, "target_kind"),
        ({"title": "  "}, "title"),
        ({"tiers": []}, "tiers"),
        ({"tiers": [tier_spec(price_fen=0)]}, "tiers.0.price_fen"),
        ({"tiers": [tier_spec(price_fen=-1)]}, "tiers.0.price_fen"),
        ({"tiers": [tier_spec(units=0)]}, "tiers.0.units"),
        ({"tiers": [tier_spec(limit=0)]}, "tiers.0.limit"),
        ({"tiers": [tier_spec(days=1)]}, "tiers.0.estimated_delivery"),
    ],
)
def test_create_rejects_bad_input(shop, change, field):
    args = {
        "actor": shop.owner,
        "title": "新品",
        "story": "故事",
        "target_kind": "fen",
        "target_value": 10000,
        "deadline": clock.now() + timedelta(days=7),
        "tiers": [tier_spec()],
    }
    change = dict(change)  # the parameter is shared by every run of this test in the process
    if "deadline" in change:
        args["deadline"] = clock.now() + change.pop("deadline")
    args.update(change)
    with pytest.raises(ValidationFailed) as error:
        services.create_project(**args)
    assert field in error.value.fields
    assert not Project.objects.exists()


def test_only_an_approved_shop_creates(buyer):
    with pytest.raises(PermissionDenied):
        services.create_project(
            actor=buyer,
            title="x",
            story="y",
            target_kind="fen",
            target_value=100,
            deadline=clock.now() + timedelta(days=3),
            tiers=[tier_spec()],
        )
    with pytest.raises(NotAuthenticated):
        services.creator_shop(actor=None)


def test_updates_only_by_the_creator(project, other_merchant, buyer):
    update = services.post_update(project=project, actor=project.shop.owner, body="  打样完成 ")
    assert update.body == "打样完成"
    for intruder in (other_merchant, buyer):
        with pytest.raises(PermissionDenied):
            services.post_update(project=project, actor=intruder, body="假消息")
    with pytest.raises(ValidationFailed):
        services.post_update(project=project, actor=project.shop.owner, body=" ")


# --- backing --------------------------------------------------------------------------------


def test_back_and_pay_holds_money_and_counts(project, buyer, back_and_pay):
    tier = _tiers(project)[1]
    pledge = services.back(tier=tier, user=buyer, address_id=address_id_for(buyer))
    assert pledge.state == Pledge.State.PENDING_PAYMENT
    assert pledge.order.state == Order.State.PENDING_PAYMENT
    assert pledge.order.total_fen == 19900
    assert "会发光的手冲壶 · 双壶档" in pledge.order.lines.get().title
    assert _reload(tier).claimed == 1
    assert _reload(project).backers == 0  # counted once paid
    services.cancel_pledge(pledge=pledge, actor=buyer)

    with recorded_events() as events:
        pledge = back_and_pay(tier, buyer)
    assert pledge.state == Pledge.State.ACTIVE
    assert _reload(pledge.order).state == Order.State.AWAITING_DEAL
    (paid,) = [e.payload for e in events if e.name == "crowdfunding.pledge.paid"]
    assert paid["shop_public_id"] == project.shop.public_id
    assert paid["community_public_id"] is None
    project = _reload(project)
    assert (project.pledged_fen, project.pledged_units, project.backers) == (19900, 2, 1)
    assert verify_ledger().ok


def test_replayed_payment_event_counts_once(project, buyer, back_and_pay):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    assert services.on_payment_succeeded(pledge.order) == "unchanged"
    assert _reload(project).backers == 1


def test_back_rules(project, buyer, make_user, back_and_pay):
    first, limited = _tiers(project)
    services.back(tier=first, user=buyer, address_id=address_id_for(buyer))
    with pytest.raises(Conflict) as error:
        services.back(tier=limited, user=buyer, address_id=address_id_for(buyer))
    assert error.value.code == "already_backed"
    with pytest.raises(Conflict) as error:
        services.back(
            tier=first, user=project.shop.owner, address_id=address_id_for(project.shop.owner)
        )
    assert error.value.code == "own_project"
    with pytest.raises(NotAuthenticated):
        services.back(tier=first, user=None, address_id=address_id_for(None))
    services.back(tier=limited, **as_buyer(make_user()))
    back_and_pay(limited, make_user())
    with pytest.raises(Conflict) as error:
        services.back(tier=limited, **as_buyer(make_user()))
    assert error.value.code == "tier_sold_out"
    assert _reload(limited).claimed == 2
    assert Pledge.objects.count() == 3


def test_backing_after_the_deadline_is_refused(project, buyer):
    with clock.frozen_at(_after_deadline(project)), pytest.raises(Conflict) as error:
        services.back(tier=_tiers(project)[0], user=buyer, address_id=address_id_for(buyer))
    assert error.value.code == "closed"
    assert not Pledge.objects.exists()


def test_cancel_paid_pledge_refunds_once(project, buyer, back_and_pay, committed):
    tier = _tiers(project)[1]
    pledge = back_and_pay(tier, buyer)
    with committed():
        services.cancel_pledge(pledge=pledge, actor=buyer)
    pledge = _reload(pledge)
    assert pledge.state == Pledge.State.CANCELLED
    order = _reload(pledge.order)
    assert order.state == Order.State.CANCELLED
    assert order.refunded_fen == 19900
    project = _reload(project)
    assert (project.pledged_fen, project.pledged_units, project.backers) == (0, 0, 0)
    assert _reload(tier).claimed == 0
    with pytest.raises(Conflict):
        services.cancel_pledge(pledge=pledge, actor=buyer)
    assert _reload(pledge.order).refunded_fen == 19900
    assert verify_ledger().ok


def test_cancel_rules(project, buyer, other_merchant, back_and_pay, monkeypatch):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    with pytest.raises(PermissionDenied):
        services.cancel_pledge(pledge=pledge, actor=other_merchant)
    with clock.frozen_at(_after_deadline(project)), pytest.raises(Conflict) as error:
        services.cancel_pledge(pledge=pledge, actor=buyer)
    assert error.value.code == "closed"
    assert _reload(pledge).state == Pledge.State.ACTIVE
    # Decided between the read and the counters (which come last and refuse): the whole
    # cancellation is rolled back, the hold stays for the settle to charge or refund.
    monkeypatch.setattr(services, "_count", lambda *args: 0)
    with pytest.raises(Conflict) as error:
        services.cancel_pledge(pledge=pledge, actor=buyer)
    assert error.value.code == "closed"
    assert _reload(pledge).state == Pledge.State.ACTIVE
    order = Order.objects.get(pk=pledge.order_id)
    assert (order.state, order.refunded_fen) == (Order.State.AWAITING_DEAL, 0)
    assert verify_ledger().ok


def test_payment_after_the_project_closed_is_refunded(project, buyer, pay, committed):
    tier = _tiers(project)[1]
    pledge = services.back(tier=tier, user=buyer, address_id=address_id_for(buyer))
    with clock.frozen_at(_after_deadline(project)):
        services.decide_outcome(project=project, now=clock.now())
    payment = pay(pledge.order.checkout)
    assert payment.state == "succeeded"
    pledge = _reload(pledge)
    assert pledge.state == Pledge.State.CANCELLED
    order = _reload(pledge.order)
    assert order.state == Order.State.CANCELLED
    assert order.refunded_fen == order.total_fen
    assert _reload(project).backers == 0
    assert verify_ledger().ok


def test_unpaid_pledges_are_freed_after_the_window(project, buyer):
    tier = _tiers(project)[1]
    pledge = services.back(tier=tier, user=buyer, address_id=address_id_for(buyer))
    assert services.expire_unpaid_pledges(clock.now()) == 0
    later = pledge.expires_at + timedelta(seconds=1)
    assert settle_due(later)["deals_crowdfunding.expire_unpaid"] == 1
    assert _reload(pledge).state == Pledge.State.CANCELLED
    assert _reload(pledge.order).state == Order.State.CANCELLED
    assert _reload(tier).claimed == 0
    assert services.expire_unpaid_pledges(later) == 0


def test_a_lost_payment_event_is_settled_by_the_sweep(project, buyer, pay, monkeypatch):
    pledge = services.back(tier=_tiers(project)[0], user=buyer, address_id=address_id_for(buyer))
    # The payment is captured but its event never reaches crowdfunding (a crashed subscriber).
    from shoploop.deals import handlers as deal_handlers

    monkeypatch.setattr(deal_handlers, "kind_for", lambda ref: None)
    pay(pledge.order.checkout)
    assert _reload(pledge).state == Pledge.State.PENDING_PAYMENT
    monkeypatch.undo()
    services.expire_unpaid_pledges(pledge.expires_at + timedelta(seconds=1))
    assert _reload(pledge).state == Pledge.State.ACTIVE
    assert _reload(project).backers == 1
    assert verify_ledger().ok


# --- settling -------------------------------------------------------------------------------


def _fund(project, users, back_and_pay):
    tier = _tiers(project)[0]
    return [back_and_pay(tier, user) for user in users]


def test_target_reached_charges_every_backer(make_project, backers, back_and_pay, make_user):
    project = make_project(target_value=3 * 9900)
    pledges = _fund(project, backers[:3], back_and_pay)
    unpaid = services.back(tier=_tiers(project)[0], **as_buyer(make_user()))
    now = _after_deadline(project)
    settled = settle_due(now)
    # The unpaid pledge's window closed long before the deadline: the sweep frees it.
    assert settled["deals_crowdfunding.expire_unpaid"] == 1
    assert settled["deals_crowdfunding.settle"] == 3
    project = _reload(project)
    assert project.state == Project.State.SUCCEEDED
    assert project.settled_at is not None
    for pledge in pledges:
        assert _reload(pledge).state == Pledge.State.CHARGED
        assert _reload(pledge.order).state == Order.State.PAID
    assert _reload(unpaid).state == Pledge.State.CANCELLED
    assert _reload(unpaid.order).state == Order.State.CANCELLED
    assert settle_due(now)["deals_crowdfunding.settle"] == 0
    assert verify_ledger().ok


def test_a_pledge_unpaid_at_the_deadline_is_cancelled_by_the_settle(project, buyer):
    # A pledge made a minute before the deadline is still in its payment window then.
    with clock.frozen_at(project.deadline - timedelta(minutes=1)):
        pledge = services.back(
            tier=_tiers(project)[0], user=buyer, address_id=address_id_for(buyer)
        )
    assert pledge.expires_at == project.deadline
    assert services.settle(_after_deadline(project) - timedelta(microseconds=500_000)) == 1
    assert _reload(pledge).state == Pledge.State.CANCELLED
    assert _reload(pledge.order).state == Order.State.CANCELLED


def test_units_target(make_project, backers, back_and_pay):
    project = make_project(target_kind="units", target_value=4)
    limited = _tiers(project)[1]
    back_and_pay(limited, backers[0])
    back_and_pay(limited, backers[1])
    services.settle(_after_deadline(project))
    assert _reload(project).state == Project.State.SUCCEEDED


def test_target_missed_refunds_every_backer(make_project, backers, back_and_pay, committed):
    project = make_project(target_value=10 * 9900)
    pledges = _fund(project, backers[:3], back_and_pay)
    now = _after_deadline(project)
    with committed():
        assert services.settle(now) == 3
    assert _reload(project).state == Project.State.FAILED
    for pledge in pledges:
        assert _reload(pledge).state == Pledge.State.REFUNDED
        order = _reload(pledge.order)
        assert order.state == Order.State.CANCELLED
        assert order.refunded_fen == order.total_fen == 9900
    with committed():
        assert services.settle(now) == 0
    for pledge in pledges:
        assert _reload(pledge.order).refunded_fen == 9900
    assert verify_ledger().ok


def test_settle_crash_half_way_then_rerun_moves_each_pledge_once(
    make_project, backers, back_and_pay, committed, monkeypatch
):
    project = make_project(target_value=100 * 9900)
    pledges = _fund(project, backers, back_and_pay)
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    moved = []

    def crash_on_the_fifth(pledge):
        moved.append(pledge.pk)
        if len(moved) == 5:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "_after_pledge_settled", crash_on_the_fifth)
    now = _after_deadline(project)
    with pytest.raises(RuntimeError), committed():
        services.settle(now)
    states = [_reload(p).state for p in pledges]
    # Two batches of two committed; the third batch (the crash) rolled back whole.
    assert states.count(Pledge.State.REFUNDED) == 4
    assert states.count(Pledge.State.ACTIVE) == 2
    assert _reload(project).state == Project.State.FAILED
    assert _reload(project).settled_at is None
    assert verify_ledger().ok

    monkeypatch.setattr(services, "_after_pledge_settled", lambda pledge: None)
    with committed():
        assert services.settle(now) == 2
    for pledge in pledges:
        assert _reload(pledge).state == Pledge.State.REFUNDED
        order = _reload(pledge.order)
        assert order.refunded_fen == order.total_fen
    assert _reload(project).settled_at is not None
    assert verify_ledger().ok


def test_cancel_project_refunds_backers(project, buyer, other_merchant, back_and_pay, committed):
    pledge = back_and_pay(_tiers(project)[0], buyer)
    with pytest.raises(PermissionDenied):
        services.cancel_project(project=project, actor=other_merchant)
    with committed():
        services.cancel_project(project=project, actor=project.shop.owner)
    assert _reload(project).state == Project.State.CANCELLED
    assert _reload(pledge).state == Pledge.State.REFUNDED
    assert _reload(pledge.order).refunded_fen == 9900
    with pytest.raises(Conflict):
        services.cancel_project(project=project, actor=project.shop.owner)
    assert verify_ledger().ok


def test_tier_claimed_never_exceeds_limit_in_the_database(project):
    limited = _tiers(project)[1]
    assert RewardTier.objects.filter(pk=limited.pk, claimed__lt=2).exists()


def test_pause_stops_new_pledges_only_and_the_deadline_still_settles(
    project, buyer, make_user, other_merchant, back_and_pay
):
    owner = project.shop.owner
    early = back_and_pay(_tiers(project)[0], buyer)
    with pytest.raises(PermissionDenied):
        services.pause_project(project=project, actor=other_merchant)
    assert not _reload(project).is_paused
    services.pause_project(project=project, actor=owner)
    assert services.pause_project(project=project, actor=owner).is_paused  # twice: no change
    late = make_user()
    with pytest.raises(Conflict) as error:
        services.back(tier=_tiers(project)[0], user=late, address_id=address_id_for(late))
    assert error.value.code == "paused"
    assert Pledge.objects.count() == 1 and _tiers(project)[0].claimed == 1
    # Backers already in may still leave while paused.
    services.cancel_pledge(pledge=early, actor=buyer)
    assert (_reload(project).backers, _tiers(project)[0].claimed) == (0, 0)
    services.resume_project(project=project, actor=owner)
    assert not _reload(project).is_paused
    pledge = back_and_pay(_tiers(project)[0], late)
    assert pledge.state == Pledge.State.ACTIVE
    services.pause_project(project=project, actor=owner)
    # A paused project is still decided and settled at its deadline.
    with clock.frozen_at(_after_deadline(project)):
        with pytest.raises(Conflict) as error:
            services.resume_project(project=project, actor=owner)
        assert error.value.code == "project_closed"
        services.settle(clock.now())
    assert _reload(project).state == Project.State.FAILED
    assert _reload(pledge).state == Pledge.State.REFUNDED
    assert verify_ledger().ok


def test_a_payment_after_the_deadline_before_the_settle_is_refunded_not_counted(
    make_project, buyer, pay, committed
):
    # One pledge would reach the target; it is placed a minute before the deadline and its
    # capture arrives after the deadline, before any settle has run.
    project = make_project(target_value=9900)
    tier = _tiers(project)[0]
    with clock.frozen_at(project.deadline - timedelta(minutes=1)):
        pledge = services.back(tier=tier, user=buyer, address_id=address_id_for(buyer))
    assert pledge.expires_at == project.deadline  # the window ends with the project
    with clock.frozen_at(project.deadline + timedelta(seconds=30)), committed():
        payment = pay(pledge.order.checkout)
    assert payment.state == "succeeded"
    assert _reload(project).state == Project.State.LIVE  # not decided yet
    pledge = _reload(pledge)
    assert pledge.state == Pledge.State.CANCELLED
    order = _reload(pledge.order)
    assert order.state == Order.State.CANCELLED
    assert order.refunded_fen == order.total_fen == 9900
    project = _reload(project)
    assert (project.pledged_fen, project.pledged_units, project.backers) == (0, 0, 0)
    assert _reload(tier).claimed == 0
    # The settle does not count it either: the project missed its target.
    with committed():
        services.settle(_after_deadline(project) + timedelta(minutes=1))
    assert _reload(project).state == Project.State.FAILED
    assert _reload(pledge).state == Pledge.State.CANCELLED
    assert _reload(pledge.order).refunded_fen == 9900
    assert verify_ledger().ok


def test_a_payment_just_before_the_deadline_counts(make_project, buyer, pay):
    project = make_project(target_value=9900)
    with clock.frozen_at(project.deadline - timedelta(minutes=1)):
        pledge = services.back(
            tier=_tiers(project)[0], user=buyer, address_id=address_id_for(buyer)
        )
    with clock.frozen_at(project.deadline - timedelta(seconds=1)):
        pay(pledge.order.checkout)
    assert _reload(pledge).state == Pledge.State.ACTIVE
    services.settle(_after_deadline(project))
    assert _reload(project).state == Project.State.SUCCEEDED
    assert _reload(pledge).state == Pledge.State.CHARGED
    assert verify_ledger().ok


def test_a_capture_before_the_deadline_whose_event_was_lost_counts_until_decided(
    make_project, buyer, pay, monkeypatch
):
    # Paid in time; the success event never reached crowdfunding. The sweep, running after the
    # deadline but before the decision, counts it: the capture arrived before the deadline.
    project = make_project(target_value=9900)
    with clock.frozen_at(project.deadline - timedelta(minutes=1)):
        pledge = services.back(
            tier=_tiers(project)[0], user=buyer, address_id=address_id_for(buyer)
        )
    from shoploop.deals import handlers as deal_handlers

    monkeypatch.setattr(deal_handlers, "kind_for", lambda ref: None)
    with clock.frozen_at(project.deadline - timedelta(seconds=1)):
        pay(pledge.order.checkout)
    monkeypatch.undo()
    assert _reload(pledge).state == Pledge.State.PENDING_PAYMENT
    later = _after_deadline(project)
    with clock.frozen_at(later):
        settle_due(later)
    assert _reload(project).state == Project.State.SUCCEEDED
    assert _reload(pledge).state == Pledge.State.CHARGED
    assert verify_ledger().ok
