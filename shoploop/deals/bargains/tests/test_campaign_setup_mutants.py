"""Tests written for mutation testing of ``shoploop/deals/bargains/services.py``
(``scripts/mutate.py bargains``, docs/mutation.md), for the parts the bargaining tests leave out:
a campaign's set-up (who may create one, the whole numbers, every limit at its edge with its
code, message and field, the row and event it writes), pausing and resuming, the payment
window, payment events of an order of another deal, the community named when a purchase is
picked up at a point; a help counted on today's quota only, cut by its bargain's algorithm and
stamped with the moment it was checked at; and the campaigns ended at their deadline (with a
PostgreSQL race of two workers ending them)."""

from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from shoploop.catalog import services as catalog
from shoploop.catalog.models import SKU, Product
from shoploop.communities import leader_services
from shoploop.communities import services as community_services
from shoploop.core import clock
from shoploop.core.testing import outbox_payloads, race, refusal
from shoploop.deals.bargains import cuts, services
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help, HelpQuota
from shoploop.orders import services as order_services
from shoploop.orders.models import Checkout, Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _create(actor, sku, **changes):
    values = {
        "start_price_fen": 5000,
        "floor_price_fen": 1000,
        "helpers_needed": 3,
        "stock": 1,
        "ends_at": clock.now() + timedelta(days=7),
    }
    values.update(changes)
    return services.create_campaign(actor=actor, sku_public_id=sku.public_id, **values)


def _refused(call) -> tuple[str, str, dict]:
    """(code, message, fields) of the refusal ``call()`` raises."""
    error = refusal(call)
    return error.code, str(error.message), error.fields


def _campaign_row(campaign) -> BargainCampaign:
    return BargainCampaign.objects.get(pk=campaign.pk)


# --- who may create a campaign, on which item ---------------------------------------------------


def test_only_the_approved_shop_of_a_signed_in_user_creates_a_campaign_on_its_own_item(
    merchant, shop, make_sku, other_shop, buyer, make_user
):
    sku = make_sku(shop=shop, stock=10)
    theirs = make_sku(shop=other_shop, stock=10)
    for nobody in (None, AnonymousUser()):
        assert _refused(lambda: _create(nobody, sku)) == (  # noqa: B023
            "not_authenticated",
            "Please sign in first.",
            {},
        )
    no_shop = ("no_shop", "Only approved shops can run campaigns.", {})
    assert _refused(lambda: _create(buyer, sku)) == no_shop
    applicant = make_user()
    catalog.apply_for_shop(user=applicant, name="还在审核的店", contact="微信 wait")
    assert _refused(lambda: _create(applicant, sku)) == no_shop
    assert refusal(lambda: _create(applicant, sku)).status == 403
    error = refusal(lambda: _create(merchant, theirs))
    assert (error.code, str(error.message), error.status) == (
        "not_your_shop",
        "This item belongs to another shop.",
        403,
    )
    assert _refused(
        lambda: services.create_campaign(
            actor=merchant,
            sku_public_id="no-such-sku",
            start_price_fen=5000,
            floor_price_fen=1000,
            helpers_needed=3,
            stock=1,
            ends_at=clock.now() + timedelta(days=1),
        )
    ) == ("sku_not_found", "No such item.", {"sku_id": "sku_not_found"})
    assert not BargainCampaign.objects.exists()
    assert SKU.objects.get(pk=sku.pk).stock == 10 and SKU.objects.get(pk=theirs.pk).stock == 10


def test_an_item_not_on_sale_takes_no_campaign(merchant, shop, make_sku):
    not_on_sale = ("sku_not_on_sale", "This item is not on sale.", {"sku_id": "sku_not_on_sale"})
    inactive = make_sku(shop=shop, stock=10)
    SKU.objects.filter(pk=inactive.pk).update(is_active=False)
    assert _refused(lambda: _create(merchant, inactive)) == not_on_sale
    unpublished = make_sku(shop=shop, stock=10)
    Product.objects.filter(pk=unpublished.product_id).update(is_published=False)
    assert _refused(lambda: _create(merchant, unpublished)) == not_on_sale
    assert not BargainCampaign.objects.exists()
    on_sale = make_sku(shop=shop, stock=10)
    assert _create(merchant, on_sale).sku_id == on_sale.pk


