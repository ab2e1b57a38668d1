"""Group buying's join and payment (deals/groups/services.py), pinned where mutation testing
showed that a changed line passed the suite (docs/mutation.md): each refusal's code and message,
the rows and events of an open and a join, and what a refusal leaves behind."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.deals.groups import services
from shoploop.deals.groups.models import Group, GroupBuyer, GroupCampaign, GroupCampaignSKU, Seat
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

# The messages are pinned in English (the msgids), whatever the default language.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refusal(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


def _stock(campaign):
    return GroupCampaign.objects.get(pk=campaign.pk).stock


def _open(campaign, user, **extra):
    return services.open_group(
        campaign=campaign, user=user, address_id=address_id_for(user), **extra
    )


def _join(group, user, **extra):
    return services.join_group(group=group, user=user, address_id=address_id_for(user), **extra)


# --- the campaign's window ---------------------------------------------------------------------


def test_campaign_refusals_say_why(campaign, buyer):
    GroupCampaign.objects.filter(pk=campaign.pk).update(state=GroupCampaign.State.PAUSED)
    campaign.refresh_from_db()
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == (
        "campaign_not_active",
        "This campaign is not running right now.",
    )
    GroupCampaign.objects.filter(pk=campaign.pk).update(state=GroupCampaign.State.ACTIVE)
    campaign.refresh_from_db()
    with clock.frozen_at(campaign.starts_at - timedelta(microseconds=1)):
        error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == (
        "campaign_not_started",
        "This campaign has not started yet.",
    )
    with clock.frozen_at(campaign.ends_at):
        error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == ("campaign_over", "This campaign is over.")
    assert not Seat.objects.exists() and _stock(campaign) == 10


def test_a_campaign_opens_at_its_start_and_closes_at_its_end(campaign, buyer, buyers):
    with clock.frozen_at(campaign.starts_at):
        _open(campaign, buyer)
    with clock.frozen_at(campaign.ends_at - timedelta(microseconds=1)):
        _open(campaign, buyers[0])
    assert Seat.objects.count() == 2


# --- opening -----------------------------------------------------------------------------------


def test_open_writes_the_group_the_seat_and_the_event(campaign, buyer, settings):
    settings.DEALS_GROUP_SEAT_HOLD_MINUTES = 7
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        seat = _open(campaign, buyer)
    group = Group.objects.get(pk=seat.group_id)
    assert (group.leader, group.size, group.seats_taken, group.paid_count) == (buyer, 3, 1, 0)
    assert group.deadline == now + timedelta(minutes=campaign.group_minutes)
    assert group.created_at == now and group.state == Group.State.OPEN
    seat = Seat.objects.get(pk=seat.pk)
    assert (seat.user, seat.is_leader, seat.state, seat.price_fen) == (
        buyer,
        True,
        "reserved",
        3900,
    )
    assert seat.reserved_until == now + timedelta(minutes=7) and seat.created_at == now
    assert seat.variant == campaign.variants.get()
    order = seat.order
    assert (order.buyer, order.shop, order.total_fen) == (buyer, campaign.shop, 3900)
    assert order.checkout.expires_at == seat.reserved_until
    assert order.lines.get().sku == campaign.sku and order.lines.get().title == "手冲咖啡豆"
    opened = [e.payload for e in events if e.name == "deals.group.opened"]
    assert opened == [
        {
            "group_public_id": group.public_id,
            "campaign_public_id": campaign.public_id,
            "leader_public_id": buyer.public_id,
        }
    ]
    assert GroupBuyer.objects.filter(campaign=campaign, user=buyer).count() == 1
    assert _stock(campaign) == 9 and campaign.variants.get().stock == 9


def test_open_refuses_a_sold_out_campaign_or_variant_before_any_lock(campaign, buyer):
    GroupCampaign.objects.filter(pk=campaign.pk).update(stock=0)
    campaign.refresh_from_db()
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == ("sold_out", "Sorry, this group deal is sold out.")
    GroupCampaign.objects.filter(pk=campaign.pk).update(stock=10)
    GroupCampaignSKU.objects.filter(campaign=campaign).update(stock=0)
    campaign.refresh_from_db()
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == (
        "variant_sold_out",
        "Sorry, this variant is sold out.",
    )
    assert not Group.objects.exists() and not GroupBuyer.objects.exists()
    assert not Order.objects.exists()


def test_the_last_unit_can_be_taken(campaign, buyer):
    GroupCampaign.objects.filter(pk=campaign.pk).update(stock=1)
    GroupCampaignSKU.objects.filter(campaign=campaign).update(stock=1)
    campaign.refresh_from_db()
    _open(campaign, buyer)
    assert _stock(campaign) == 0 and campaign.variants.get().stock == 0


def test_a_unit_gone_between_the_check_and_the_take_unwinds_the_open(campaign, buyer, monkeypatch):
    """The pre-check reads the campaign as loaded; the conditional UPDATE decides (replayed: the
    stock is gone by the time the unit is taken)."""
    real = services._place_seat

    def then_sold_out(**kwargs):
        GroupCampaign.objects.filter(pk=campaign.pk).update(stock=0)
        return real(**kwargs)

    monkeypatch.setattr(services, "_place_seat", then_sold_out)
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, error.status) == ("sold_out", 409)
    assert str(error.message) == "Sorry, this group deal is sold out."
    assert not Seat.objects.exists() and not Order.objects.exists()


def test_a_variant_gone_between_the_check_and_the_take_unwinds_the_open(
    campaign, buyer, monkeypatch
):
    real = services._place_seat

    def then_variant_sold_out(**kwargs):
        GroupCampaignSKU.objects.filter(campaign=campaign).update(stock=0)
        return real(**kwargs)

    monkeypatch.setattr(services, "_place_seat", then_variant_sold_out)
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert (error.code, str(error.message)) == (
        "variant_sold_out",
        "Sorry, this variant is sold out.",
    )
    assert not Seat.objects.exists() and _stock(campaign) == 10


def test_per_user_limit_message_and_the_limit_of_two(make_campaign, sku, buyers, pay):
    campaign = make_campaign(sku=sku, per_user_limit=2)
    first = _open(campaign, buyers[0])
    _open(campaign, buyers[0])
    error = _refusal(_open, campaign=campaign, user=buyers[0])
    assert (error.code, str(error.message)) == (
        "per_user_limit",
        "You already hold as many seats in this campaign as a buyer may.",
    )
    pay(first.order.checkout)
    _join(Group.objects.get(pk=first.group_id), buyers[1])
    assert Seat.objects.filter(user=buyers[0]).count() == 2


def test_the_limit_is_decided_under_the_lock_too(campaign, buyers, monkeypatch):
    """The count before the lock is a fast answer; the one under the buyer's lock decides
    (replayed: the early count sees nothing)."""
    _open(campaign, buyers[0])
    monkeypatch.setattr(services, "_check_buyer", lambda *args, **kwargs: None)
    error = _refusal(_open, campaign=campaign, user=buyers[0])
    assert error.code == "per_user_limit"
    assert Seat.objects.count() == 1 and Group.objects.count() == 1


# --- variants ----------------------------------------------------------------------------------


def test_variant_choice_errors(campaign, make_sku, shop):
    assert services.choose_variant(campaign=campaign) == campaign.variants.get()
    assert services.choose_variant(campaign=campaign, sku_id=campaign.sku.public_id).sku == (
        campaign.sku
    )
    error = _refusal(services.choose_variant, campaign=campaign, sku_id="nope")
    assert (error.code, error.status, str(error.message)) == (
        "variant_not_found",
        404,
        "This campaign has no such variant.",
    )


# --- joining -----------------------------------------------------------------------------------


def test_join_writes_the_seat_and_the_event(opened, buyers):
    member = buyers[0]
    now = clock.now()
    with clock.frozen_at(now), recorded_events() as events:
        seat = _join(opened, member)
    seat = Seat.objects.get(pk=seat.pk)
    assert (seat.user, seat.is_leader, seat.state, seat.price_fen) == (
        member,
        False,
        "reserved",
        3900,
    )
    assert seat.group_id == opened.pk and seat.created_at == now
    joined = [e.payload for e in events if e.name == "deals.group.joined"]
    assert joined == [
        {
            "group_public_id": opened.public_id,
            "campaign_public_id": opened.campaign.public_id,
            "member_public_id": member.public_id,
            "seat_public_id": seat.public_id,
        }
    ]
    assert Group.objects.get(pk=opened.pk).seats_taken == 2
    assert _stock(opened.campaign) == 8


def test_a_member_pays_the_group_price_not_the_leaders(make_campaign, sku, buyer, buyers, pay):
    campaign = make_campaign(sku=sku, leader_price_fen=2900)
    leader = _open(campaign, buyer)
    pay(leader.order.checkout)
    seat = _join(Group.objects.get(pk=leader.group_id), buyers[0])
    assert seat.price_fen == 3900 and seat.order.total_fen == 3900


def test_join_refusal_messages(opened, buyer, buyers):
    error = _refusal(_join, group=opened, user=buyer)
    assert str(error.message) == "You opened this group; you are already in it."
    _join(opened, buyers[0])
    error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("already_joined", "You are already in this group.")
    _join(opened, buyers[1])
    error = _refusal(_join, group=opened, user=buyers[2])
    assert (error.code, str(error.message)) == ("group_full", "This group is full.")
    # a member asking again of a full group hears that they are in it
    error = _refusal(_join, group=opened, user=buyers[1])
    assert error.code == "already_joined"


def test_a_group_not_ready_tells_a_member_first(campaign, buyer, buyers):
    leader = _open(campaign, buyer)
    group = Group.objects.get(pk=leader.group_id)
    error = _refusal(_join, group=group, user=buyers[0])
    assert (error.code, str(error.message)) == (
        "group_not_ready",
        "This group opens to others once its leader has paid.",
    )


def test_a_closed_group_message_and_its_deadline_edge(opened, buyers):
    with clock.frozen_at(opened.deadline):
        error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("group_closed", "This group is closed.")
    with clock.frozen_at(opened.deadline - timedelta(microseconds=1)):
        _join(opened, buyers[0])


def test_a_group_filled_meanwhile_is_full_under_the_lock(opened, buyers, monkeypatch):
    """The checks before the lock read the group as it was; the conditional UPDATE decides
    (replayed: the group fills after the checks)."""
    real = services._check_buyer

    def then_filled(*args, **kwargs):
        real(*args, **kwargs)
        Group.objects.filter(pk=opened.pk).update(seats_taken=3)

    monkeypatch.setattr(services, "_check_buyer", then_filled)
    error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("group_full", "This group is full.")
    assert not Seat.objects.filter(user=buyers[0]).exists()


def test_a_group_closed_meanwhile_is_closed_under_the_lock(opened, buyers, monkeypatch):
    real = services._check_buyer

    def then_closed(*args, **kwargs):
        real(*args, **kwargs)
        Group.objects.filter(pk=opened.pk).update(state=Group.State.FAILED)

    monkeypatch.setattr(services, "_check_buyer", then_closed)
    error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("group_closed", "This group is closed.")


def test_a_join_into_a_group_filled_by_the_deadline_meanwhile(opened, buyers, monkeypatch):
    real = services._check_buyer

    def then_past(*args, **kwargs):
        real(*args, **kwargs)
        Group.objects.filter(pk=opened.pk).update(deadline=clock.now() - timedelta(seconds=1))

    monkeypatch.setattr(services, "_check_buyer", then_past)
    error = _refusal(_join, group=opened, user=buyers[0])
    assert error.code == "group_closed"


def test_a_join_judges_the_group_as_it_is_now(opened, buyers):
    """The caller's copy of the group may be stale: the join reads it again."""
    stale = Group.objects.get(pk=opened.pk)
    Group.objects.filter(pk=opened.pk).update(state=Group.State.FAILED)
    error = _refusal(_join, group=stale, user=buyers[0])
    assert error.code == "group_closed"


