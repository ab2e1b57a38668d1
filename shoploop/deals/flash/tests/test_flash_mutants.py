"""Tests written for mutation testing of ``shoploop/deals/flash/services.py``
(``scripts/mutate.py flash``, docs/mutation.md): the refusals' codes and messages, the moment a
sale is judged at, the rows a purchase, a payment, a release and an end write (timestamps
included), their events' payloads, quotas and units that move for their own sale and buyer
only, several sales of one SKU settled in one sweep, and sweeps that go on past one batch."""

from collections import Counter
from datetime import timedelta

import pytest

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.testing import outbox_payloads, refusal, said
from shoploop.deals.flash import services
from shoploop.deals.flash.models import FlashPurchase, FlashQuota, FlashSale
from shoploop.orders.models import Order
from shoploop.orders.tests.conftest import address_id_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _buy(sale, user):
    return services.buy(sale=_fresh(sale), user=user, address_id=address_id_for(user))


def _fresh(sale) -> FlashSale:
    return FlashSale.objects.get(pk=sale.pk)


def _quota(sale, user) -> int:
    return FlashQuota.objects.get(sale=sale, buyer=user).bought


def _sku_stock(sku) -> int:
    return SKU.objects.get(pk=sku.pk).stock


# --- refusals -----------------------------------------------------------------------------------


def test_refusals_say_why_in_words(make_sale, buyer, merchant):
    upcoming = make_sale(starts_in=timedelta(minutes=30))
    assert said(lambda: _buy(upcoming, buyer)) == (
        "not_started",
        "This flash sale has not started yet.",
    )
    sale = make_sale()
    with clock.frozen_at(sale.ends_at):
        assert said(lambda: _buy(sale, buyer)) == ("ended", "This flash sale has ended.")
    assert said(lambda: _buy(sale, merchant)) == (
        "own_shop",
        "You cannot buy from your own shop.",
    )
    services.pause_sale(sale=sale, actor=merchant)
    assert said(lambda: _buy(sale, buyer)) == ("paused", "This flash sale is paused.")


def test_a_bad_quantity_names_its_field(sale, buyer):
    error = refusal(
        lambda: services.buy(sale=sale, user=buyer, address_id=address_id_for(buyer), quantity=0)
    )
    assert (error.code, error.fields) == ("invalid", {"quantity": "range"})


def test_a_sale_is_judged_at_the_moment_given_not_the_clock(make_sale):
    sale = make_sale()  # live now
    before = sale.starts_at - timedelta(seconds=1)
    assert services._not_open_error(sale, before).code == "not_started"
    assert services._not_open_error(sale, sale.ends_at).code == "ended"
    assert services._not_open_error(sale, sale.starts_at) is None


def test_the_units_update_refuses_a_moment_outside_the_sale(make_sale):
    sale = make_sale(stock=5)
    for moment, code in (
        (sale.starts_at - timedelta(seconds=1), "not_started"),
        (sale.ends_at, "ended"),
    ):
        error = refusal(lambda m=moment: services._take_units(sale=sale, quantity=1, now=m))
        assert error.code == code
    assert _fresh(sale).available == 5
    services._take_units(sale=sale, quantity=1, now=sale.starts_at)
    assert _fresh(sale).available == 4


# --- a purchase ---------------------------------------------------------------------------------


def test_a_purchase_orders_the_sales_sku_and_says_so(sale, buyer):
    purchase = _buy(sale, buyer)
    line = Order.objects.get(pk=purchase.order_id).lines.get()
    assert line.sku_id == sale.sku_id
    assert line.product_public_id == sale.sku.product.public_id
    assert outbox_payloads("flash.purchase.reserved") == [
        {
            "purchase_public_id": purchase.public_id,
            "sale_public_id": sale.public_id,
            "buyer_public_id": buyer.public_id,
            "quantity": 1,
        }
    ]


def test_a_quota_is_taken_in_its_own_sale_and_for_its_own_buyer(
    make_sale, buyer, make_user, fail_payment
):
    first, second = make_sale(), make_sale()
    other = make_user()
    fail_payment(_buy(first, buyer).order.checkout)  # buyer's quota row in ``first``: 0
    fail_payment(_buy(second, other).order.checkout)  # other's quota row in ``second``: 0
    _buy(second, buyer)
    assert _quota(second, buyer) == 1
    assert _quota(first, buyer) == 0
    assert _quota(second, other) == 0


# --- payment outcomes ---------------------------------------------------------------------------


def test_a_payment_marks_the_purchase_paid_at_that_moment_and_says_so(sale, buyer, pay):
    purchase = _buy(sale, buyer)
    moment = clock.now() + timedelta(minutes=1)
    with clock.frozen_at(moment):
        pay(purchase.order.checkout)
    purchase.refresh_from_db()
    assert (purchase.state, purchase.settled_at) == (FlashPurchase.State.PAID, moment)
    (paid,) = outbox_payloads("flash.purchase.paid")
    assert (paid["purchase_public_id"], paid["sale_public_id"], paid["order_public_id"]) == (
        purchase.public_id,
        sale.public_id,
        purchase.order.public_id,
    )


def test_payment_answers_for_an_order_that_is_not_a_flash_purchase(sale, buyer, make_user):
    purchase = _buy(sale, buyer)
    stranger = Order.objects.get(pk=purchase.order_id)
    FlashPurchase.objects.filter(pk=purchase.pk).delete()
    assert services.on_payment_succeeded(stranger) == "unknown"
    assert services.on_payment_failed(stranger) is False