# --- whole numbers ------------------------------------------------------------------------------


def test_every_number_of_a_campaign_must_be_whole_and_says_which(merchant, shop, make_sku):
    sku = make_sku(shop=shop, stock=10)
    fields = [
        "start_price_fen",
        "floor_price_fen",
        "helpers_needed",
        "hours_per_bargain",
        "stock",
        "helps_per_day",
    ]
    for field in fields:
        for bad in (True, False, "three", None, 2.5):
            assert _refused(lambda: _create(merchant, sku, **{field: bad})) == (  # noqa: B023
                "invalid",
                "Enter a whole number.",
                {field: "invalid"},
            ), (field, bad)
    assert not BargainCampaign.objects.exists()
    assert SKU.objects.get(pk=sku.pk).stock == 10
    # Digits in a string and whole floats are whole numbers.
    campaign = _create(
        merchant,
        sku,
        start_price_fen="4000",
        floor_price_fen=500.0,
        helpers_needed="4",
        hours_per_bargain=6.0,
        stock="2",
        helps_per_day="5",
    )
    row = _campaign_row(campaign)
    assert (row.start_price_fen, row.floor_price_fen, row.helpers_needed) == (4000, 500, 4)
    assert (row.hours_per_bargain, row.stock_total, row.helps_per_day) == (6, 2, 5)


# --- the limits at their edges ------------------------------------------------------------------


def test_each_limit_of_a_campaign_refuses_just_past_its_edge_with_its_reason(
    merchant, shop, make_sku
):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    now = clock.now()
    later = now + timedelta(days=2)
    refusals = [
        (
            {"start_price_fen": 0},
            ("invalid", "The start price must be at least 0.01.", {"start_price_fen": "invalid"}),
        ),
        (
            {"start_price_fen": 5901},
            (
                "start_above_price",
                "The start price cannot be above the normal price.",
                {"start_price_fen": "start_above_price"},
            ),
        ),
        (
            {"floor_price_fen": -1},
            ("invalid", "The floor price cannot be negative.", {"floor_price_fen": "invalid"}),
        ),
        (
            {"floor_price_fen": 5000},
            (
                "floor_not_below_start",
                "The floor price must be below the start price.",
                {"floor_price_fen": "floor_not_below_start"},
            ),
        ),
        (
            {"helpers_needed": 0},
            (
                "invalid",
                "Helpers needed must be between 1 and 100.",
                {"helpers_needed": "invalid"},
            ),
        ),
        (
            {"helpers_needed": 101},
            (
                "invalid",
                "Helpers needed must be between 1 and 100.",
                {"helpers_needed": "invalid"},
            ),
        ),
        (
            {"start_price_fen": 1003, "floor_price_fen": 1000, "helpers_needed": 4},
            (
                "too_many_helpers",
                "Each help cuts at least 0.01: 4 helpers need at least 4 fen to cut.",
                {"helpers_needed": "too_many_helpers"},
            ),
        ),
        (
            {"hours_per_bargain": 0},
            (
                "invalid",
                "A bargain lasts between 1 and 72 hours.",
                {"hours_per_bargain": "invalid"},
            ),
        ),
        (
            {"hours_per_bargain": 73},
            (
                "invalid",
                "A bargain lasts between 1 and 72 hours.",
                {"hours_per_bargain": "invalid"},
            ),
        ),
        (
            {"helps_per_day": 0},
            ("invalid", "Helps per day must be between 1 and 20.", {"helps_per_day": "invalid"}),
        ),
        (
            {"helps_per_day": 21},
            ("invalid", "Helps per day must be between 1 and 20.", {"helps_per_day": "invalid"}),
        ),
        (
            {"stock": 0},
            ("invalid", "The campaign needs at least one unit of stock.", {"stock": "invalid"}),
        ),
        (
            {"stock": 11},
            ("not_enough_stock", "Only 10 units are in stock.", {"stock": "not_enough_stock"}),
        ),
        (
            {"ends_at": now},
            (
                "ends_in_past",
                "The end of the campaign is in the past.",
                {"ends_at": "ends_in_past"},
            ),
        ),
        (
            {"starts_at": later, "ends_at": later},
            ("invalid", "The campaign must end after it starts.", {"ends_at": "invalid"}),
        ),
    ]
    with clock.frozen_at(now):
        for changes, expected in refusals:
            assert _refused(lambda: _create(merchant, sku, **changes)) == expected, changes  # noqa: B023
    assert not BargainCampaign.objects.exists()
    assert not outbox_payloads("bargains.campaign.created")
    assert SKU.objects.get(pk=sku.pk).stock == 10