# --- payments ----------------------------------------------------------------------------------


def test_a_payment_for_no_seat_is_refused_and_refunded(campaign, buyer, monkeypatch):
    seat = _open(campaign, buyer)
    order = seat.order
    Seat.objects.filter(pk=seat.pk).delete()
    calls = []
    monkeypatch.setattr(
        services.order_services,
        "settle_deal_payment",
        lambda **kwargs: calls.append(kwargs) or "refunded",
    )
    assert services.on_payment_succeeded(order) == "refunded"
    assert calls == [{"order": order, "accept": False}]


def test_a_replayed_payment_of_a_paid_seat_is_unchanged(opened):
    seat = opened.seats.get()
    assert services.on_payment_succeeded(seat.order) == "unchanged"
    assert Group.objects.get(pk=opened.pk).paid_count == 1


def test_a_payment_failure_frees_only_a_reserved_seat(opened, buyers):
    paid = opened.seats.get()
    assert services.on_payment_failed(paid.order) is False
    seat = _join(opened, buyers[0])
    assert services.on_payment_failed(seat.order) is True
    assert Seat.objects.get(pk=seat.pk).state != Seat.State.RESERVED
    assert services.on_payment_failed(seat.order) is False
    assert Group.objects.get(pk=opened.pk).seats_taken == 1


