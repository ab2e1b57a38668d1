"""Group buying's deadlines (deals/groups/services.py: unpaid seats freed, groups settled at their
deadline, campaigns ended), pinned where mutation testing showed that a changed line passed the
suite (docs/mutation.md): which seats and groups each step touches, the moments it records, the
counts it returns, its batches, and the money of a payment captured too late."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.communities import services as community_services
from shoploop.communities.models import Membership
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupCampaign, GroupCampaignSKU, Seat
from shoploop.ledger.models import Payment
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

# The messages are pinned in English (the msgids), whatever the default language.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refusal(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


def _open(campaign, user):
    return services.open_group(campaign=campaign, user=user, address_id=address_id_for(user))


def _join(group, user):
    return services.join_group(group=group, user=user, address_id=address_id_for(user))


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def _paid_group(campaign, leader, pay):
    seat = _open(campaign, leader)
    pay(seat.order.checkout)
    return _fresh(seat.group)


# --- unpaid seats -------------------------------------------------------------------------------


def test_freeing_touches_only_due_seats_of_each_group(campaign, buyers, pay):
    first = _paid_group(campaign, buyers[0], pay)
    second = _paid_group(campaign, buyers[1], pay)
    due_in_first = _join(first, buyers[2])
    due_in_second = _join(second, buyers[3])
    due = max(due_in_first.reserved_until, due_in_second.reserved_until)
    later = services.join_group(group=first, user=buyers[4], address_id=address_id_for(buyers[4]))
    Seat.objects.filter(pk=later.pk).update(reserved_until=due + timedelta(seconds=1))

    assert services.free_unpaid_seats(due) == 2

    assert [_fresh(seat).state for seat in (due_in_first, due_in_second, later)] == [
        Seat.State.FREED,
        Seat.State.FREED,
        Seat.State.RESERVED,
    ]
    assert _fresh(due_in_first).closed_at == due
    # Each group lost exactly its own freed seat.
    assert (_fresh(first).seats_taken, _fresh(second).seats_taken) == (2, 1)


def test_unpaid_seats_are_freed_in_batches_until_none_is_due(campaign, buyers, pay, monkeypatch):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 1)
    groups = [_paid_group(campaign, buyers[i], pay) for i in range(3)]
    seats = [_join(group, buyers[3 + i]) for i, group in enumerate(groups)]
    due = max(seat.reserved_until for seat in seats)

    assert services.free_unpaid_seats(due) == 3
    assert {_fresh(seat).state for seat in seats} == {Seat.State.FREED}


def test_a_lost_capture_found_at_the_seats_deadline_makes_a_paid_member_then(opened, buyers):
    seat = _join(opened, buyers[0])
    report_payment(_payment(seat.order))  # captured; its event never reached the group
    assert services.free_unpaid_seats(seat.reserved_until) == 1
    seat = _fresh(seat)
    assert (seat.state, seat.paid_at) == (Seat.State.PAID, seat.reserved_until)


def test_a_lost_capture_for_a_group_already_closed_is_refunded(opened, buyers, committed):
    seat = _join(opened, buyers[0])
    payment = _payment(seat.order)
    report_payment(payment)
    # The group closed meanwhile (its deadline passed in another worker), the seat still held.
    Group.objects.filter(pk=opened.pk).update(state=Group.State.FAILED)
    with committed():
        assert services.free_unpaid_seats(seat.reserved_until) == 1
    seat = _fresh(seat)
    assert (seat.state, seat.closed_at) == (Seat.State.FREED, seat.reserved_until)
    payment.refresh_from_db()
    assert payment.refunded_fen == payment.captured_fen == 3900
    assert _fresh(seat.order).state == Order.State.CANCELLED
    assert verify_ledger().ok


# --- failing a group ------------------------------------------------------------------------------


def test_a_failed_group_records_when_and_touches_no_other_group(campaign, buyers, pay, committed):
    failing = _paid_group(campaign, buyers[0], pay)
    member = _join(failing, buyers[1])
    pay(member.order.checkout)
    other = _paid_group(campaign, buyers[2], pay)
    Group.objects.filter(pk=other.pk).update(deadline=failing.deadline + timedelta(hours=1))

    with recorded_events() as events, committed():
        assert services.settle_groups(failing.deadline) == 1

    failing = _fresh(failing)
    assert (failing.state, failing.closed_at) == (Group.State.FAILED, failing.deadline)
    assert (failing.seats_taken, failing.paid_count, failing.refunded_count) == (0, 0, 2)
    assert set(failing.seats.values_list("state", "closed_at")) == {
        (Seat.State.REFUNDED, failing.deadline)
    }
    assert set(
        Order.objects.filter(group_seat__group=failing).values_list("state", "cancel_reason")
    ) == {(Order.State.CANCELLED, Order.CancelReason.DEAL_FAILED)}
    other = _fresh(other)
    assert (other.state, other.seats_taken, other.paid_count) == (Group.State.OPEN, 1, 1)
    assert other.seats.get().state == Seat.State.PAID
    (failed,) = [event for event in events if event.name == "deals.group.failed"]
    assert failed.payload == {
        "group_public_id": failing.public_id,
        "campaign_public_id": campaign.public_id,
        "member_public_ids": [buyers[0].public_id, buyers[1].public_id],
    }
    assert verify_ledger().ok


def test_a_group_settled_at_its_deadline_counts_a_lost_capture_first(
    make_campaign, sku, buyers, pay, committed
):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=2)
    group = _paid_group(campaign, buyers[0], pay)
    late = _join(group, buyers[1])
    report_payment(_payment(late.order))  # captured; its event lost
    never_paid = _join(group, buyers[2])
    with committed():
        assert services.settle_groups(group.deadline) == 1
    assert _fresh(group).state == Group.State.SUCCEEDED
    assert (_fresh(late).state, _fresh(never_paid).state) == (Seat.State.PAID, Seat.State.FREED)
    assert verify_ledger().ok


def test_a_k_rule_group_with_exactly_k_paid_succeeds(make_campaign, sku, buyers, pay, committed):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=2)
    group = _paid_group(campaign, buyers[0], pay)
    pay(_join(group, buyers[1]).order.checkout)
    with committed():
        services.settle_groups(group.deadline)
    group = _fresh(group)
    assert (group.state, group.paid_count) == (Group.State.SUCCEEDED, 2)


# --- the campaign's end -------------------------------------------------------------------------


def test_campaigns_end_in_batches_paused_ones_too(make_campaign, sku, merchant, monkeypatch):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 1)
    campaigns = [make_campaign(sku=sku, stock=2) for _ in range(3)]
    services.pause_campaign(campaign=campaigns[1], actor=merchant)
    ends_at = max(campaign.ends_at for campaign in campaigns)
    assert services.end_campaigns(ends_at) == 3
    for campaign in campaigns:
        campaign = _fresh(campaign)
        assert (campaign.state, campaign.stock, campaign.ended_at) == (
            GroupCampaign.State.ENDED,
            0,
            ends_at,
        )


def test_a_campaign_ended_by_its_merchant_records_when_and_says_what_went_back(
    campaign, merchant, make_campaign, make_sku, shop
):
    other = make_campaign(sku=make_sku(shop=shop, title="another"), stock=3)
    moment = clock.now()
    with clock.frozen_at(moment), recorded_events() as events:
        ended = services.end_campaign(campaign=campaign, actor=merchant)
    assert (ended.state, ended.stock, ended.ended_at) == (GroupCampaign.State.ENDED, 0, moment)
    assert GroupCampaignSKU.objects.get(campaign=campaign).stock == 0
    # Another campaign of the shop keeps its units.
    assert GroupCampaignSKU.objects.get(campaign=other).stock == 3
    assert _fresh(other).stock == 3
    (event,) = [event for event in events if event.name == "deals.campaign.ended"]
    assert event.payload == {"campaign_public_id": campaign.public_id, "returned": 10}


def test_the_last_unit_of_a_variant_goes_back_at_the_end(make_campaign, sku, merchant):
    campaign = make_campaign(sku=sku, stock=1)
    before = SKU.objects.get(pk=sku.pk).stock
    services.end_campaign(campaign=campaign, actor=merchant)
    assert SKU.objects.get(pk=sku.pk).stock == before + 1
    assert GroupCampaignSKU.objects.get(campaign=campaign).stock == 0


def test_pausing_one_campaign_leaves_the_others_running(make_campaign, sku, merchant):
    first, second = make_campaign(sku=sku, stock=2), make_campaign(sku=sku, stock=2)
    services.pause_campaign(campaign=first, actor=merchant)
    assert (_fresh(first).state, _fresh(second).state) == (
        GroupCampaign.State.PAUSED,
        GroupCampaign.State.ACTIVE,
    )


def test_an_ended_campaign_cannot_be_resumed(campaign, merchant):
    services.end_campaign(campaign=campaign, actor=merchant)
    error = _refusal(services.resume_campaign, campaign=campaign, actor=merchant)
    assert error.code == "campaign_state"
    assert str(error.message) == "This campaign is Ended."


@pytest.mark.parametrize("missing", ["starts_at", "ends_at"])
def test_a_campaign_without_its_window_is_refused(make_campaign, sku, missing):
    error = _refusal(make_campaign, sku=sku, **{missing: None})
    assert (error.code, error.fields) == (
        "window_missing",
        {"starts_at": "required", "ends_at": "required"},
    )
    assert str(error.message) == "Give the campaign's start and end times."


def test_a_campaign_of_several_variants_needs_a_choice(campaign, sku, make_sku, shop):
    GroupCampaignSKU.objects.create(
        campaign=campaign,
        sku=make_sku(shop=shop, title="another"),
        group_price_fen=100,
        stock=1,
        stock_total=1,
    )
    error = _refusal(services.choose_variant, campaign=campaign)
    assert (error.code, error.fields) == ("variant_required", {"sku_id": "required"})
    assert str(error.message) == "Choose a variant first."


def test_the_merchant_is_told_they_cannot_buy_from_their_own_shop(campaign, merchant):
    error = _refusal(_open, campaign=campaign, user=merchant)
    assert error.code == "own_shop"
    assert str(error.message) == "You cannot buy from your own shop."


def test_only_an_active_member_of_one_of_its_communities_may_join(make_campaign, sku, buyers):
    community = community_services.create_community(actor=buyers[5], name="咖啡同好", tags=["咖啡"])
    elsewhere = community_services.create_community(actor=buyers[6], name="茶友", tags=["茶"])
    campaign = make_campaign(sku=sku, communities=[community])
    community_services.join_community(actor=buyers[0], community=elsewhere)
    error = _refusal(_open, campaign=campaign, user=buyers[0])
    assert error.code == "community_only"
    assert str(error.message) == "Only members of the campaign's communities may join."
    community_services.join_community(actor=buyers[1], community=community)
    Membership.objects.filter(user=buyers[1], community=community).update(
        state=Membership.State.BANNED
    )
    assert _refusal(_open, campaign=campaign, user=buyers[1]).code == "community_only"


def test_a_seat_in_another_campaign_does_not_count_against_this_ones_limit(
    make_campaign, sku, buyer
):
    first, second = make_campaign(sku=sku, stock=2), make_campaign(sku=sku, stock=2)
    _open(first, buyer)
    assert _open(second, buyer).state == Seat.State.RESERVED
    # In the same campaign the limit of one holds, before any lock is taken.
    error = _refusal(services._check_buyer, campaign=first, user=buyer)
    assert error.code == "per_user_limit"


def test_a_member_whose_seat_was_freed_may_join_the_group_again(opened, buyers):
    seat = _join(opened, buyers[0])
    services.free_unpaid_seats(seat.reserved_until)
    again = _join(opened, buyers[0])
    assert again.state == Seat.State.RESERVED and again.pk != seat.pk


def test_an_unpaid_leader_takes_the_group_down_when_their_seat_is_freed(campaign, buyer):
    seat = _open(campaign, buyer)
    services.free_unpaid_seats(seat.reserved_until)
    group = _fresh(seat.group)
    assert (group.state, group.closed_at, group.seats_taken) == (
        Group.State.FAILED,
        seat.reserved_until,
        0,
    )


def test_a_k_rule_success_frees_the_unpaid_seats_and_says_who_is_in(
    make_campaign, sku, buyers, pay, committed
):
    campaign = make_campaign(sku=sku, group_size=4, min_paid_to_complete=1)
    group = _paid_group(campaign, buyers[0], pay)
    unpaid = _join(group, buyers[1])
    elsewhere = _paid_group(campaign, buyers[2], pay)
    Group.objects.filter(pk=elsewhere.pk).update(deadline=group.deadline + timedelta(hours=1))
    with recorded_events() as events, committed():
        services.settle_groups(group.deadline)
    unpaid = _fresh(unpaid)
    assert (unpaid.state, unpaid.closed_at) == (Seat.State.FREED, group.deadline)
    order = _fresh(unpaid.order)
    assert (order.state, order.cancel_reason) == (
        Order.State.CANCELLED,
        Order.CancelReason.DEAL_FAILED,
    )
    assert _fresh(elsewhere).seats.get().state == Seat.State.PAID
    (completed,) = [event for event in events if event.name == "deals.group.completed"]
    assert completed.payload == {
        "group_public_id": group.public_id,
        "campaign_public_id": campaign.public_id,
        "shop_public_id": campaign.shop.public_id,
        "member_public_ids": [buyers[0].public_id],
    }


def test_groups_are_settled_only_once_their_deadline_has_passed(campaign, buyers, pay, committed):
    due = _paid_group(campaign, buyers[0], pay)
    later = _paid_group(campaign, buyers[1], pay)
    empty_later = Group.objects.create(
        campaign=campaign, leader=buyers[2], size=3, deadline=due.deadline + timedelta(hours=1)
    )
    Group.objects.filter(pk=later.pk).update(deadline=due.deadline + timedelta(hours=1))
    with committed():
        assert services.settle_groups(due.deadline) == 1
    assert _fresh(due).state == Group.State.FAILED
    assert (_fresh(later).state, _fresh(empty_later).state) == (Group.State.OPEN,) * 2


def test_empty_groups_closed_in_bulk_record_when_and_their_campaign(campaign, buyers):
    empty = Group.objects.create(
        campaign=campaign, leader=buyers[0], size=3, deadline=clock.now() - timedelta(minutes=1)
    )
    now = clock.now()
    with recorded_events() as events:
        assert services.settle_groups(now) == 1
    empty = _fresh(empty)
    assert (empty.state, empty.closed_at) == (Group.State.FAILED, now)
    (failed,) = [event for event in events if event.name == "deals.group.failed"]
    assert failed.payload == {
        "group_public_id": empty.public_id,
        "campaign_public_id": campaign.public_id,
        "member_public_ids": [],
    }


# --- found by the measured run (docs/mutation.md) -------------------------------------------------


def test_another_merchant_is_told_the_campaign_is_not_theirs(campaign, other_merchant):
    error = _refusal(services.pause_campaign, campaign=campaign, actor=other_merchant)
    assert error.code == "not_your_shop"
    assert str(error.message) == "This is another shop's campaign."


def test_something_that_is_no_user_is_not_signed_in(campaign):
    error = _refusal(services.pause_campaign, campaign=campaign, actor=object())
    assert error.status == 401


def test_a_sold_out_campaign_ends_with_nothing_to_give_back(make_campaign, sku, merchant, buyer):
    campaign = make_campaign(sku=sku, stock=1)
    _open(campaign, buyer)  # takes the only unit
    before = SKU.objects.get(pk=sku.pk).stock
    ended = services.end_campaign(campaign=campaign, actor=merchant)
    assert (ended.state, ended.stock) == (GroupCampaign.State.ENDED, 0)
    assert SKU.objects.get(pk=sku.pk).stock == before


def test_the_variants_zeroed_at_the_end_are_the_campaigns_own(
    make_campaign, make_sku, shop, merchant
):
    skus = [make_sku(shop=shop, title=f"第{i}款") for i in range(3)]
    campaign = make_campaign(sku=skus[2], stock=2)  # its variant's id is not its SKU's id
    services.end_campaign(campaign=campaign, actor=merchant)
    assert GroupCampaignSKU.objects.get(campaign=campaign).stock == 0


def test_a_freed_unit_goes_back_to_its_own_campaign_only(
    make_campaign, make_sku, shop, buyers, pay
):
    first = make_campaign(sku=make_sku(shop=shop, title="甲"), stock=3)
    second = make_campaign(sku=make_sku(shop=shop, title="乙"), stock=3)
    group = _paid_group(first, buyers[0], pay)
    seat = _join(group, buyers[1])
    services.free_unpaid_seats(seat.reserved_until)
    assert (_fresh(first).stock, _fresh(second).stock) == (2, 3)


def test_units_of_a_failed_group_go_to_the_sku_after_the_campaign_ended(
    campaign, sku, merchant, buyers, pay, committed
):
    group = _paid_group(campaign, buyers[0], pay)
    pay(_join(group, buyers[1]).order.checkout)
    services.end_campaign(campaign=campaign, actor=merchant)
    before = SKU.objects.get(pk=sku.pk).stock
    with committed():
        services.settle_groups(group.deadline)
    assert SKU.objects.get(pk=sku.pk).stock == before + 2


def test_returning_units_of_an_order_of_no_seat_changes_nothing(opened, campaign):
    stock = _fresh(campaign).stock
    order = opened.seats.get().order
    Seat.objects.filter(order=order).update(order=None)
    services.return_units_of_order(order=order, quantity=1)
    assert _fresh(campaign).stock == stock