def test_each_limit_of_a_campaign_takes_its_edge_itself(merchant, shop, make_sku):
    sku = make_sku(shop=shop, price_fen=5900, stock=20)
    now = clock.now()
    later = now + timedelta(days=2)
    edges = [
        {"start_price_fen": 1, "floor_price_fen": 0, "helpers_needed": 1},
        {"start_price_fen": 5900},
        {"start_price_fen": 5000, "floor_price_fen": 4999, "helpers_needed": 1},
        {"start_price_fen": 3, "floor_price_fen": 0, "helpers_needed": 3},
        {"helpers_needed": 100},
        {"hours_per_bargain": 1},
        {"hours_per_bargain": 72},
        {"helps_per_day": 1},
        {"helps_per_day": 20},
        {"ends_at": now + timedelta(microseconds=1)},
        {"starts_at": later, "ends_at": later + timedelta(microseconds=1)},
    ]
    with clock.frozen_at(now):
        for changes in edges:
            campaign = _create(merchant, sku, **changes)
            row = _campaign_row(campaign)
            for name, value in changes.items():
                assert getattr(row, name) == value, (name, value)
    assert BargainCampaign.objects.count() == len(edges)
    assert SKU.objects.get(pk=sku.pk).stock == 20 - len(edges)
    # The whole stock of the item may go to one campaign.
    last = make_sku(shop=shop, stock=3)
    assert _campaign_row(_create(merchant, last, stock=3)).stock_total == 3
    assert SKU.objects.get(pk=last.pk).stock == 0


# --- what a campaign writes ---------------------------------------------------------------------


def test_a_campaign_writes_every_setting_carves_its_stock_and_says_so(
    merchant, shop, make_sku, make_campaign
):
    sku = make_sku(shop=shop, price_fen=5900, stock=10, title="云南小粒咖啡")
    other = make_sku(shop=shop, stock=10)
    now = clock.now()
    starts_at = now + timedelta(hours=1)
    ends_at = now + timedelta(days=3)
    with clock.frozen_at(now):
        campaign = services.create_campaign(
            actor=merchant,
            sku_public_id=sku.public_id,
            start_price_fen=4000,
            floor_price_fen=500,
            helpers_needed=7,
            stock=3,
            ends_at=ends_at,
            starts_at=starts_at,
            hours_per_bargain=5,
            helps_per_day=9,
            buy_before_floor=True,
            new_users_only=True,
        )
    row = _campaign_row(campaign)
    assert (row.shop_id, row.sku_id, row.title, row.state) == (
        shop.pk,
        sku.pk,
        "云南小粒咖啡",
        "active",
    )
    assert (row.start_price_fen, row.floor_price_fen, row.helpers_needed) == (4000, 500, 7)
    assert (row.hours_per_bargain, row.helps_per_day) == (5, 9)
    assert (row.stock_total, row.stock_left, row.stock_returned) == (3, 3, 0)
    assert (row.buy_before_floor, row.new_users_only) == (True, True)
    assert (row.starts_at, row.ends_at, row.created_at) == (starts_at, ends_at, now)
    assert SKU.objects.get(pk=sku.pk).stock == 7
    assert SKU.objects.get(pk=other.pk).stock == 10
    assert outbox_payloads("bargains.campaign.created") == [
        {"campaign_public_id": campaign.public_id}
    ]
    # Left out, the settings take their defaults and the campaign starts at once.
    with clock.frozen_at(now):
        plain = _campaign_row(make_campaign(sku=other, stock=2))
    assert (plain.buy_before_floor, plain.new_users_only) == (False, False)
    assert (plain.hours_per_bargain, plain.helps_per_day) == (24, 3)
    assert plain.starts_at == now


