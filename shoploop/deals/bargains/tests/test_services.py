"""Bargain services: campaigns, starting, helping, buying, payments and every bad input."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.events import recorded_events
from shoploop.deals.bargains import cuts, services
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db


def _code(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


# --- campaigns --------------------------------------------------------------------------------


def test_a_campaign_carves_its_stock_from_the_sku(make_sku, shop, make_campaign):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    campaign = make_campaign(sku=sku, stock=4)
    assert campaign.state == "active"
    assert (campaign.stock_total, campaign.stock_left) == (4, 4)
    assert SKU.objects.get(pk=sku.pk).stock == 6
    assert campaign.hours_per_bargain == 24 and campaign.helps_per_day == 3


@pytest.mark.parametrize(
    ("settings", "code", "field"),
    [
        ({"start": 6000}, "start_above_price", "start_price_fen"),
        ({"start": 1000, "floor": 1000}, "floor_not_below_start", "floor_price_fen"),
        ({"start": 1000, "floor": 2000}, "floor_not_below_start", "floor_price_fen"),
        ({"start": 1003, "floor": 1000, "helpers": 4}, "too_many_helpers", "helpers_needed"),
        ({"helpers": 0}, "invalid", "helpers_needed"),
        ({"helpers": 101}, "invalid", "helpers_needed"),
        ({"floor": -1}, "invalid", "floor_price_fen"),
        ({"stock": 11}, "not_enough_stock", "stock"),
        ({"stock": 0}, "invalid", "stock"),
        ({"hours_per_bargain": 0}, "invalid", "hours_per_bargain"),
        ({"hours_per_bargain": 73}, "invalid", "hours_per_bargain"),
        ({"helps_per_day": 0}, "invalid", "helps_per_day"),
        ({"ends_at": "past"}, "ends_in_past", "ends_at"),
        ({"helpers": "three"}, "invalid", "helpers_needed"),
        ({"helpers": 2.5}, "invalid", "helpers_needed"),
    ],
)
def test_campaign_settings_that_make_no_sense_are_refused(
    make_campaign, make_sku, shop, settings, code, field
):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    if settings.get("ends_at") == "past":
        settings["ends_at"] = clock.now() - timedelta(minutes=1)
    with pytest.raises(DomainError) as caught:
        make_campaign(sku=sku, **settings)
    assert caught.value.code == code
    assert field in caught.value.fields
    assert not BargainCampaign.objects.exists()
    assert SKU.objects.get(pk=sku.pk).stock == 10


def test_a_floor_of_zero_is_allowed_and_n_equal_to_the_fen_to_cut(make_campaign):
    campaign = make_campaign(start=3, floor=0, helpers=3)
    assert campaign.floor_price_fen == 0


def test_another_merchants_sku_is_forbidden(make_sku, other_shop, shop):
    theirs = make_sku(shop=other_shop, price_fen=5900)
    with pytest.raises(DomainError) as caught:
        services.create_campaign(
            actor=shop.owner,
            sku_public_id=theirs.public_id,
            start_price_fen=5000,
            floor_price_fen=0,
            helpers_needed=3,
            stock=1,
            ends_at=clock.now() + timedelta(days=1),
        )
    assert caught.value.status == 403


def test_a_buyer_without_a_shop_cannot_create_campaigns(buyer, sku):
    assert (
        _code(
            lambda: services.create_campaign(
                actor=buyer,
                sku_public_id=sku.public_id,
                start_price_fen=5000,
                floor_price_fen=0,
                helpers_needed=3,
                stock=1,
                ends_at=clock.now() + timedelta(days=1),
            )
        )
        == "no_shop"
    )


def test_pause_resume_end_and_the_stock_comes_back_once(campaign, other_merchant, merchant):
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    with pytest.raises(DomainError) as caught:
        services.pause_campaign(campaign=campaign, actor=other_merchant)
    assert caught.value.status == 403
    assert services.pause_campaign(campaign=campaign, actor=merchant).state == "paused"
    assert services.resume_campaign(campaign=campaign, actor=merchant).state == "active"
    assert services.end_campaign(campaign=campaign, actor=merchant) == 5
    assert services.end_campaign(campaign=campaign, actor=merchant) == 0
    campaign.refresh_from_db()
    assert (campaign.state, campaign.stock_left, campaign.stock_returned) == ("ended", 0, 5)
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 5
    assert _code(lambda: services.resume_campaign(campaign=campaign, actor=merchant)) == (
        "not_paused"
    )
    with pytest.raises(DomainError) as caught:
        services.end_campaign(campaign=campaign, actor=other_merchant)
    assert caught.value.status == 403


# --- starting ---------------------------------------------------------------------------------


def test_start_a_bargain_at_the_start_price(campaign, buyer):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    assert (bargain.state, bargain.current_price_fen, bargain.helps_count) == ("active", 5000, 0)
    assert len(bargain.seed) == 32
    assert bargain.deadline == bargain.created_at + timedelta(hours=24)


def test_one_open_bargain_per_user_per_campaign(campaign, buyer):
    services.start_bargain(campaign=campaign, user=buyer)
    assert _code(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "already_bargaining"
    )
    assert Bargain.objects.count() == 1


def test_a_new_bargain_may_start_after_the_last_one_expired(campaign, buyer):
    first = services.start_bargain(campaign=campaign, user=buyer)
    services.expire_due(first.deadline)
    first.refresh_from_db()
    assert first.state == "expired"
    assert services.start_bargain(campaign=campaign, user=buyer).pk != first.pk


def test_the_deadline_never_outlives_the_campaign(make_campaign, buyer):
    campaign = make_campaign(ends_at=clock.now() + timedelta(hours=2))
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    assert bargain.deadline == campaign.ends_at


def test_no_bargain_in_a_paused_ended_or_own_campaign(campaign, buyer, merchant):
    assert _code(lambda: services.start_bargain(campaign=campaign, user=merchant)) == "own_shop"
    services.pause_campaign(campaign=campaign, actor=merchant)
    assert _code(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "campaign_paused"
    )
    services.end_campaign(campaign=campaign, actor=merchant)
    assert _code(lambda: services.start_bargain(campaign=campaign, user=buyer)) == (
        "campaign_ended"
    )
    assert _code(lambda: services.start_bargain(campaign=campaign, user=None)) == (
        "not_authenticated"
    )


# --- helping ----------------------------------------------------------------------------------


def test_each_help_takes_the_next_cut_and_exactly_n_reach_the_floor(campaign, buyer, friends):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    expected = cuts.cut_sequence(seed=bargain.seed, helpers=3, total=4000)
    prices = []
    for position, friend in enumerate(friends[:3], start=1):
        help_row = services.help_bargain(bargain=bargain, helper=friend)
        assert (help_row.position, help_row.cut_fen) == (position, expected[position - 1])
        prices.append(bargain.current_price_fen)
        assert bargain.helps_count == position
    assert prices[0] > prices[1] > prices[2] == 1000
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=friends[3])) == (
        "floor_reached"
    )
    assert bargain.helps_left == 0


def test_helping_twice_own_bargain_or_unverified_is_refused(campaign, buyer, friends, make_user):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    services.help_bargain(bargain=bargain, helper=friends[0])
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "already_helped"
    )
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=buyer)) == "own_bargain"
    unverified = make_user(verified=False)
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=unverified)) == (
        "phone_not_verified"
    )
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=None)) == (
        "not_authenticated"
    )
    bargain.refresh_from_db()
    assert bargain.helps_count == 1 and Help.objects.count() == 1


def test_the_merchant_cannot_help(campaign, buyer, merchant):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=merchant)) == "own_shop"


def test_at_most_h_helps_per_helper_per_day_across_bargains(make_campaign, make_user, friends):
    campaign = make_campaign(helps_per_day=2, stock=5, hours_per_bargain=72)
    helper = friends[0]
    bargains = [services.start_bargain(campaign=campaign, user=make_user()) for _ in range(3)]
    services.help_bargain(bargain=bargains[0], helper=helper)
    services.help_bargain(bargain=bargains[1], helper=helper)
    assert _code(lambda: services.help_bargain(bargain=bargains[2], helper=helper)) == (
        "daily_help_limit"
    )
    bargains[2].refresh_from_db()
    assert bargains[2].helps_count == 0
    with clock.frozen_at(clock.now() + timedelta(days=1)):
        services.help_bargain(bargain=bargains[2], helper=helper)


def test_new_users_only(make_campaign, buyer, friends, make_sku, shop, pay):
    campaign = make_campaign(new_users_only=True)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    # friends[0] has ordered before: not a new user.
    other = make_campaign(buy_before_floor=True)
    old_bargain = services.start_bargain(campaign=other, user=friends[0])
    services.buy(bargain=old_bargain, user=friends[0], address_id=address_id_for(friends[0]))
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "new_users_only"
    )
    services.help_bargain(bargain=bargain, helper=friends[1])


def test_no_help_after_the_deadline_or_in_a_paused_campaign(campaign, buyer, friends, merchant):
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    with clock.frozen_at(bargain.deadline):
        assert _code(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
            "bargain_closed"
        )
    services.pause_campaign(campaign=campaign, actor=merchant)
    assert _code(lambda: services.help_bargain(bargain=bargain, helper=friends[0])) == (
        "campaign_paused"
    )


# --- buying -----------------------------------------------------------------------------------


def test_buy_at_the_floor_and_pay(finished, buyer, pay, campaign):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    assert order.total_fen == 1000 and order.state == Order.State.PENDING_PAYMENT
    assert order.checkout.deal_ref == f"bargain:{finished.public_id}"
    finished.refresh_from_db()
    assert finished.state == "buying" and finished.order_id == order.pk
    campaign.refresh_from_db()
    assert campaign.stock_left == 4
    with recorded_events() as events:
        pay(order.checkout)
    order.refresh_from_db()
    finished.refresh_from_db()
    assert order.state == Order.State.PAID
    (paid,) = [e.payload for e in events if e.name == "bargains.bargain.paid"]
    assert paid == {  # who and which shop: insights count the completion there
        "bargain_public_id": finished.public_id,
        "order_public_id": order.public_id,
        "buyer_public_id": buyer.public_id,
        "shop_public_id": campaign.shop.public_id,
        "community_public_id": None,  # delivered, not picked up in a community
    }
    assert finished.state == "bought" and finished.paid_at is not None
    assert verify_ledger().ok


def test_cannot_buy_before_the_floor_unless_allowed(make_campaign, buyer, friends, pay):
    strict = make_campaign()
    bargain = services.start_bargain(campaign=strict, user=buyer)
    services.help_bargain(bargain=bargain, helper=friends[0])
    with pytest.raises(DomainError) as caught:
        services.buy(bargain=bargain, user=buyer, address_id=address_id_for(buyer))
    assert caught.value.code == "floor_not_reached"
    assert "2" in caught.value.message
    relaxed = make_campaign(buy_before_floor=True)
    early = services.start_bargain(campaign=relaxed, user=buyer)
    services.help_bargain(bargain=early, helper=friends[1])
    early.refresh_from_db()
    order = services.buy(bargain=early, user=buyer, address_id=address_id_for(buyer))
    assert order.total_fen == early.current_price_fen > 1000
    pay(order.checkout)
    assert verify_ledger().ok


def test_only_the_initiator_buys_once(finished, buyer, friends):
    with pytest.raises(DomainError) as caught:
        services.buy(bargain=finished, user=friends[0], address_id=address_id_for(friends[0]))
    assert caught.value.status == 403
    services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    assert (
        _code(lambda: services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer)))
        == "already_buying"
    )


def test_sold_out_campaign(make_campaign, make_user, friends):
    campaign = make_campaign(stock=1, buy_before_floor=True, helpers=1)
    first, second = make_user(), make_user()
    a = services.start_bargain(campaign=campaign, user=first)
    b = services.start_bargain(campaign=campaign, user=second)
    services.buy(bargain=a, user=first, address_id=address_id_for(first))
    assert (
        _code(lambda: services.buy(bargain=b, user=second, address_id=address_id_for(second)))
        == "sold_out"
    )
    b.refresh_from_db()
    assert b.state == "active" and b.order_id is None


def test_the_last_unit_taken_while_the_order_is_placed_leaves_no_order(
    make_campaign, make_user, monkeypatch
):
    """The campaign's unit is taken last (lock order); a rival who took it meanwhile makes the
    buy fail as sold out, and the order placed a moment before is rolled back with it."""
    campaign = make_campaign(stock=1, buy_before_floor=True, helpers=1)
    buyer = make_user()
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    place = services.order_services.place_deal_order

    def rival_buys_first(**kwargs):
        order = place(**kwargs)
        BargainCampaign.objects.filter(pk=campaign.pk).update(stock_left=0)
        return order

    monkeypatch.setattr(services.order_services, "place_deal_order", rival_buys_first)
    assert (
        _code(lambda: services.buy(bargain=bargain, user=buyer, address_id=address_id_for(buyer)))
        == "sold_out"
    )
    bargain.refresh_from_db()
    assert (bargain.state, bargain.order_id) == ("active", None)
    assert not Order.objects.filter(buyer=buyer).exists()
    assert verify_ledger().ok


def test_a_free_bargain_is_paid_at_once(make_campaign, buyer, friends):
    campaign = make_campaign(start=3, floor=0, helpers=3)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    for friend in friends[:3]:
        services.help_bargain(bargain=bargain, helper=friend)
    order = services.buy(bargain=bargain, user=buyer, address_id=address_id_for(buyer))
    bargain.refresh_from_db()
    assert order.state == Order.State.PAID and order.total_fen == 0
    assert bargain.state == "bought"
    assert verify_ledger().ok


def test_no_buying_after_the_deadline_or_when_ended(finished, buyer, merchant):
    with clock.frozen_at(finished.deadline):
        assert (
            _code(
                lambda: services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
            )
            == "bargain_closed"
        )
    services.end_campaign(campaign=finished.campaign, actor=merchant)
    assert (
        _code(lambda: services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer)))
        == "campaign_ended"
    )


# --- payments and deadlines -------------------------------------------------------------------


def test_a_failed_payment_drops_the_purchase_and_the_bargain_runs_on(finished, buyer, campaign):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    services.on_payment_failed(order)
    finished.refresh_from_db()
    order.refresh_from_db()
    campaign.refresh_from_db()
    assert order.state == Order.State.CANCELLED
    assert finished.state == "active" and finished.order_id is None
    assert campaign.stock_left == 5
    again = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    assert again.pk != order.pk
    assert verify_ledger().ok


def test_unpaid_purchase_is_cancelled_after_the_window_and_the_unit_returns(
    finished, buyer, campaign, pay
):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    later = clock.now() + services.payment_window()
    assert services.expire_due(later) == 1
    assert services.expire_due(later) == 0
    order.refresh_from_db()
    finished.refresh_from_db()
    campaign.refresh_from_db()
    assert order.state == Order.State.CANCELLED
    assert finished.state == "active" and campaign.stock_left == 5
    # A payment arriving after the cancellation is refunded in full (by the ledger).
    payment = pay(order.checkout)
    assert payment.refunded_fen == payment.captured_fen == 1000
    finished.refresh_from_db()
    assert finished.state == "active"
    assert verify_ledger().ok


def test_unpaid_past_the_bargain_deadline_expires_the_bargain(finished, buyer):
    services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    services.expire_due(finished.deadline + timedelta(minutes=1))
    finished.refresh_from_db()
    assert finished.state == "expired"


def test_a_captured_payment_whose_event_was_lost_is_settled_not_cancelled(
    finished, buyer, pay_with_the_event_lost
):
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    pay_with_the_event_lost(order.checkout)
    order.refresh_from_db()
    assert order.state == Order.State.PENDING_PAYMENT
    services.expire_due(clock.now() + services.payment_window())
    order.refresh_from_db()
    finished.refresh_from_db()
    assert order.state == Order.State.PAID and finished.state == "bought"
    assert verify_ledger().ok


def test_deadline_handlers_expire_bargains_and_end_campaigns(campaign, buyer, friends):
    from shoploop.core.deadlines import settle_due

    bargain = services.start_bargain(campaign=campaign, user=buyer)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    result = settle_due(bargain.deadline)
    assert result["deals_bargains.expire"] == 1
    bargain.refresh_from_db()
    assert bargain.state == "expired"
    result = settle_due(campaign.ends_at)
    assert result["deals_bargains.end_campaigns"] == 1
    assert settle_due(campaign.ends_at)["deals_bargains.end_campaigns"] == 0
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 5


def test_ending_a_campaign_expires_its_open_bargains_and_late_units_go_to_the_sku(
    finished, buyer, merchant, campaign
):
    other = services.start_bargain(
        campaign=campaign,
        user=merchant.__class__.objects.create_user(
            "+8613999999999", display_name="x", phone_verified_at=clock.now()
        ),
    )
    order = services.buy(bargain=finished, user=buyer, address_id=address_id_for(buyer))
    services.end_campaign(campaign=campaign, actor=merchant)
    sku_stock = SKU.objects.get(pk=campaign.sku_id).stock
    services.expire_due(clock.now() + services.payment_window())
    other.refresh_from_db()
    finished.refresh_from_db()
    order.refresh_from_db()
    assert other.state == "expired" and finished.state == "expired"
    assert order.state == Order.State.CANCELLED
    assert SKU.objects.get(pk=campaign.sku_id).stock == sku_stock + 1
    assert verify_ledger().ok
