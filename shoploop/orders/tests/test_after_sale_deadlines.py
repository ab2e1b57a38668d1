"""After-sale answer deadline: an unanswered request is refunded (refund only, not shipped yet)
or escalated to the operators at ``due_at``, by ``settle_after_sale_deadlines``, exactly once."""

from datetime import timedelta

import pytest
from django.test import override_settings

from shoploop.catalog.models import SKU
from shoploop.core import clock
from shoploop.core.deadlines import registered_handlers, settle_due
from shoploop.core.testing import race
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import Address, AfterSale, Order
from shoploop.orders.tests.test_races import _succeed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def paid(buyer, make_sku, shop, place, pay):
    """A paid, unshipped order of 2 × ¥59.00 (stock 10 → 8)."""
    sku = make_sku(shop=shop, stock=10)
    checkout = place((sku, 2))
    pay(checkout)
    return Order.objects.select_related("shop").get(checkout=checkout)


def _ask(order, *, kind="refund_only", quantity=None):
    line = order.lines.get()
    return services.request_after_sale(
        order=order,
        actor=order.buyer,
        kind=kind,
        reason_code="changed_mind",
        lines=[{"line_id": line.public_id, "quantity": quantity}],
    )


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _stock(order):
    return SKU.objects.get(pk=order.lines.get().sku_id).stock


def test_request_carries_the_answer_deadline(paid):
    with clock.frozen_at(paid.paid_at + timedelta(hours=1)):
        after_sale = _ask(paid)
        assert after_sale.due_at == clock.now() + timedelta(hours=48)
    assert "refunded automatically" in after_sale.due_label


@override_settings(AFTER_SALE_ANSWER_HOURS=2)
def test_answer_hours_come_from_the_setting(paid):
    after_sale = _ask(paid)
    assert after_sale.due_at - after_sale.created_at == timedelta(hours=2)


def test_nothing_happens_before_the_deadline(paid, committed):
    after_sale = _ask(paid)
    with committed():
        assert services.settle_after_sale_deadlines(after_sale.due_at - timedelta(seconds=1)) == 0
    after_sale.refresh_from_db()
    assert after_sale.state == "requested" and _payment(paid).refunded_fen == 0


def test_unanswered_refund_before_shipping_is_refunded_once(paid, committed):
    after_sale = _ask(paid)
    with committed():
        assert services.settle_after_sale_deadlines(after_sale.due_at) == 1
    with committed():
        assert services.settle_after_sale_deadlines(after_sale.due_at + timedelta(days=3)) == 0
    after_sale.refresh_from_db()
    paid.refresh_from_db()
    assert after_sale.state == "refunded" and after_sale.due_at is None
    assert after_sale.decided_by is None and after_sale.decided_at is not None
    assert _payment(paid).refunded_fen == 11800 == paid.refunded_fen
    # refunded whole before shipping: the order is cancelled, the units are back in stock
    assert paid.state == Order.State.CANCELLED and not paid.has_hold
    assert _stock(paid) == 10
    assert verify_ledger().ok
    # a late "accept" from the shop changes nothing
    with pytest.raises(services.DomainError) as caught:
        services.accept_after_sale(after_sale=after_sale, actor=paid.shop.owner)
    assert caught.value.code == "after_sale_decided"
    assert _payment(paid).refunded_fen == 11800


