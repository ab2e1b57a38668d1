"""Group buying services: every rule and every bad input (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.communities import services as community_services
from shoploop.core import clock
from shoploop.core.deadlines import settle_due
from shoploop.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from shoploop.core.events import recorded_events
from shoploop.core.models import OutboxEvent
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, Seat
from shoploop.ledger.models import Payment
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for, as_buyer

pytestmark = pytest.mark.django_db


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _state(obj):
    obj.refresh_from_db()
    return obj.state


def _sku_stock(sku):
    return SKU.objects.get(pk=sku.pk).stock


# --- campaigns --------------------------------------------------------------------------------


def test_creating_a_campaign_carves_its_stock_from_the_sku(make_campaign, sku):
    before = _sku_stock(sku)
    campaign = make_campaign(sku=sku, stock=4, leader_price_fen=2900, min_paid_to_complete=2)
    assert campaign.state == GroupCampaign.State.ACTIVE
    assert (campaign.stock, campaign.stock_total) == (4, 4)
    assert campaign.group_minutes == 24 * 60
    assert _sku_stock(sku) == before - 4


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"group_price_fen": 5900}, "group_price_too_high"),
        ({"group_price_fen": 9999}, "group_price_too_high"),
        ({"group_price_fen": 0}, "invalid"),
        ({"leader_price_fen": 4000}, "leader_price_too_high"),
        ({"group_size": 1}, "group_size_out_of_range"),
        ({"group_size": 51}, "group_size_out_of_range"),
        ({"group_size": "3"}, "invalid"),
        ({"group_minutes": 4}, "group_time_out_of_range"),
        ({"group_minutes": 72 * 60 + 1}, "group_time_out_of_range"),
        ({"min_paid_to_complete": 3}, "min_paid_out_of_range"),
        ({"min_paid_to_complete": 0}, "min_paid_out_of_range"),
        ({"stock": 11}, "stock_above_sku"),
        ({"stock": 0}, "stock_too_low"),
        ({"per_user_limit": 0}, "per_user_limit_out_of_range"),
    ],
)
def test_settings_that_make_no_sense_are_refused_and_nothing_changes(
    make_campaign, sku, overrides, code
):
    with pytest.raises(ValidationFailed) as error:
        make_campaign(sku=sku, **overrides)
    assert error.value.code == code
    assert error.value.status == 422
    assert not GroupCampaign.objects.exists()
    assert _sku_stock(sku) == 10


def test_a_window_in_the_past_or_ending_before_it_starts_is_refused(make_campaign, sku):
    now = clock.now()
    with pytest.raises(ValidationFailed) as error:
        make_campaign(sku=sku, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert error.value.code == "window_in_past"
    with pytest.raises(ValidationFailed) as error:
        make_campaign(sku=sku, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=1))
    assert error.value.code == "window_ends_before_start"
    assert not GroupCampaign.objects.exists()


def test_another_merchants_sku_is_forbidden(make_campaign, make_sku, other_shop, merchant):
    foreign = make_sku(shop=other_shop)
    with pytest.raises(PermissionDenied):
        make_campaign(sku=foreign)
    assert _sku_stock(foreign) == 10


def test_pause_resume_and_end_are_the_merchants_alone(campaign, other_merchant, merchant, sku):
    with pytest.raises(PermissionDenied):
        services.pause_campaign(campaign=campaign, actor=other_merchant)
    assert services.pause_campaign(campaign=campaign, actor=merchant).state == "paused"
    # Idempotent: pausing twice is still paused.
    assert services.pause_campaign(campaign=campaign, actor=merchant).state == "paused"
    assert services.resume_campaign(campaign=campaign, actor=merchant).state == "active"
    assert _state(campaign) == "active"
    with pytest.raises(PermissionDenied):
        services.end_campaign(campaign=campaign, actor=other_merchant)
    stock_before = _sku_stock(sku)
    services.end_campaign(campaign=campaign, actor=merchant)
    services.end_campaign(campaign=campaign, actor=merchant)
    campaign.refresh_from_db()
    assert (campaign.state, campaign.stock) == ("ended", 0)
    assert _sku_stock(sku) == stock_before + 10  # returned once
    with pytest.raises(Conflict):
        services.resume_campaign(campaign=campaign, actor=merchant)


def test_paused_campaign_takes_no_new_groups(campaign, merchant, buyer):
    services.pause_campaign(campaign=campaign, actor=merchant)
    with pytest.raises(Conflict) as error:
        services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    assert error.value.code == "campaign_not_active"
    assert not Group.objects.exists()


# --- opening and joining ----------------------------------------------------------------------


def test_opening_reserves_a_seat_and_a_unit_and_places_an_order(campaign, buyer):
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    group = seat.group
    assert seat.is_leader and seat.state == Seat.State.RESERVED
    assert seat.reserved_until == seat.created_at + timedelta(minutes=5)
    assert (group.seats_taken, group.paid_count, group.size) == (1, 0, 3)
    assert group.deadline == group.created_at + timedelta(hours=24)
    assert seat.order.total_fen == 3900
    assert seat.order.checkout.deal_ref == f"group_seat:{seat.public_id}"
    assert _payment(seat.order).amount == 3900
    campaign.refresh_from_db()
    assert campaign.stock == 9


def test_leader_pays_the_leader_price(make_campaign, sku, buyer):
    campaign = make_campaign(sku=sku, leader_price_fen=2900)
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    assert seat.order.total_fen == 2900


def test_leader_payment_holds_the_money_and_opens_the_group_to_others(opened, buyer):
    seat = opened.seats.get()
    assert seat.state == Seat.State.PAID
    assert seat.order.state == Order.State.AWAITING_DEAL
    assert opened.paid_count == 1 and opened.state == "open"
    assert verify_ledger().ok


def test_nobody_joins_before_the_leader_paid(campaign, buyer, buyers):
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    with pytest.raises(Conflict) as error:
        services.join_group(group=seat.group, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert error.value.code == "group_not_ready"


def test_last_paid_seat_completes_the_group_and_every_order_goes_to_fulfilment(opened, buyers, pay):
    with recorded_events() as events:
        for member in buyers[:2]:
            seat = services.join_group(group=opened, user=member, address_id=address_id_for(member))
            pay(seat.order.checkout)
    opened.refresh_from_db()
    assert opened.state == Group.State.SUCCEEDED and opened.paid_count == 3
    orders = [seat.order for seat in opened.seats.all()]
    assert [order.state for order in orders] == [Order.State.PAID] * 3
    succeeded = [event for event in events if event.name == "deals.group.completed"]
    assert len(succeeded) == 1
    assert len(succeeded[0].payload["member_public_ids"]) == 3
    assert succeeded[0].payload["shop_public_id"] == opened.campaign.shop.public_id
    assert verify_ledger().ok


def test_join_rules_give_clear_errors(opened, buyer, buyers, pay, merchant):
    with pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=buyer, address_id=address_id_for(buyer))
    assert error.value.code == "leader_in_group"
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    with pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert error.value.code == "already_joined"
    with pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=merchant, address_id=address_id_for(merchant))
    assert error.value.code == "own_shop"
    services.join_group(group=opened, user=buyers[1], address_id=address_id_for(buyers[1]))
    with pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=buyers[2], address_id=address_id_for(buyers[2]))
    assert error.value.code == "group_full"
    opened.refresh_from_db()
    assert opened.seats_taken == 3
    pay(seat.order.checkout)


def test_joining_a_finished_or_failed_group_is_refused(opened, buyers, pay):
    for member in buyers[:2]:
        pay(
            services.join_group(
                group=opened, user=member, address_id=address_id_for(member)
            ).order.checkout
        )
    opened.refresh_from_db()
    with pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=buyers[3], address_id=address_id_for(buyers[3]))
    assert error.value.code == "group_closed"


def test_joining_after_the_deadline_is_refused(opened, buyers):
    with clock.frozen_at(opened.deadline + timedelta(seconds=1)), pytest.raises(Conflict) as error:
        services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert error.value.code == "group_closed"


def test_per_user_limit_per_campaign(campaign, buyers, pay):
    leader_seat = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader_seat.order.checkout)
    services.join_group(
        group=leader_seat.group, user=buyers[1], address_id=address_id_for(buyers[1])
    )
    with pytest.raises(Conflict) as error:
        services.open_group(campaign=campaign, user=buyers[1], address_id=address_id_for(buyers[1]))
    assert error.value.code == "per_user_limit"


def test_a_freed_or_refunded_seat_no_longer_counts_against_the_limit(
    make_campaign, sku, buyers, pay, committed
):
    campaign = make_campaign(sku=sku, per_user_limit=1)
    first = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(first.order.checkout)
    second = services.open_group(
        campaign=campaign, user=buyers[1], address_id=address_id_for(buyers[1])
    )
    pay(second.order.checkout)
    seat = services.join_group(
        group=first.group, user=buyers[2], address_id=address_id_for(buyers[2])
    )
    with pytest.raises(Conflict) as error:
        services.join_group(
            group=second.group, user=buyers[2], address_id=address_id_for(buyers[2])
        )
    assert error.value.code == "per_user_limit"
    assert services.on_payment_failed(seat.order)  # the seat is freed: the limit is free again
    seat = services.join_group(
        group=second.group, user=buyers[2], address_id=address_id_for(buyers[2])
    )
    pay(seat.order.checkout)
    with committed():
        services.settle_groups(second.group.deadline)  # fails: both paid members refunded
    assert _state(seat) == Seat.State.REFUNDED
    assert (
        services.open_group(
            campaign=campaign, user=buyers[2], address_id=address_id_for(buyers[2])
        ).state
        == Seat.State.RESERVED
    )
    assert verify_ledger().ok


def test_sold_out_campaign_refuses_and_changes_nothing(make_campaign, sku, buyers, pay):
    campaign = make_campaign(sku=sku, stock=2, per_user_limit=1)
    leader = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader.order.checkout)
    services.join_group(group=leader.group, user=buyers[1], address_id=address_id_for(buyers[1]))
    with pytest.raises(Conflict) as error:
        services.join_group(
            group=leader.group, user=buyers[2], address_id=address_id_for(buyers[2])
        )
    assert error.value.code == "sold_out"
    leader.group.refresh_from_db()
    assert leader.group.seats_taken == 2
    assert not Seat.objects.filter(user=buyers[2]).exists()
    assert not Order.objects.filter(buyer=buyers[2]).exists()


def test_only_members_of_the_campaigns_communities_may_join(make_campaign, sku, buyers, pay):
    community = community_services.create_community(actor=buyers[5], name="咖啡同好", tags=["咖啡"])
    campaign = make_campaign(sku=sku, communities=[community])
    with pytest.raises(PermissionDenied) as error:
        services.open_group(campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert error.value.code == "community_only"
    community_services.join_community(actor=buyers[0], community=community)
    seat = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(seat.order.checkout)
    with pytest.raises(PermissionDenied):
        services.join_group(group=seat.group, user=buyers[1], address_id=address_id_for(buyers[1]))
    assert (
        services.join_group(
            group=seat.group, user=buyers[5], address_id=address_id_for(buyers[5])
        ).state
        == Seat.State.RESERVED
    )


def test_not_signed_in_cannot_open(campaign):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(DomainError) as error:
        services.open_group(campaign=campaign, **as_buyer(AnonymousUser()))
    assert error.value.status == 401


def test_campaign_not_started_refuses(make_campaign, sku, buyer):
    now = clock.now()
    campaign = make_campaign(
        sku=sku, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    with pytest.raises(Conflict) as error:
        services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    assert error.value.code == "campaign_not_started"


# --- payments after the seat is gone, failed payments -----------------------------------------


def test_payment_for_a_freed_seat_is_refunded_automatically(opened, buyers, pay, committed):
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    with committed():
        assert services.free_unpaid_seats(seat.reserved_until) == 1
    assert _state(seat) == Seat.State.FREED
    opened.refresh_from_db()
    assert opened.seats_taken == 1
    with committed():
        pay(seat.order.checkout)
    payment = _payment(seat.order)
    assert payment.refunded_fen == payment.captured_fen == 3900
    opened.refresh_from_db()
    assert opened.paid_count == 1
    assert verify_ledger().ok


def test_a_failed_payment_frees_the_seat_and_its_unit(opened, buyers, campaign):
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    campaign.refresh_from_db()
    stock = campaign.stock
    assert services.on_payment_failed(seat.order)
    assert not services.on_payment_failed(seat.order)
    assert _state(seat) == Seat.State.FREED
    campaign.refresh_from_db()
    assert campaign.stock == stock + 1
    # The buyer may try again.
    assert (
        services.join_group(
            group=opened, user=buyers[0], address_id=address_id_for(buyers[0])
        ).state
        == Seat.State.RESERVED
    )


def test_replayed_success_changes_nothing(opened, buyers, pay):
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    pay(seat.order.checkout)
    seat.order.refresh_from_db()
    assert services.on_payment_succeeded(seat.order) == "unchanged"
    opened.refresh_from_db()
    assert opened.paid_count == 2


# --- deadlines --------------------------------------------------------------------------------


def test_unpaid_seats_are_freed_after_five_minutes_not_before(opened, buyers, campaign):
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    assert services.free_unpaid_seats(seat.reserved_until - timedelta(seconds=1)) == 0
    assert services.free_unpaid_seats(seat.reserved_until) == 1
    assert services.free_unpaid_seats(seat.reserved_until) == 0
    seat.order.refresh_from_db()
    assert seat.order.state == Order.State.CANCELLED
    assert seat.order.cancel_reason == Order.CancelReason.EXPIRED
    campaign.refresh_from_db()
    assert campaign.stock == 9  # only the leader's unit is held


def test_unpaid_leader_takes_the_group_down(campaign, buyer):
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    services.free_unpaid_seats(seat.reserved_until)
    assert _state(seat.group) == Group.State.FAILED
    campaign.refresh_from_db()
    assert campaign.stock == 10


def test_a_captured_payment_whose_event_was_lost_is_settled_not_cancelled(opened, buyers):

    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    payment = _payment(seat.order)
    # Captured, but the subscriber never ran (no on-commit callbacks executed).
    report_payment(payment)
    assert services.free_unpaid_seats(seat.reserved_until) == 1
    assert _state(seat) == Seat.State.PAID
    opened.refresh_from_db()
    assert opened.paid_count == 2
    assert verify_ledger().ok


def test_group_fails_at_the_deadline_and_everyone_is_refunded_once(
    opened, buyers, pay, committed, campaign, sku
):
    paid = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    pay(paid.order.checkout)
    unpaid = services.join_group(group=opened, user=buyers[1], address_id=address_id_for(buyers[1]))
    with recorded_events() as events, committed():
        assert services.settle_groups(opened.deadline) == 1
        assert services.settle_groups(opened.deadline) == 0
    assert _state(opened) == Group.State.FAILED
    states = dict(opened.seats.values_list("user_id", "state"))
    assert states[paid.user_id] == Seat.State.REFUNDED
    assert states[unpaid.user_id] == Seat.State.FREED
    for seat in opened.seats.filter(state=Seat.State.REFUNDED):
        payment = _payment(seat.order)
        assert payment.refunded_fen == payment.captured_fen == 3900
    campaign.refresh_from_db()
    assert campaign.stock == 10
    assert [e.name for e in events].count("deals.group.failed") == 1
    assert verify_ledger().ok
    # Nobody paid in the end: the leader and the paid member were both refunded.
    opened.refresh_from_db()
    assert (opened.paid_count, opened.seats_taken, opened.refunded_count) == (0, 0, 2)


def test_k_rule_completes_with_the_paid_members(make_campaign, sku, buyers, pay, committed):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=2)
    leader = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader.order.checkout)
    member = services.join_group(
        group=leader.group, user=buyers[1], address_id=address_id_for(buyers[1])
    )
    pay(member.order.checkout)
    unpaid = services.join_group(
        group=leader.group, user=buyers[2], address_id=address_id_for(buyers[2])
    )
    group = leader.group
    with committed():
        settle_due(group.deadline)
    assert _state(group) == Group.State.SUCCEEDED
    assert _state(unpaid) == Seat.State.FREED
    unpaid.order.refresh_from_db()
    assert unpaid.order.state == Order.State.CANCELLED
    for seat in (leader, member):
        seat.order.refresh_from_db()
        assert seat.order.state == Order.State.PAID
    group.refresh_from_db()
    assert (group.paid_count, group.seats_taken, group.refunded_count) == (2, 2, 0)
    campaign.refresh_from_db()
    assert campaign.stock == 8  # two sold, the unpaid seat's unit back
    assert verify_ledger().ok


def test_k_rule_frees_a_seat_still_being_paid_at_the_deadline(
    make_campaign, sku, buyers, pay, committed
):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=1)
    leader = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader.order.checkout)
    group = leader.group
    with clock.frozen_at(group.deadline - timedelta(minutes=1)):
        late = services.join_group(
            group=group, user=buyers[1], address_id=address_id_for(buyers[1])
        )  # held past the deadline
    with committed():
        settle_due(group.deadline)
    assert _state(group) == Group.State.SUCCEEDED and _state(late) == Seat.State.FREED
    group.refresh_from_db()
    assert (group.paid_count, group.seats_taken) == (1, 1)
    campaign.refresh_from_db()
    assert campaign.stock == 9
    assert verify_ledger().ok


def test_k_rule_below_k_fails(make_campaign, sku, buyers, pay, committed):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=3)
    leader = services.open_group(
        campaign=campaign, user=buyers[0], address_id=address_id_for(buyers[0])
    )
    pay(leader.order.checkout)
    with committed():
        settle_due(leader.group.deadline)
    assert _state(leader.group) == Group.State.FAILED
    assert _payment(leader.order).refunded_fen == 3900


def test_a_payment_arriving_after_the_group_failed_is_refunded(opened, buyers, pay, committed):
    seat = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    with committed():
        services.settle_groups(opened.deadline)
    with committed():
        pay(seat.order.checkout)
    payment = _payment(seat.order)
    assert payment.refunded_fen == payment.captured_fen
    assert verify_ledger().ok


def test_campaign_window_end_returns_leftover_stock_once(campaign, sku, buyer, pay, committed):
    seat = services.open_group(campaign=campaign, user=buyer, address_id=address_id_for(buyer))
    pay(seat.order.checkout)
    before = _sku_stock(sku)
    assert services.end_campaigns(campaign.ends_at) == 1
    assert services.end_campaigns(campaign.ends_at) == 0
    campaign.refresh_from_db()
    assert (campaign.state, campaign.stock) == ("ended", 0)
    assert _sku_stock(sku) == before + 9
    # The group it left open fails later: its unit goes straight back to the SKU.
    with committed():
        services.settle_groups(seat.group.deadline)
    assert _sku_stock(sku) == before + 10
    assert verify_ledger().ok


def test_deadline_handlers_are_registered():
    from shoploop.core.deadlines import registered_handlers

    assert {
        "deals_groups.free_unpaid_seats",
        "deals_groups.settle_groups",
        "deals_groups.end_campaigns",
    } <= set(registered_handlers())


def test_expired_empty_groups_close_in_bulk_and_groups_with_money_one_by_one(
    opened, campaign, buyers, pay, committed, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(services, "CLOSE_BATCH_SIZE", 2)
    member = services.join_group(group=opened, user=buyers[0], address_id=address_id_for(buyers[0]))
    pay(member.order.checkout)
    empties = Group.objects.bulk_create(
        Group(campaign=campaign, leader=buyers[1], size=3, deadline=opened.deadline)
        for _ in range(5)
    )
    stock = GroupCampaign.objects.get(pk=campaign.pk).stock
    with recorded_events() as events, committed(), CaptureQueriesContext(connection) as queries:
        assert services.settle_groups(opened.deadline) == 6
        assert services.settle_groups(opened.deadline) == 0
    bulk = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('UPDATE "deals_groups_group" SET "state"')
        and "IN (" in query["sql"]
    ]
    assert len(bulk) == 3  # 5 empty groups in batches of 2: 2 + 2 + 1
    assert set(Group.objects.values_list("state", flat=True)) == {Group.State.FAILED}
    failed = [event for event in events if event.name == "deals.group.failed"]
    assert {event.payload["group_public_id"] for event in failed} == {
        group.public_id for group in [*empties, opened]
    }
    assert [
        e.payload["member_public_ids"]
        for e in failed
        if e.payload["group_public_id"] == opened.public_id
    ]
    # Only the group with members gave units back (its 2 seats) and refunded its 2 payments.
    assert GroupCampaign.objects.get(pk=campaign.pk).stock == stock + 2
    for seat in opened.seats.all():
        assert _state(seat) == Seat.State.REFUNDED
        assert _payment(seat.order).refunded_fen == 3900
    assert verify_ledger().ok


def test_closing_empty_groups_costs_the_same_statements_for_two_as_for_twenty(
    campaign, buyers, committed
):
    """Each closed group still has its ``deals.group.failed`` event, but the batch's events are
    written by one INSERT and delivered in one chunk, and nobody is told of a group nobody held a
    seat in: the cost of a batch does not grow with its groups."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shoploop.notifications.models import Notification

    def close(count: int, deadline) -> int:
        Group.objects.bulk_create(
            Group(campaign=campaign, leader=buyers[1], size=3, deadline=deadline)
            for _ in range(count)
        )
        with CaptureQueriesContext(connection) as q, recorded_events() as events, committed():
            assert services.settle_groups(deadline) == count
        assert [e.name for e in events] == ["deals.group.failed"] * count
        return len(q.captured_queries)

    deadline = clock.now() + timedelta(days=2)
    assert close(2, deadline) == close(20, deadline + timedelta(hours=1))
    failed = OutboxEvent.objects.filter(name="deals.group.failed")
    assert failed.count() == 22 and not failed.filter(delivered_at__isnull=True).exists()
    assert not Notification.objects.exists()