def test_a_payment_failure_for_no_seat_is_false(campaign, buyer):
    seat = _open(campaign, buyer)
    Seat.objects.filter(pk=seat.pk).delete()
    assert services.on_payment_failed(seat.order) is False


def test_a_seat_in_another_group_is_not_this_one(make_campaign, sku, buyer, buyers, pay):
    """A buyer refused a full group hears that it is full, even with a seat in another group of
    the campaign: "already in this group" is for members of this one."""
    campaign = make_campaign(sku=sku, per_user_limit=2)
    first = _open(campaign, buyer)
    pay(first.order.checkout)
    full = Group.objects.get(pk=first.group_id)
    _join(full, buyers[0])
    _join(full, buyers[1])
    other = _open(campaign, buyers[2])
    pay(other.order.checkout)
    _join(Group.objects.get(pk=other.group_id), buyers[3])
    error = _refusal(_join, group=full, user=buyers[3])
    assert (error.code, str(error.message)) == ("group_full", "This group is full.")


def test_a_join_takes_a_seat_in_its_group_only(make_campaign, sku, buyer, buyers, pay):
    campaign = make_campaign(sku=sku)
    first = _open(campaign, buyer)
    pay(first.order.checkout)
    other = _open(campaign, buyers[0])
    pay(other.order.checkout)
    _join(Group.objects.get(pk=first.group_id), buyers[1])
    assert Group.objects.get(pk=first.group_id).seats_taken == 2
    assert Group.objects.get(pk=other.group_id).seats_taken == 1


