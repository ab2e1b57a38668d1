"""Races on PostgreSQL with real threads released together; then the invariants and the ledger."""

from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.errors import DomainError
from shoploop.core.testing import race
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help, HelpQuota
from shoploop.ledger.services import payments
from shoploop.ledger.testing import report_payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _succeed(payment_public_id: str) -> None:
    """The sandbox provider reports success; the event is delivered after the commit."""
    payment = payments.payment_by_public_id(public_id=payment_public_id)
    report_payment(payment)


def _codes(outcomes) -> set[str]:
    return {o.code for o in outcomes if isinstance(o, DomainError)}


def test_twenty_parallel_helps_from_one_user_make_one_cut(make_campaign, buyer, make_user):
    campaign = make_campaign(helpers=5)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    helper = make_user()

    outcomes = race(lambda i: services.help_bargain(bargain=bargain, helper=helper), 20)

    helped = [o for o in outcomes if isinstance(o, Help)]
    assert len(helped) == 1, outcomes
    assert _codes(outcomes) == {"already_helped"}
    bargain.refresh_from_db()
    assert bargain.helps_count == 1
    assert bargain.current_price_fen == 5000 - helped[0].cut_fen


def test_many_helpers_at_once_exactly_n_reach_the_floor(make_campaign, buyer, make_user):
    campaign = make_campaign(start=5000, floor=1234, helpers=10)
    bargain = services.start_bargain(campaign=campaign, user=buyer)
    helpers = [make_user() for _ in range(30)]

    outcomes = race(lambda i: services.help_bargain(bargain=bargain, helper=helpers[i]), 30)

    helped = [o for o in outcomes if isinstance(o, Help)]
    assert len(helped) == 10, outcomes
    assert _codes(outcomes) == {"floor_reached"}
    assert sorted(h.position for h in helped) == list(range(1, 11))
    bargain.refresh_from_db()
    assert (bargain.helps_count, bargain.current_price_fen) == (10, 1234)
    assert sum(Help.objects.filter(bargain=bargain).values_list("cut_fen", flat=True)) == 3766


def test_one_helper_on_many_bargains_at_once_stays_within_the_daily_limit(make_campaign, make_user):
    campaign = make_campaign(helps_per_day=3, stock=10)
    bargains = [services.start_bargain(campaign=campaign, user=make_user()) for _ in range(10)]
    helper = make_user()

    outcomes = race(lambda i: services.help_bargain(bargain=bargains[i], helper=helper), 10)

    assert sum(isinstance(o, Help) for o in outcomes) == 3, outcomes
    assert _codes(outcomes) == {"daily_help_limit"}
    assert Help.objects.filter(helper=helper).count() == 3


def test_parallel_starts_by_one_user_make_one_bargain(campaign, buyer):
    outcomes = race(lambda i: services.start_bargain(campaign=campaign, user=buyer), 10)
    assert sum(isinstance(o, Bargain) for o in outcomes) == 1, outcomes
    assert _codes(outcomes) == {"already_bargaining"}


def test_buyers_racing_for_the_last_units_and_paying(make_campaign, make_user):
    campaign = make_campaign(stock=3, helpers=1, buy_before_floor=True)
    buyers = [make_user() for _ in range(12)]
    bargains = [services.start_bargain(campaign=campaign, user=b) for b in buyers]
    ships = [address_id_for(b) for b in buyers]  # made before the race

    def buy_and_pay(index):
        order = services.buy(bargain=bargains[index], user=buyers[index], address_id=ships[index])
        _succeed(order.checkout.payment_public_id)
        return order

    outcomes = race(buy_and_pay, 12)

    orders = [o for o in outcomes if isinstance(o, Order)]
    assert len(orders) == 3, outcomes
    assert _codes(outcomes) == {"sold_out"}
    campaign.refresh_from_db()
    assert campaign.stock_left == 0
    assert Order.objects.filter(state=Order.State.PAID).count() == 3
    assert Bargain.objects.filter(state="bought").count() == 3
    assert verify_ledger().ok


def test_ending_while_buyers_buy_conserves_the_stock(make_campaign, make_sku, shop, make_user):
    sku = make_sku(shop=shop, price_fen=5900, stock=10)
    campaign = make_campaign(sku=sku, stock=6, helpers=1, buy_before_floor=True)
    buyers = [make_user() for _ in range(10)]
    bargains = [services.start_bargain(campaign=campaign, user=b) for b in buyers]
    ships = [address_id_for(b) for b in buyers]  # made before the race

    def work(index):
        if index == 0:
            return services.end_campaign(campaign=campaign, actor=shop.owner)
        return services.buy(bargain=bargains[index], user=buyers[index], address_id=ships[index])

    outcomes = race(work, 10)

    sold = sum(isinstance(o, Order) for o in outcomes)
    returned = outcomes[0]
    assert isinstance(returned, int), outcomes
    campaign.refresh_from_db()
    assert campaign.state == "ended" and campaign.stock_left == 0
    assert sold + returned == 6
    assert SKU.objects.get(pk=sku.pk).stock == 4 + returned
    assert _codes(outcomes) <= {"sold_out", "campaign_ended"}