def test_a_failed_payment_releases_its_own_purchase_once_and_says_so(
    make_sale, buyer, make_user, fail_payment
):
    sale, elsewhere = make_sale(stock=5, limit=1), make_sale(stock=5, limit=1)
    mine, theirs = _buy(sale, buyer), _buy(sale, make_user())
    _buy(elsewhere, buyer)
    moment = clock.now() + timedelta(minutes=2)
    with clock.frozen_at(moment):
        fail_payment(mine.order.checkout)
    mine.refresh_from_db()
    assert (mine.state, mine.settled_at) == (FlashPurchase.State.RELEASED, moment)
    assert FlashPurchase.objects.get(pk=theirs.pk).state == FlashPurchase.State.RESERVED
    assert _quota(sale, theirs.buyer) == 1
    assert (_quota(sale, buyer), _quota(elsewhere, buyer)) == (0, 1)
    assert services.on_payment_failed(Order.objects.get(pk=mine.order_id)) is False
    assert outbox_payloads("flash.purchase.released") == [
        {
            "purchase_public_id": mine.public_id,
            "sale_public_id": sale.public_id,
            "buyer_public_id": buyer.public_id,
        }
    ]


def test_a_failed_payment_answers_true_when_it_released(sale, buyer):
    purchase = _buy(sale, buyer)
    assert services.on_payment_failed(Order.objects.get(pk=purchase.order_id)) is True


def test_a_release_never_takes_a_quota_below_zero(sale, buyer):
    purchase = _buy(sale, buyer)
    FlashQuota.objects.filter(sale=sale, buyer=buyer).update(bought=0)
    assert services.on_payment_failed(Order.objects.get(pk=purchase.order_id)) is True
    assert _quota(sale, buyer) == 0


# --- units given back ---------------------------------------------------------------------------


def test_a_cancelled_paid_order_gives_its_unit_back_to_its_own_sale(
    make_sale, buyer, make_user, pay
):
    from shoploop.orders import services as order_services

    first, second = make_sale(stock=5), make_sale(stock=5)
    for _ in range(3):  # purchase primary keys run ahead of sale ones
        _buy(first, make_user())
    purchase = _buy(second, buyer)
    assert purchase.pk != second.pk
    pay(purchase.order.checkout)
    order_services.cancel_order(
        order=Order.objects.get(pk=purchase.order_id), actor=second.shop.owner
    )
    assert (_fresh(first).available, _fresh(second).available) == (2, 5)


def test_units_of_an_order_without_a_flash_purchase_go_nowhere(sale, buyer):
    purchase = _buy(sale, buyer)
    FlashPurchase.objects.filter(pk=purchase.pk).delete()
    services.return_units_of_order(order=Order.objects.get(pk=purchase.order_id), quantity=1)
    assert _fresh(sale).available == 4


# --- the end ------------------------------------------------------------------------------------


def test_an_end_stamps_its_moment_says_so_and_is_not_repeated(make_sale):
    sale = make_sale(stock=5)
    with clock.frozen_at(sale.ends_at):
        assert services.end_due_sales(clock.now()) == 1
    ended = _fresh(sale)
    assert (ended.state, ended.ended_at) == (FlashSale.State.ENDED, sale.ends_at)
    assert outbox_payloads("flash.sale.ended") == [
        {"sale_public_id": sale.public_id, "returned": 5}
    ]
    assert services._end_locked(ended, to_sku=Counter()) is False


def test_sales_of_one_sku_ending_together_give_the_sku_all_their_leftovers(
    make_sku, shop, make_sale
):
    sku = make_sku(shop=shop, price_fen=5900, stock=20)
    first, second = make_sale(sku=sku, stock=5), make_sale(sku=sku, stock=7)
    assert _sku_stock(sku) == 8
    assert services.end_due_sales(max(first.ends_at, second.ends_at)) == 2
    assert _sku_stock(sku) == 20


def test_releases_after_the_end_of_two_sales_of_one_sku_give_the_sku_every_unit(
    make_sku, shop, make_sale, make_user
):
    sku = make_sku(shop=shop, price_fen=5900, stock=20)
    first, second = make_sale(sku=sku, stock=5), make_sale(sku=sku, stock=5)
    unpaid = [_buy(first, make_user()), _buy(second, make_user())]
    later = max(p.reserved_until for p in unpaid) + timedelta(hours=2)
    services.end_due_sales(later)
    assert _sku_stock(sku) == 18
    assert services.release_unpaid(later) == 2
    assert _sku_stock(sku) == 20


def test_the_sweeps_go_on_past_one_batch(monkeypatch, make_sale, make_user):
    monkeypatch.setattr(services, "SETTLE_BATCH_SIZE", 1)
    sales = [make_sale(stock=3), make_sale(stock=3)]
    unpaid = [_buy(sales[0], make_user()), _buy(sales[0], make_user())]
    later = max(s.ends_at for s in sales) + timedelta(hours=1)
    assert services.release_unpaid(later) == 2
    assert services.end_due_sales(later) == 2
    assert services.end_due_sales(later) == 0  # ended sales are not picked again
    assert [FlashPurchase.objects.get(pk=p.pk).state for p in unpaid] == ["released"] * 2