def test_the_seat_update_itself_refuses_a_group_not_ready(campaign, buyer, buyers, monkeypatch):
    """The checks before the lock refuse a group whose leader has not paid; the conditional
    UPDATE refuses it too (replayed with those checks skipped), so no path fills such a group."""
    leader = _open(campaign, buyer)
    monkeypatch.setattr(services, "_check_joinable", lambda *args: None)
    error = _refusal(_join, group=Group.objects.get(pk=leader.group_id), user=buyers[0])
    assert error.code == "group_full"
    assert Group.objects.get(pk=leader.group_id).seats_taken == 1


def test_at_the_deadline_the_seat_update_says_closed(opened, buyers, monkeypatch):
    """Under the lock, a group at its deadline is closed, not full (replayed with the checks
    before the lock skipped)."""
    monkeypatch.setattr(services, "_check_joinable", lambda *args: None)
    with clock.frozen_at(opened.deadline):
        error = _refusal(_join, group=opened, user=buyers[0])
    assert (error.code, str(error.message)) == ("group_closed", "This group is closed.")


def test_the_joined_seats_group_counts_the_join(opened, buyers):
    seat = _join(opened, buyers[0])
    assert seat.group.seats_taken == 2  # as of this join, without reading it again


def test_a_paid_seat_records_when(opened, buyers, pay):
    seat = _join(opened, buyers[0])
    now = clock.now()
    with clock.frozen_at(now):
        pay(seat.order.checkout)
    seat.refresh_from_db()
    assert (seat.state, seat.paid_at) == (Seat.State.PAID, now)


def test_a_campaign_paused_meanwhile_gives_no_unit(campaign, buyer, monkeypatch):
    real = services._place_seat

    def then_paused(**kwargs):
        GroupCampaign.objects.filter(pk=campaign.pk).update(state=GroupCampaign.State.PAUSED)
        return real(**kwargs)

    monkeypatch.setattr(services, "_place_seat", then_paused)
    error = _refusal(_open, campaign=campaign, user=buyer)
    assert error.code == "sold_out"
    assert _stock(campaign) == 10 and not Seat.objects.exists()


def test_a_unit_is_taken_from_this_campaign_only(make_campaign, make_sku, shop, buyer):
    mine = make_campaign(sku=make_sku(shop=shop, title="甲"))
    other = make_campaign(sku=make_sku(shop=shop, title="乙"))
    _open(mine, buyer)
    assert (_stock(mine), _stock(other)) == (9, 10)
    assert other.variants.get().stock == 10


def test_the_last_payment_closes_the_group_at_that_time(opened, buyers, pay):
    seats = [_join(opened, member) for member in buyers[:2]]
    pay(seats[0].order.checkout)
    now = clock.now()
    with clock.frozen_at(now):
        pay(seats[1].order.checkout)
    group = Group.objects.get(pk=opened.pk)
    assert (group.state, group.closed_at, group.paid_count) == (Group.State.SUCCEEDED, now, 3)