def test_two_workers_expire_and_free_each_bargain_once(make_campaign, make_user):
    campaign = make_campaign(stock=10, helpers=1, buy_before_floor=True)
    buyers = [make_user() for _ in range(8)]
    bargains = [services.start_bargain(campaign=campaign, user=b) for b in buyers]
    for bargain, buyer in zip(bargains[:4], buyers[:4], strict=True):
        services.buy(bargain=bargain, user=buyer, address_id=address_id_for(buyer))
    later = clock.now() + timedelta(days=2)

    outcomes = race(lambda i: services.expire_due(later), 2)

    assert sum(outcomes) == 4 + 4, outcomes  # 4 expired + 4 unpaid purchases freed
    assert Bargain.objects.filter(state="expired").count() == 8
    assert Order.objects.filter(state=Order.State.CANCELLED).count() == 4
    assert BargainCampaign.objects.get(pk=campaign.pk).stock_left == 10
    assert verify_ledger().ok


def test_a_payment_arriving_as_the_payment_window_closes_is_kept_or_refunded_never_both(
    make_campaign, make_user
):
    campaign = make_campaign(stock=10, helpers=1, buy_before_floor=True)
    buyers = [make_user() for _ in range(6)]
    bargains = [services.start_bargain(campaign=campaign, user=b) for b in buyers]
    orders = [
        services.buy(bargain=b, user=u, address_id=address_id_for(u))
        for b, u in zip(bargains, buyers, strict=True)
    ]
    window_closed = clock.now() + services.payment_window()

    def work(index):
        if index < len(orders):
            return _succeed(orders[index].checkout.payment_public_id)
        with clock.frozen_at(window_closed):
            return services.expire_due(window_closed)

    race(work, len(orders) + 2)

    campaign.refresh_from_db()
    for bargain, order in zip(bargains, orders, strict=True):
        bargain.refresh_from_db()
        order.refresh_from_db()
        payment = payments.payment_by_public_id(public_id=order.checkout.payment_public_id)
        if bargain.state == "bought":
            assert order.state == Order.State.PAID and payment.refunded_fen == 0
        else:
            assert bargain.state == "active" and order.state == Order.State.CANCELLED
            assert payment.refunded_fen == payment.captured_fen
    bought = Bargain.objects.filter(state="bought").count()
    assert campaign.stock_left == 10 - bought
    assert verify_ledger().ok


def test_one_user_racing_starts_gets_one_bargain_and_an_expired_one_frees_the_place(
    campaign, buyer
):
    outcomes = race(lambda i: services.start_bargain(campaign=campaign, user=buyer), 12)
    started = [o for o in outcomes if isinstance(o, Bargain)]
    assert len(started) == 1, outcomes
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["already_bargaining"] * 11

    assert services.expire_due(started[0].deadline) == 1  # the place is free again
    outcomes = race(lambda i: services.start_bargain(campaign=campaign, user=buyer), 12)

    assert sum(isinstance(o, Bargain) for o in outcomes) == 1, outcomes
    assert _codes(outcomes) == {"already_bargaining"}
    mine = Bargain.objects.filter(campaign=campaign, initiator=buyer)
    assert mine.filter(state=Bargain.State.ACTIVE).count() == 1
    assert mine.filter(state=Bargain.State.EXPIRED).count() == 1
    assert verify_ledger().ok


def test_a_helper_with_one_help_a_day_racing_on_twelve_bargains_helps_once(
    make_campaign, make_user
):
    campaign = make_campaign(helps_per_day=1, stock=5)
    bargains = [services.start_bargain(campaign=campaign, user=make_user()) for _ in range(12)]
    helper = make_user()

    outcomes = race(lambda i: services.help_bargain(bargain=bargains[i], helper=helper), 12)

    assert sum(isinstance(o, Help) for o in outcomes) == 1, outcomes
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["daily_help_limit"] * 11
    assert Help.objects.filter(helper=helper).count() == 1
    assert HelpQuota.objects.get(helper=helper).used == 1
    assert sum(Bargain.objects.values_list("helps_count", flat=True)) == 1
    assert verify_ledger().ok
