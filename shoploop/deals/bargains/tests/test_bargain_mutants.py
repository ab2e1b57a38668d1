"""Tests written for mutation testing of ``shoploop/deals/bargains/services.py``
(``scripts/mutate.py bargains``, docs/mutation.md): the refusals' codes and messages, the edges
of the limits (deadlines, the daily help quota, the floor, the last unit), the rows a start, a
help and a purchase write, their events' payloads, and conditional updates that touch their own
row only."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.testing import outbox_payloads, refusal, said
from shoploop.deals.bargains import cuts, services
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help, HelpQuota
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _buy(bargain, user):
    return services.buy(bargain=bargain, user=user, address_id=address_id_for(user))


def _campaign_row(campaign) -> BargainCampaign:
    return BargainCampaign.objects.get(pk=campaign.pk)


# --- the campaign must be running ---------------------------------------------------------------


def test_a_campaign_not_running_refuses_a_start_with_its_reason(campaign, buyer):
    now = clock.now()
    BargainCampaign.objects.filter(pk=campaign.pk).update(state="ended")
    assert said(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "campaign_ended",
        "This campaign has ended.",
    )
    refusals = [  # the campaign's row at ``now`` → the refusal
        ({"state": "active", "ends_at": now}, ("campaign_ended", "This campaign has ended.")),
        (
            {"state": "paused", "ends_at": now + timedelta(days=1)},
            ("campaign_paused", "This campaign is paused."),
        ),
        (
            {"state": "active", "starts_at": now + timedelta(microseconds=1)},
            ("campaign_not_started", "This campaign has not started yet."),
        ),
    ]
    for changes, expected in refusals:
        BargainCampaign.objects.filter(pk=campaign.pk).update(**changes)
        with clock.frozen_at(now):
            assert said(lambda: services.start_bargain(campaign=campaign, user=buyer)) == expected
    BargainCampaign.objects.filter(pk=campaign.pk).update(starts_at=now)
    with clock.frozen_at(now):
        assert services.start_bargain(campaign=campaign, user=buyer).state == "active"
    assert not Bargain.objects.exclude(initiator=buyer).exists()


def test_an_ended_or_paused_campaign_refuses_a_help(campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    BargainCampaign.objects.filter(pk=campaign.pk).update(state="ended")
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0]))[0] == (
        "campaign_ended"
    )
    BargainCampaign.objects.filter(pk=campaign.pk).update(state="paused")
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0]))[0] == (
        "campaign_paused"
    )
    assert not HelpQuota.objects.exists() and not Help.objects.exists()


# --- starting -----------------------------------------------------------------------------------


def test_a_start_writes_its_row_and_says_so(campaign, buyer):
    now = clock.now()
    with clock.frozen_at(now):
        bargain = services.start_bargain(campaign=campaign, user=buyer)
    row = Bargain.objects.get(pk=bargain.pk)
    assert row.campaign_id == campaign.pk and row.initiator_id == buyer.pk
    assert row.current_price_fen == 5000 and row.helps_count == 0 and row.state == "active"
    assert row.cuts_version == cuts.CURRENT_VERSION
    assert re.fullmatch(r"[0-9a-f]{32}", row.seed)
    assert row.created_at == now
    assert row.deadline == now + timedelta(hours=campaign.hours_per_bargain)
    assert row.order_id is None
    assert outbox_payloads("bargains.bargain.started") == [{"bargain_public_id": row.public_id}]


def test_a_start_refused_for_the_owner_a_stranger_or_a_sold_out_campaign(
    campaign, buyer, merchant, make_user
):
    assert said(lambda: services.start_bargain(campaign=campaign, user=merchant)) == (
        "own_shop",
        "You cannot bargain in your own shop.",
    )
    assert said(lambda: services.start_bargain(campaign=campaign, user=None))[0] == (
        "not_authenticated"
    )
    assert said(lambda: services.start_bargain(campaign=campaign, user=AnonymousUser()))[0] == (
        "not_authenticated"
    )
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=0)
    assert said(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "sold_out",
        "Sorry, this campaign is sold out.",
    )
    assert not Bargain.objects.exists()
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=1)
    services.start_bargain(campaign=campaign, user=buyer)
    assert said(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "already_bargaining",
        "You already have a bargain running in this campaign.",
    )
    assert len(outbox_payloads("bargains.bargain.started")) == 1


# --- helping ------------------------------------------------------------------------------------


def test_a_help_writes_its_row_moves_the_price_and_says_so(campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    expected = cuts.cut_sequence(seed=bargain.seed, helpers=3, total=4000)
    now = clock.now()
    with clock.frozen_at(now):
        help_row = services.help_bargain(bargain=bargain, helper=friends[0])
    stored = Help.objects.get()
    assert stored.pk == help_row.pk
    assert (stored.bargain_id, stored.helper_id) == (bargain.pk, friends[0].pk)
    assert (stored.position, stored.cut_fen, stored.created_at) == (1, expected[0], now)
    row = Bargain.objects.get(pk=bargain.pk)
    assert (row.helps_count, row.current_price_fen) == (1, 5000 - expected[0])
    assert bargain.current_price_fen == 5000 - expected[0]
    assert outbox_payloads("bargains.bargain.helped") == [
        {
            "bargain_public_id": bargain.public_id,
            "helper_public_id": friends[0].public_id,
            "cut_fen": expected[0],
            "position": 1,
        }
    ]
    assert not outbox_payloads("bargains.bargain.floor_reached")
    services.help_bargain(bargain=bargain, helper=friends[1])
    assert not outbox_payloads("bargains.bargain.floor_reached")
    services.help_bargain(bargain=bargain, helper=friends[2])
    assert outbox_payloads("bargains.bargain.floor_reached") == [
        {"bargain_public_id": bargain.public_id}
    ]
    assert [e["position"] for e in outbox_payloads("bargains.bargain.helped")] == [1, 2, 3]


def test_a_help_moves_its_own_bargain_only(campaign, make_user, friends):
    first = services.start_bargain(campaign=campaign, user=make_user())
    second = services.start_bargain(campaign=campaign, user=make_user())
    services.help_bargain(bargain=first, helper=friends[0])
    row = Bargain.objects.get(pk=second.pk)
    assert (row.helps_count, row.current_price_fen) == (0, 5000)


def test_help_refusals_say_why(campaign, buyer, friends, merchant, make_user):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    error = refusal(
        lambda: services.help_bargain(bargain=bargain, helper=make_user(verified=False))
    )
    assert (error.code, str(error.message), error.status) == (
        "phone_not_verified",
        "Verify your phone number before helping.",
        403,
    )
    assert said(lambda: services.help_bargain(bargain=bargain, helper=buyer)) == (
        "own_bargain",
        "You cannot help your own bargain.",
    )
    assert said(lambda: services.help_bargain(bargain=bargain, helper=merchant)) == (
        "own_shop",
        "You cannot help in your own shop.",
    )
    services.help_bargain(bargain=bargain, helper=friends[0])
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "already_helped",
        "You already helped this bargain.",
    )
    with clock.frozen_at(bargain.deadline):
        assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[1])) == (
            "bargain_closed",
            "This bargain is over.",
        )
    with clock.frozen_at(bargain.deadline - timedelta(microseconds=1)):
        services.help_bargain(bargain=bargain, helper=friends[1])
    services.help_bargain(bargain=bargain, helper=friends[2])
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[3])) == (
        "floor_reached",
        "This bargain already reached its lowest price.",
    )


def test_a_bargain_being_bought_takes_no_help(make_campaign, buyer, friends):
    campaign = make_campaign(buy_before_floor=True)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    _buy(bargain, buyer)
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0]))[0] == (
        "bargain_closed"
    )


def test_new_users_only_says_so_and_other_campaigns_take_anyone(
    make_campaign, buyer, friends, make_user
):
    old = make_user()
    other = make_campaign(buy_before_floor=True)
    _buy(services.start_bargain(campaign=other, user=old), old)
    strict = make_campaign(new_users_only=True)
    bargain = services.start_bargain(campaign=strict, user=buyer)
    assert said(lambda: services.help_bargain(bargain=bargain, helper=old)) == (
        "new_users_only",
        "Only new users (who have never ordered) can help in this campaign.",
    )
    anyone = make_campaign()
    services.help_bargain(bargain=services.start_bargain(campaign=anyone, user=buyer), helper=old)


def test_the_daily_limit_edge_message_and_quota_rows(make_campaign, make_user):
    campaign = make_campaign(helps_per_day=1, stock=5)
    helper, bystander = make_user(), make_user()
    today = services._local_day(clock.now())
    HelpQuota.objects.create(helper=bystander, day=today, used=0)
    HelpQuota.objects.create(helper=helper, day=today - timedelta(days=1), used=1)
    first = services.start_bargain(campaign=campaign, user=make_user())
    second = services.start_bargain(campaign=campaign, user=make_user())
    services.help_bargain(bargain=first, helper=helper)
    assert HelpQuota.objects.get(helper=helper, day=today).used == 1
    assert HelpQuota.objects.get(helper=helper, day=today - timedelta(days=1)).used == 1
    assert HelpQuota.objects.get(helper=bystander).used == 0
    assert said(lambda: services.help_bargain(bargain=second, helper=helper)) == (
        "daily_help_limit",
        "You have used your 1 helps for today. Come back tomorrow!",
    )
    assert HelpQuota.objects.get(helper=helper, day=today).used == 1
    assert Bargain.objects.get(pk=second.pk).helps_count == 0


def test_the_daily_quota_counts_the_local_day(campaign, buyer, friends, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    # 17:00 UTC is 01:00 of the next day in Shanghai (the default time zone).
    moment = clock.now().astimezone(UTC).replace(hour=17, minute=0, second=0, microsecond=0)
    if moment >= bargain.deadline:
        moment -= timedelta(days=1)
    if moment <= clock.now():
        moment += timedelta(days=1)
    with clock.frozen_at(moment):
        services.help_bargain(bargain=bargain, helper=friends[0])
    (quota,) = HelpQuota.objects.all()
    assert quota.day == (moment + timedelta(hours=8)).date()
    assert services._local_day(datetime(2026, 1, 1, 17, tzinfo=UTC)).isoformat() == "2026-01-02"


def test_a_help_past_what_the_price_can_take_is_refused_and_the_floor_itself_is_kept(
    make_campaign, buyer, friends, monkeypatch
):
    campaign = make_campaign(start=5000, floor=1000, helpers=2)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    monkeypatch.setattr(services.cuts, "cut_at", lambda **kw: 4001)
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "bargain_changed",
        "This bargain changed; please try again.",
    )
    assert not Help.objects.exists() and not outbox_payloads("bargains.bargain.helped")
    assert Bargain.objects.get(pk=bargain.pk).current_price_fen == 5000
    monkeypatch.setattr(services.cuts, "cut_at", lambda **kw: 4000)
    services.help_bargain(bargain=bargain, helper=friends[0])
    assert Bargain.objects.get(pk=bargain.pk).current_price_fen == 1000


@pytest.mark.parametrize("change", [{"helps_count": 1}, {"state": "expired"}])
def test_a_bargain_changed_after_it_was_read_refuses_the_help(
    campaign, buyer, friends, monkeypatch, change
):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    take = services._take_daily_help

    def meanwhile(**kwargs):
        take(**kwargs)
        Bargain.objects.filter(pk=bargain.pk).update(**change)

    monkeypatch.setattr(services, "_take_daily_help", meanwhile)
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0]))[0] == (
        "bargain_changed"
    )
    assert not Help.objects.exists()


def test_a_help_racing_into_the_same_position_is_refused_as_already_helped(
    campaign, buyer, friends, monkeypatch
):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    take = services._take_daily_help

    def rival(**kwargs):
        take(**kwargs)
        Help.objects.create(bargain=bargain, helper=friends[1], position=1, cut_fen=1)

    monkeypatch.setattr(services, "_take_daily_help", rival)
    assert said(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "already_helped",
        "You already helped this bargain.",
    )


# --- buying -------------------------------------------------------------------------------------


def test_a_purchase_places_its_order_writes_its_row_and_takes_one_unit(
    finished, buyer, campaign, make_campaign, monkeypatch
):
    other = make_campaign()
    seen = {}
    place = services.order_services.place_deal_order

    def spy(**kwargs):
        seen.update(kwargs)
        return place(**kwargs)

    monkeypatch.setattr(services.order_services, "place_deal_order", spy)
    now = clock.now()
    with clock.frozen_at(now):
        order = _buy(finished, buyer)
    window = services.payment_window()
    assert seen["buyer"] == buyer and seen["shop"] == campaign.shop
    assert seen["title"] == campaign.title and seen["unit_price_fen"] == 1000
    assert seen["quantity"] == 1 and seen["deal_ref"] == f"bargain:{finished.public_id}"
    assert seen["expires_at"] == now + window and seen["sku"] == campaign.sku
    assert seen["address"] is not None
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.order_id, row.bought_at, row.pay_deadline, row.paid_at) == (
        "buying",
        order.pk,
        now,
        now + window,
        None,
    )
    assert finished.state == "buying"
    assert outbox_payloads("bargains.bargain.bought") == [
        {
            "bargain_public_id": finished.public_id,
            "order_public_id": order.public_id,
            "price_fen": 1000,
        }
    ]
    assert _campaign_row(campaign).stock_left == 4
    assert _campaign_row(other).stock_left == 5


def test_a_free_purchase_is_bought_and_paid_at_that_time(make_campaign, buyer, friends):
    campaign = make_campaign(start=3, floor=0, helpers=3)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    for friend in friends[:3]:
        services.help_bargain(bargain=bargain, helper=friend)
    now = clock.now()
    with clock.frozen_at(now):
        _buy(bargain, buyer)
    row = Bargain.objects.get(pk=bargain.pk)
    assert (row.state, row.paid_at, row.bought_at) == ("bought", now, now)


def test_purchase_refusals_say_why(make_campaign, buyer, friends, make_user):
    campaign = make_campaign(helpers=3)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    stranger = make_user()
    error = refusal(lambda: _buy(bargain, stranger))
    assert (str(error.message), error.status) == (
        "Only the person who started this bargain can buy.",
        403,
    )
    assert said(lambda: services.buy(bargain=bargain, user=None, address_id="x"))[0] == (
        "not_authenticated"
    )
    services.help_bargain(bargain=bargain, helper=friends[0])
    assert said(lambda: _buy(bargain, buyer)) == (
        "floor_not_reached",
        "2 more helps are needed before you can buy.",
    )
    services.help_bargain(bargain=bargain, helper=friends[1])
    services.help_bargain(bargain=bargain, helper=friends[2])
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=0)
    assert said(lambda: _buy(bargain, buyer)) == ("sold_out", "Sorry, this campaign is sold out.")
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=1)
    _buy(bargain, buyer)
    assert said(lambda: _buy(bargain, buyer)) == (
        "already_buying",
        "You already bought this; please pay.",
    )
    assert _campaign_row(campaign).stock_left == 0
    assert Order.objects.filter(buyer=buyer).count() == 1


def test_a_purchase_is_refused_when_over_or_ended(finished, buyer, campaign):
    with clock.frozen_at(finished.deadline):
        assert said(lambda: _buy(finished, buyer)) == ("bargain_closed", "This bargain is over.")
    now = clock.now()
    BargainCampaign.objects.filter(pk=campaign.pk).update(ends_at=now)
    with clock.frozen_at(now):
        assert said(lambda: _buy(finished, buyer)) == (
            "campaign_ended",
            "This campaign has ended.",
        )
    BargainCampaign.objects.filter(pk=campaign.pk).update(
        ends_at=now + timedelta(days=1), state="ended"
    )
    assert said(lambda: _buy(finished, buyer))[0] == "campaign_ended"
    Bargain.objects.filter(pk=finished.pk).update(state="expired")
    BargainCampaign.objects.filter(pk=campaign.pk).update(state="active")
    assert said(lambda: _buy(finished, buyer))[0] == "bargain_closed"
    assert not Order.objects.filter(buyer=buyer).exists()


def test_a_campaign_ended_while_the_order_is_placed_refuses_the_purchase(
    finished, buyer, campaign, monkeypatch
):
    place = services.order_services.place_deal_order

    def ended_meanwhile(**kwargs):
        order = place(**kwargs)
        BargainCampaign.objects.filter(pk=campaign.pk).update(state="ended")
        return order

    monkeypatch.setattr(services.order_services, "place_deal_order", ended_meanwhile)
    assert said(lambda: _buy(finished, buyer)) == ("sold_out", "Sorry, this campaign is sold out.")
    assert not Order.objects.filter(buyer=buyer).exists()
    assert _campaign_row(campaign).stock_left == 5


# --- ending a campaign --------------------------------------------------------------------------


def test_ending_writes_the_campaign_gives_its_stock_back_once_and_says_so(
    make_campaign, merchant, make_user
):
    campaign = make_campaign(stock=4)
    other = make_campaign(stock=2)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    now = clock.now()
    with clock.frozen_at(now):
        assert services.end_campaign(campaign=campaign, actor=merchant) == 4
    assert campaign.state == "ended"
    row = _campaign_row(campaign)
    assert (row.state, row.stock_left, row.stock_returned, row.ended_at) == ("ended", 0, 4, now)
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 4
    assert outbox_payloads("bargains.campaign.ended") == [
        {"campaign_public_id": campaign.public_id, "returned": 4, "ended_by": merchant.public_id}
    ]
    assert services.end_campaign(campaign=campaign, actor=merchant) == 0
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 4
    assert len(outbox_payloads("bargains.campaign.ended")) == 1
    untouched = _campaign_row(other)
    assert (untouched.state, untouched.stock_left) == ("active", 2)
    staff = make_user(is_staff=True)
    assert services.end_campaign(campaign=other, actor=staff) == 2
    assert outbox_payloads("bargains.campaign.ended")[-1]["ended_by"] == staff.public_id


def test_ending_by_the_deadline_handler_and_who_may_end(make_campaign, other_merchant, make_user):
    campaign = make_campaign(stock=3)
    error = refusal(lambda: services.end_campaign(campaign=campaign, actor=other_merchant))
    assert (error.code, str(error.message)) == (
        "not_your_shop",
        "This campaign belongs to another shop.",
    )
    assert said(lambda: services.end_campaign(campaign=campaign, actor=AnonymousUser()))[0] == (
        "not_authenticated"
    )
    assert _campaign_row(campaign).state == "active"
    assert services.end_campaign(campaign=campaign) == 3
    assert outbox_payloads("bargains.campaign.ended")[0]["ended_by"] == ""


def test_ending_a_sold_out_campaign_gives_nothing_back(make_campaign, merchant):
    campaign = make_campaign(stock=2)
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=0)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    assert services.end_campaign(campaign=campaign, actor=merchant) == 0
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock
    assert _campaign_row(campaign).state == "ended"


# --- units of cancelled purchases ---------------------------------------------------------------


def test_units_of_a_cancelled_purchase_go_to_its_campaign_or_to_the_sku(
    make_campaign, buyer, merchant
):
    campaign = make_campaign(buy_before_floor=True, stock=3)
    other = make_campaign(stock=3)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    order = _buy(bargain, buyer)
    BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=1)
    # Not bought yet (waiting for payment): nothing comes back this way.
    services.return_units_of_order(order=order, quantity=1)
    assert _campaign_row(campaign).stock_left == 1
    Bargain.objects.filter(pk=bargain.pk).update(state="bought")
    services.return_units_of_order(order=order, quantity=2)
    assert _campaign_row(campaign).stock_left == 3
    assert _campaign_row(other).stock_left == 3
    services.end_campaign(campaign=campaign, actor=merchant)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    services.return_units_of_order(order=order, quantity=2)
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 2
    assert _campaign_row(campaign).stock_left == 0


# --- payments and deadlines ---------------------------------------------------------------------


def test_a_paid_purchase_is_bought_at_the_payment_time_and_says_so(
    finished, buyer, make_campaign, make_user, pay
):
    other_campaign = make_campaign(buy_before_floor=True)
    someone = make_user()
    other = services.start_bargain(campaign=other_campaign, user=someone)
    _buy(other, someone)
    order = _buy(finished, buyer)
    now = clock.now()
    with clock.frozen_at(now):
        pay(order.checkout)
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.paid_at) == ("bought", now)
    assert outbox_payloads("bargains.bargain.paid") == [
        {
            "bargain_public_id": finished.public_id,
            "order_public_id": order.public_id,
            "buyer_public_id": buyer.public_id,
            "shop_public_id": order.shop.public_id,
            "community_public_id": None,
        }
    ]
    assert Bargain.objects.get(pk=other.pk).state == "buying"


def test_a_failure_of_an_old_order_drops_nothing(finished, buyer, campaign):
    first = _buy(finished, buyer)
    services.on_payment_failed(first)
    second = _buy(finished, buyer)
    services.on_payment_failed(first)
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.order_id) == ("buying", second.pk)
    assert _campaign_row(campaign).stock_left == 4


def test_a_dropped_purchase_reopens_its_bargain_only_while_it_can_run(
    make_campaign, make_user, friends
):
    campaign = make_campaign(buy_before_floor=True, stock=5)
    users = [make_user() for _ in range(3)]
    bargains = [services.start_bargain(campaign=campaign, user=u) for u in users]
    orders = [_buy(b, u) for b, u in zip(bargains, users, strict=True)]
    # At the bargain's deadline itself it can no longer run.
    with clock.frozen_at(bargains[0].deadline):
        services.on_payment_failed(orders[0])
    row = Bargain.objects.get(pk=bargains[0].pk)
    assert (row.state, row.order_id, row.pay_deadline, row.bought_at) == (
        "expired",
        None,
        None,
        None,
    )
    assert Bargain.objects.get(pk=bargains[1].pk).state == "buying"
    # At the campaign's end itself neither.
    now = clock.now()
    BargainCampaign.objects.filter(pk=campaign.pk).update(ends_at=now)
    with clock.frozen_at(now):
        services.on_payment_failed(orders[1])
    assert Bargain.objects.get(pk=bargains[1].pk).state == "expired"
    BargainCampaign.objects.filter(pk=campaign.pk).update(
        ends_at=now + timedelta(days=1), state="ended"
    )
    services.on_payment_failed(orders[2])
    assert Bargain.objects.get(pk=bargains[2].pk).state == "expired"


def test_expiry_at_the_deadline_itself_with_events_and_counts(campaign, make_user):
    a = services.start_bargain(campaign=campaign, user=make_user())
    later = clock.now() + timedelta(minutes=5)
    with clock.frozen_at(later):
        b = services.start_bargain(campaign=campaign, user=make_user())
    assert services.expire_due(a.deadline) == 1
    assert Bargain.objects.get(pk=a.pk).state == "expired"
    assert Bargain.objects.get(pk=b.pk).state == "active"
    assert outbox_payloads("bargains.bargain.expired") == [{"bargain_public_id": a.public_id}]
    assert services.expire_due(a.deadline) == 0
    assert services.expire_due(b.deadline) == 1


def test_expiry_runs_batch_after_batch(campaign, make_user, monkeypatch):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    bargains = [services.start_bargain(campaign=campaign, user=make_user()) for _ in range(4)]
    assert services.expire_due(bargains[-1].deadline) == 4
    assert not Bargain.objects.filter(state="active").exists()
    assert len(outbox_payloads("bargains.bargain.expired")) == 4


def test_bargains_of_an_ended_campaign_expire_batch_after_batch(
    make_campaign, make_user, monkeypatch
):
    campaign = make_campaign(stock=5)
    other = make_campaign(stock=5)
    bargains = [services.start_bargain(campaign=campaign, user=make_user()) for _ in range(4)]
    kept = services.start_bargain(campaign=other, user=make_user())
    BargainCampaign.objects.filter(pk=campaign.pk).update(state="ended")
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 2)
    assert services.expire_due(clock.now()) == 4
    assert {b.state for b in Bargain.objects.filter(pk__in=[b.pk for b in bargains])} == {"expired"}
    assert Bargain.objects.get(pk=kept.pk).state == "active"


def test_unpaid_purchases_are_freed_at_their_pay_deadline_itself_and_counted(
    make_campaign, make_user
):
    campaign = make_campaign(buy_before_floor=True, stock=5)
    users = [make_user() for _ in range(2)]
    bargains = [services.start_bargain(campaign=campaign, user=u) for u in users]
    _buy(bargains[0], users[0])
    with clock.frozen_at(clock.now() + timedelta(minutes=1)):
        _buy(bargains[1], users[1])
    first = Bargain.objects.get(pk=bargains[0].pk)
    assert services.expire_due(first.pay_deadline - timedelta(microseconds=1)) == 0
    assert services.expire_due(first.pay_deadline) == 1
    assert Bargain.objects.get(pk=bargains[0].pk).state == "active"
    assert Bargain.objects.get(pk=bargains[1].pk).state == "buying"
    assert _campaign_row(campaign).stock_left == 4
    order = Order.objects.get(buyer=users[0])
    assert order.state == Order.State.CANCELLED
    assert order.cancel_reason == Order.CancelReason.EXPIRED


def test_a_captured_payment_found_at_expiry_is_settled_and_not_counted(
    finished, buyer, pay_with_the_event_lost, monkeypatch
):
    order = _buy(finished, buyer)
    monkeypatch.setattr(services, "on_payment_succeeded", lambda order: None)
    pay_with_the_event_lost(order.checkout)
    now = clock.now() + services.payment_window()
    assert services.expire_due(now) == 0
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.paid_at) == ("bought", now)


def test_a_purchase_whose_order_is_gone_is_reopened(finished, buyer, campaign):
    order = _buy(finished, buyer)
    Bargain.objects.filter(pk=finished.pk).update(order=None)
    row = Bargain.objects.get(pk=finished.pk)
    assert services.expire_due(row.pay_deadline) == 0
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.pay_deadline, row.bought_at) == ("active", None, None)
    assert Order.objects.get(pk=order.pk).state == Order.State.PENDING_PAYMENT


def test_an_object_that_is_not_a_user_cannot_end_a_campaign(campaign):
    assert said(lambda: services.end_campaign(campaign=campaign, actor=object()))[0] == (
        "not_authenticated"
    )
    assert _campaign_row(campaign).state == "active"


def test_units_come_back_to_the_campaign_of_the_orders_own_bargain(make_campaign, make_user):
    first_campaign = make_campaign(buy_before_floor=True, stock=3)
    second_campaign = make_campaign(buy_before_floor=True, stock=3)
    first_user, second_user = make_user(), make_user()
    _buy(services.start_bargain(campaign=first_campaign, user=first_user), first_user)
    second = services.start_bargain(campaign=second_campaign, user=second_user)
    order = _buy(second, second_user)
    Bargain.objects.update(state="bought")
    services.return_units_of_order(order=order, quantity=1)
    assert _campaign_row(second_campaign).stock_left == 3
    assert _campaign_row(first_campaign).stock_left == 2


def test_every_unpaid_purchase_freed_in_one_run_is_counted(make_campaign, make_user):
    campaign = make_campaign(buy_before_floor=True, stock=5)
    users = [make_user() for _ in range(3)]
    for user in users:
        _buy(services.start_bargain(campaign=campaign, user=user), user)
    assert services.expire_due(clock.now() + services.payment_window()) == 3
    assert _campaign_row(campaign).stock_left == 5


def test_a_capture_of_another_amount_leaves_the_purchase_waiting_and_expiry_moves_on(
    finished, buyer
):
    """The sandbox refuses a wrong amount; a provider's partial capture recorded as succeeded
    (written here directly) is "not captured" for the deal: the bargain stays waiting, and
    expiry leaves the row instead of retrying it for ever."""
    from shoploop.ledger.models import Payment

    order = _buy(finished, buyer)
    Payment.objects.filter(public_id=order.checkout.payment_public_id).update(
        state="succeeded", amount=999, captured_fen=999
    )
    assert services.expire_due(clock.now() + services.payment_window()) == 0
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.paid_at) == ("buying", None)
    assert not outbox_payloads("bargains.bargain.paid")


def test_a_success_told_for_a_payment_not_captured_changes_nothing(finished, buyer):
    order = _buy(finished, buyer)
    services.on_payment_succeeded(order)
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.paid_at) == ("buying", None)
    assert not outbox_payloads("bargains.bargain.paid")


def test_a_helper_who_helped_hears_so_before_the_bargain_is_over_or_at_its_floor(finished, friends):
    # ``finished`` is at its floor: each of its helpers is told they helped, the others why not.
    assert said(lambda: services.help_bargain(bargain=finished, helper=friends[0]))[0] == (
        "already_helped"
    )
    assert said(lambda: services.help_bargain(bargain=finished, helper=friends[4]))[0] == (
        "floor_reached"
    )
    with clock.frozen_at(finished.deadline):
        assert said(lambda: services.help_bargain(bargain=finished, helper=friends[1]))[0] == (
            "already_helped"
        )


def test_a_bargain_records_the_cut_algorithm_current_at_its_start(campaign, buyer, monkeypatch):
    monkeypatch.setattr(services.cuts, "CURRENT_VERSION", cuts.CURRENT_VERSION + 1)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    assert Bargain.objects.get(pk=bargain.pk).cuts_version == cuts.CURRENT_VERSION