def test_a_campaign_and_a_bargain_are_stamped_with_the_moment_they_were_checked_at(
    merchant, shop, make_sku, buyer, monkeypatch
):
    """Time passing inside the call (a slow transaction) does not move the recorded times."""
    sku = make_sku(shop=shop, stock=10)
    now = clock.now()
    with ExitStack() as slow, clock.frozen_at(now):

        def an_hour_passes(name):
            check = getattr(services, name)

            def slowly(*args, **kwargs):
                check(*args, **kwargs)
                slow.enter_context(clock.frozen_at(now + timedelta(hours=1)))

            monkeypatch.setattr(services, name, slowly)

        an_hour_passes("_validate_campaign")
        campaign = _create(merchant, sku)
        slow.close()
        an_hour_passes("_campaign_running")
        bargain = services.start_bargain(campaign=campaign, user=buyer)
    row = _campaign_row(campaign)
    assert (row.created_at, row.starts_at) == (now, now)
    stored = Bargain.objects.get(pk=bargain.pk)
    assert (stored.created_at, stored.deadline) == (now, now + timedelta(hours=24))


def test_dates_without_a_time_zone_are_refused(merchant, shop, make_sku):
    sku = make_sku(shop=shop, stock=10)
    naive = datetime(2099, 1, 1, 12, 0)
    expected = ("invalid", "Give a date with a time zone.", {"ends_at": "invalid"})
    assert _refused(lambda: _create(merchant, sku, ends_at=naive)) == expected
    assert _refused(lambda: _create(merchant, sku, starts_at=naive)) == expected
    assert not BargainCampaign.objects.exists()


def test_stock_sold_while_the_campaign_was_checked_refuses_it(
    merchant, shop, make_sku, monkeypatch
):
    sku = make_sku(shop=shop, stock=10)
    check = services._validate_campaign

    def sold_meanwhile(**kwargs):
        check(**kwargs)
        SKU.objects.filter(pk=sku.pk).update(stock=2)

    monkeypatch.setattr(services, "_validate_campaign", sold_meanwhile)
    assert _refused(lambda: _create(merchant, sku, stock=5)) == (
        "not_enough_stock",
        "Not enough stock.",
        {"stock": "not_enough_stock"},
    )
    assert not BargainCampaign.objects.exists()
    assert not outbox_payloads("bargains.campaign.created")
    assert SKU.objects.get(pk=sku.pk).stock == 2


# --- pausing and resuming -----------------------------------------------------------------------