def test_unanswered_partial_refund_keeps_the_rest_of_the_order(paid, committed):
    after_sale = _ask(paid, quantity=1)
    with committed():
        services.settle_after_sale_deadlines(after_sale.due_at)
    paid.refresh_from_db()
    assert paid.state == Order.State.PAID and paid.has_hold and paid.refunded_fen == 5900
    assert _stock(paid) == 9
    assert verify_ledger().ok
    # the rest ships and completes normally: the shop is paid for one unit
    services.ship_order(
        order=paid, actor=paid.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    services.confirm_receipt(order=paid, actor=paid.buyer)
    paid.refresh_from_db()
    assert services.complete_order(order=paid, now=paid.received_at + timedelta(days=7))
    assert verify_ledger().ok


def test_cancelling_after_a_partial_refund_gives_back_only_the_units_still_held(paid, committed):
    after_sale = _ask(paid, quantity=1)
    with committed():
        services.accept_after_sale(after_sale=after_sale, actor=paid.shop.owner)
    assert _stock(paid) == 9  # the refunded unit is back already
    paid.refresh_from_db()
    with committed():
        services.cancel_order(order=paid, actor=paid.buyer)
    paid.refresh_from_db()
    assert paid.state == Order.State.CANCELLED
    assert _stock(paid) == 10  # not 11: the refunded unit is not given back twice
    assert _payment(paid).refunded_fen == 11800
    assert verify_ledger().ok


def test_the_ship_queue_packs_only_units_not_refunded(paid, committed, client):
    after_sale = _ask(paid, quantity=1)
    with committed():
        services.accept_after_sale(after_sale=after_sale, actor=paid.shop.owner)
    line = paid.lines.get()
    assert (line.quantity, line.to_ship_quantity) == (2, 1)
    client.force_login(paid.shop.owner)
    page = client.get("/console/orders/packing-list.csv")
    assert page.status_code == 200
    assert f"{line.title}" in page.content.decode("utf-8-sig")
    assert "× 1" in page.content.decode("utf-8-sig")


def test_unanswered_after_shipping_goes_to_the_operators(paid, committed):
    after_sale = _ask(paid)
    services.ship_order(
        order=paid, actor=paid.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    with committed():
        assert services.settle_after_sale_deadlines(after_sale.due_at) == 1
    after_sale.refresh_from_db()
    assert after_sale.state == "escalated" and after_sale.escalation == "no_answer"
    assert after_sale.escalated_at is not None and after_sale.due_at is None
    assert _payment(paid).refunded_fen == 0
    assert paid.events.filter(kind="after_sale_auto_escalated").exists()


def test_unanswered_return_goes_to_the_operators_who_decide(paid, operator, committed):
    services.ship_order(
        order=paid, actor=paid.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    after_sale = _ask(paid, kind="return_and_refund")
    assert "platform decides" in after_sale.due_label
    with committed():
        services.settle_after_sale_deadlines(after_sale.due_at)
    after_sale.refresh_from_db()
    assert after_sale.state == "escalated"
    with committed():
        services.decide_escalated_after_sale(after_sale=after_sale, actor=operator, refund=True)
    assert _payment(paid).refunded_fen == 11800
    assert verify_ledger().ok


def test_a_request_whose_order_was_cancelled_closes_without_a_second_refund(paid, committed):
    after_sale = _ask(paid, quantity=1)
    with committed():
        services.cancel_order(order=paid, actor=paid.buyer)
        services.settle_after_sale_deadlines(after_sale.due_at)
    after_sale.refresh_from_db()
    assert after_sale.state == "closed"
    assert paid.events.filter(kind="after_sale_void").exists()
    assert _payment(paid).refunded_fen == 11800
    assert verify_ledger().ok


def test_the_handler_is_registered_with_settle_due(paid, committed):
    assert "orders.after_sale_deadlines" in registered_handlers()
    after_sale = _ask(paid)
    with committed():
        settled = settle_due(after_sale.due_at)
    assert settled["orders.after_sale_deadlines"] == 1
    after_sale.refresh_from_db()
    assert after_sale.state == "refunded"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_settle_each_request_once(buyer, make_sku, shop, ship_to):
    orders = []
    for _ in range(6):
        sku = make_sku(shop=shop, stock=5)
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
        checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
        _succeed(checkout.payment_public_id)
        orders.append(checkout.orders.get())
    requests = [_ask(order) for order in orders]
    due = max(item.due_at for item in requests)

    outcomes = race(lambda _index: services.settle_after_sale_deadlines(due), 4)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == 6
    for order in orders:
        assert _payment(order).refunded_fen == 5900
    assert AfterSale.objects.filter(state="refunded").count() == 6
    assert verify_ledger().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_shop_accepting_while_the_deadline_passes_refunds_once(buyer, make_sku, shop, ship_to):
    sku = make_sku(shop=shop, stock=5)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    checkout = services.checkout(buyer=buyer, address_public_id=ship_to(buyer))
    _succeed(checkout.payment_public_id)
    order = checkout.orders.get()
    after_sale = _ask(order)

    def act(index):
        if index % 2:
            return services.settle_after_sale_deadlines(after_sale.due_at)
        return services.accept_after_sale(after_sale=after_sale, actor=shop.owner).state

    outcomes = race(act, 6)
    assert _payment(order).refunded_fen == 5900
    after_sale.refresh_from_db()
    assert after_sale.state == "refunded", outcomes
    assert verify_ledger().ok


def test_a_deal_order_refunded_before_shipping_gives_back_no_sku_stock(
    buyer, sku, pay, committed, ship_to
):
    order = services.place_deal_order(
        buyer=buyer,
        address=Address.objects.get(public_id=ship_to(buyer)),
        shop=sku.product.shop,
        title=sku.product.title,
        unit_price_fen=3900,
        quantity=1,
        deal_ref="test:after-sale",
        expires_at=clock.now() + timedelta(minutes=5),
        sku=sku,
    )
    pay(order.checkout)
    order.refresh_from_db()
    assert services.settle_deal_payment(order=order, accept=True) == "paid"
    after_sale = _ask(order)
    with committed():
        services.settle_after_sale_deadlines(after_sale.due_at)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLED and order.refunded_fen == 3900
    assert SKU.objects.get(pk=sku.pk).stock == sku.stock  # the campaign owns a deal's stock
    assert _payment(order).refunded_fen == 3900
    assert verify_ledger().ok


@pytest.mark.parametrize("typed", ["", "  ", "abc", "1.5"])
def test_a_blank_or_junk_quantity_on_the_page_never_means_the_whole_line(
    paid, client, english, typed
):
    client.force_login(paid.buyer)
    line = paid.lines.get()
    response = client.post(
        f"/orders/{paid.public_id}/after-sale/",
        {"kind": "refund_only", "reason_code": "changed_mind", f"qty_{line.public_id}": typed},
        follow=True,
    )
    assert response.status_code == 200
    assert not AfterSale.objects.filter(order=paid).exists()
    page = response.content.decode()
    assert "Choose what to refund." in page or "The quantity must be a whole number." in page