def test_pausing_and_resuming_move_that_campaign_only_and_say_when_they_cannot(
    make_campaign, merchant, other_merchant
):
    campaign = make_campaign()
    other = make_campaign()
    paused = services.pause_campaign(campaign=campaign, actor=merchant)
    assert paused.state == "paused" and _campaign_row(campaign).state == "paused"
    assert _campaign_row(other).state == "active"
    # Pausing again (or resuming what runs) is no change, not an error.
    assert services.pause_campaign(campaign=campaign, actor=merchant).state == "paused"
    assert services.resume_campaign(campaign=other, actor=merchant).state == "active"
    assert _campaign_row(campaign).state == "paused"
    services.pause_campaign(campaign=other, actor=merchant)
    resumed = services.resume_campaign(campaign=campaign, actor=merchant)
    assert resumed.state == "active" and _campaign_row(campaign).state == "active"
    assert _campaign_row(other).state == "paused"
    error = refusal(lambda: services.pause_campaign(campaign=campaign, actor=other_merchant))
    assert (error.code, str(error.message), error.status) == (
        "not_your_shop",
        "This campaign belongs to another shop.",
        403,
    )
    assert _refused(lambda: services.resume_campaign(campaign=other, actor=AnonymousUser())) == (
        "not_authenticated",
        "Please sign in first.",
        {},
    )
    assert _campaign_row(campaign).state == "active" and _campaign_row(other).state == "paused"


def test_an_ended_campaign_is_neither_paused_nor_resumed(make_campaign, merchant):
    campaign = make_campaign()
    services.end_campaign(campaign=campaign, actor=merchant)
    cannot = "The campaign cannot change to that state now."
    error = refusal(lambda: services.pause_campaign(campaign=campaign, actor=merchant))
    assert (error.code, str(error.message), error.status) == ("not_running", cannot, 409)
    assert _campaign_row(campaign).state == "ended"
    error = refusal(lambda: services.resume_campaign(campaign=campaign, actor=merchant))
    assert (error.code, str(error.message), error.status) == ("not_paused", cannot, 409)
    assert _campaign_row(campaign).state == "ended"


# --- the payment window and payment events ------------------------------------------------------


def test_the_payment_window_is_the_setting(settings, finished, buyer):
    settings.DEALS_BARGAIN_PAYMENT_MINUTES = 20
    assert services.payment_window() == timedelta(minutes=20)
    now = clock.now()
    with clock.frozen_at(now):
        services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    assert Bargain.objects.get(pk=finished.pk).pay_deadline == now + timedelta(minutes=20)


def test_a_failed_payment_cancels_the_order_for_that_reason_and_reopens_the_bargain(
    finished, buyer, campaign
):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    services.on_payment_failed(order)
    order.refresh_from_db()
    assert (order.state, order.cancel_reason) == (
        Order.State.CANCELLED,
        Order.CancelReason.PAYMENT_FAILED,
    )
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.order_id) == ("active", None)
    assert _campaign_row(campaign).stock_left == 5


def test_payment_events_of_an_order_of_another_deal_leave_the_bargains_alone(
    finished, buyer, campaign
):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    Checkout.objects.filter(pk=order.checkout_id).update(deal_ref=f"flash:{finished.public_id}")
    order = Order.objects.select_related("checkout").get(pk=order.pk)
    services.on_payment_failed(order)
    services.on_payment_succeeded(order)
    row = Bargain.objects.get(pk=finished.pk)
    assert (row.state, row.order_id) == ("buying", order.pk)
    assert Order.objects.get(pk=order.pk).state == Order.State.PENDING_PAYMENT
    assert _campaign_row(campaign).stock_left == 4


def test_a_paid_purchase_picked_up_at_a_point_names_the_points_community(
    finished, buyer, make_user, pay
):
    owner = make_user()
    community = community_services.create_community(actor=owner, name="邻里团", tags=["邻里"])
    community_services.join_community(actor=buyer, community=community)
    leader_services.appoint_leader(actor=owner, community=community, user=owner)
    point = order_services.create_pickup_point(
        actor=owner, community=community, name="楼下", address="1 号楼", hours="全天"
    )
    order = services.buy(bargain=finished, user=buyer, address_id=f"pickup:{point.public_id}")
    assert order.pickup_point_id == point.pk
    pay(order.checkout)
    (paid,) = outbox_payloads("bargains.bargain.paid")
    assert paid["community_public_id"] == community.public_id
    assert paid["order_public_id"] == order.public_id


def test_a_help_counts_on_todays_quota_only(campaign, buyer, friends):
    helper = friends[0]
    today = services._local_day(clock.now())
    HelpQuota.objects.create(helper=helper, day=today - timedelta(days=1), used=1)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    services.help_bargain(bargain=bargain, helper=helper)
    assert HelpQuota.objects.get(helper=helper, day=today).used == 1
    assert HelpQuota.objects.get(helper=helper, day=today - timedelta(days=1)).used == 1


def test_a_help_cuts_by_the_algorithm_its_bargain_started_with(
    campaign, buyer, friends, monkeypatch
):
    # A later version (cuts smallest first, unlike version 1) must not change running bargains.
    def smallest_first(*, seed, helpers, total):
        return [1] * (helpers - 1) + [total - helpers + 1]

    monkeypatch.setitem(cuts.ALGORITHMS, 2, smallest_first)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    Bargain.objects.filter(pk=bargain.pk).update(cuts_version=2)
    assert services.help_bargain(bargain=bargain, helper=friends[0]).cut_fen == 1
    assert Bargain.objects.get(pk=bargain.pk).current_price_fen == 4999


def test_a_help_is_stamped_with_the_moment_it_was_checked_at(campaign, buyer, friends, monkeypatch):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    now = clock.now()
    take = services._take_daily_help
    with ExitStack() as slow, clock.frozen_at(now):

        def taking_an_hour(**kwargs):
            take(**kwargs)
            slow.enter_context(clock.frozen_at(now + timedelta(hours=1)))

        monkeypatch.setattr(services, "_take_daily_help", taking_an_hour)
        help_row = services.help_bargain(bargain=bargain, helper=friends[0])
    assert help_row.created_at == now
    assert Help.objects.get(pk=help_row.pk).created_at == now


# --- campaigns ended at their deadline ----------------------------------------------------------


def test_campaigns_past_their_end_are_ended_at_that_time_and_counted(make_campaign, merchant):
    now = clock.now()
    deadline = now + timedelta(hours=3)
    due = make_campaign(ends_at=deadline, stock=2)
    earlier = make_campaign(ends_at=deadline - timedelta(hours=1), stock=3)
    running = make_campaign(ends_at=deadline + timedelta(microseconds=1), stock=4)
    ended = make_campaign(ends_at=deadline - timedelta(hours=2), stock=1)
    services.end_campaign(campaign=ended, actor=merchant)
    ended_at = _campaign_row(ended).ended_at
    assert services.end_due_campaigns(deadline) == 2
    for campaign, returned in ((due, 2), (earlier, 3)):
        row = _campaign_row(campaign)
        assert (row.state, row.stock_left, row.stock_returned, row.ended_at) == (
            "ended",
            0,
            returned,
            deadline,
        )
    assert (_campaign_row(running).state, _campaign_row(running).stock_left) == ("active", 4)
    assert _campaign_row(ended).ended_at == ended_at
    assert services.end_due_campaigns(deadline) == 0
    events = outbox_payloads("bargains.campaign.ended")
    assert sorted((e["campaign_public_id"], e["returned"], e["ended_by"]) for e in events[1:]) == (
        sorted([(due.public_id, 2, ""), (earlier.public_id, 3, "")])
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_end_each_due_campaign_once(make_campaign, make_sku, shop):
    skus = [make_sku(shop=shop, stock=10) for _ in range(6)]
    campaigns = [make_campaign(sku=sku, stock=4) for sku in skus]
    later = clock.now() + timedelta(days=8)

    outcomes = race(lambda i: services.end_due_campaigns(later), 2)

    assert sum(outcomes) == 6, outcomes
    for campaign, sku in zip(campaigns, skus, strict=True):
        row = _campaign_row(campaign)
        assert (row.state, row.stock_left, row.stock_returned) == ("ended", 0, 4)
        assert SKU.objects.get(pk=sku.pk).stock == 10
    assert len(outbox_payloads("bargains.campaign.ended")) == 6
