"""Return and refund: the shop accepts, the buyer sees the return address and sends the goods
back, the refund happens when the shop confirms receipt, or automatically after
``AFTER_SALE_RETURN_AUTO_REFUND_DAYS`` unless the shop disputes (→ the operators' queue)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from shoploop.catalog import services as catalog_services
from shoploop.core.errors import DomainError, PermissionDenied, ValidationFailed
from shoploop.ledger.models import Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import selectors, services
from shoploop.orders.models import AfterSale, Order

pytestmark = pytest.mark.django_db

ADDRESS = "张三 13800000000 上海市徐汇区某路 1 号"


@pytest.fixture
def received(buyer, sku, shop, place, pay):
    """A received order of 2 × ¥59.00 from a shop with a return address."""
    catalog_services.update_shop(shop=shop, actor=shop.owner, return_address=ADDRESS)
    checkout = place((sku, 2))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    return services.confirm_receipt(order=order, actor=buyer)


@pytest.fixture
def accepted(received):
    after_sale = services.request_after_sale(
        order=received, actor=received.buyer, kind="return_and_refund", reason_code="damaged"
    )
    return services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)


def _payment(order):
    return Payment.objects.get(public_id=order.checkout.payment_public_id)


def _ship_back(after_sale, **overrides):
    fields = {"carrier": "圆通", "tracking_number": "YT123"} | overrides
    return services.ship_return(after_sale=after_sale, actor=after_sale.order.buyer, **fields)


def test_accepting_a_return_waits_for_the_goods_and_shows_the_address(accepted, received):
    assert accepted.state == "accepted" and accepted.accepted_at is not None
    assert accepted.due_at == accepted.accepted_at + timedelta(days=7)
    assert selectors.return_address_for(after_sale=accepted) == ADDRESS
    assert _payment(received).refunded_fen == 0


def test_no_return_address_before_acceptance(received):
    after_sale = services.request_after_sale(
        order=received, actor=received.buyer, kind="return_and_refund", reason_code="damaged"
    )
    assert selectors.return_address_for(after_sale=after_sale) == ""


def test_a_shop_without_return_address_cannot_accept_a_return(received):
    catalog_services.update_shop(shop=received.shop, actor=received.shop.owner, return_address="")
    after_sale = services.request_after_sale(
        order=received, actor=received.buyer, kind="return_and_refund", reason_code="damaged"
    )
    with pytest.raises(DomainError) as caught:
        services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    assert caught.value.code == "no_return_address"
    after_sale.refresh_from_db()
    assert after_sale.state == "requested"


def test_return_tracking_before_acceptance_is_refused(received):
    after_sale = services.request_after_sale(
        order=received, actor=received.buyer, kind="return_and_refund", reason_code="damaged"
    )
    with pytest.raises(DomainError) as caught:
        _ship_back(after_sale)
    assert caught.value.code == "return_not_accepted"
    after_sale.refresh_from_db()
    assert after_sale.state == "requested" and after_sale.return_tracking_number == ""


@pytest.mark.parametrize(
    "overrides", [{"carrier": ""}, {"tracking_number": " "}, {"tracking_number": "x" * 61}]
)
def test_return_shipment_needs_carrier_and_tracking(accepted, overrides):
    with pytest.raises(ValidationFailed):
        _ship_back(accepted, **overrides)
    accepted.refresh_from_db()
    assert accepted.state == "accepted"


def test_only_the_buyer_ships_back_and_only_the_shop_confirms(accepted, other_user):
    for stranger in (accepted.order.shop.owner, other_user):
        with pytest.raises(PermissionDenied):
            services.ship_return(
                after_sale=accepted, actor=stranger, carrier="圆通", tracking_number="1"
            )
    shipped = _ship_back(accepted)
    for stranger in (shipped.order.buyer, other_user):
        with pytest.raises(PermissionDenied):
            services.confirm_return_received(after_sale=shipped, actor=stranger)
        with pytest.raises(PermissionDenied):
            services.dispute_return(after_sale=shipped, actor=stranger, reason="x")
    shipped.refresh_from_db()
    assert shipped.state == "return_shipped"


def test_shop_confirms_receipt_and_the_buyer_is_refunded_once(accepted, received, committed):
    shipped = _ship_back(accepted)
    assert shipped.state == "return_shipped"
    assert shipped.due_at == shipped.return_shipped_at + timedelta(days=7)
    with committed():
        refunded = services.confirm_return_received(after_sale=shipped, actor=received.shop.owner)
    assert refunded.state == "refunded" and refunded.due_at is None
    with pytest.raises(DomainError) as caught:
        services.confirm_return_received(after_sale=shipped, actor=received.shop.owner)
    assert caught.value.code == "return_not_shipped"
    with committed():
        assert services.settle_after_sale_deadlines(shipped.due_at + timedelta(days=1)) == 0
    assert _payment(received).refunded_fen == 11800
    assert verify_ledger().ok


@override_settings(AFTER_SALE_RETURN_AUTO_REFUND_DAYS=3)
def test_shipped_return_is_refunded_automatically_after_the_setting(accepted, received, committed):
    shipped = _ship_back(accepted)
    due = shipped.due_at
    assert due == shipped.return_shipped_at + timedelta(days=3)
    with committed():
        assert services.settle_after_sale_deadlines(due - timedelta(minutes=1)) == 0
        assert services.settle_after_sale_deadlines(due) == 1
        assert services.settle_after_sale_deadlines(due) == 0
    shipped.refresh_from_db()
    assert shipped.state == "refunded"
    assert _payment(received).refunded_fen == 11800
    assert verify_ledger().ok
    # the order then completes with nothing left for the shop
    received.refresh_from_db()
    assert services.complete_order(order=received, now=due + timedelta(days=7))
    assert verify_ledger().ok


def test_dispute_goes_to_the_operators_and_stops_the_auto_refund(
    accepted, received, operator, committed
):
    shipped = _ship_back(accepted)
    with pytest.raises(ValidationFailed):
        services.dispute_return(after_sale=shipped, actor=received.shop.owner, reason="")
    disputed = services.dispute_return(
        after_sale=shipped, actor=received.shop.owner, reason="退回的是空盒子"
    )
    assert disputed.state == "escalated" and disputed.escalation == "dispute"
    assert disputed.dispute_reason == "退回的是空盒子" and disputed.due_at is None
    with committed():
        assert services.settle_after_sale_deadlines(shipped.due_at + timedelta(days=1)) == 0
    assert _payment(received).refunded_fen == 0
    assert list(selectors.escalated_after_sales()) == [disputed]
    with committed():
        services.decide_escalated_after_sale(
            after_sale=disputed, actor=operator, refund=False, note="照片显示为空盒"
        )
    disputed.refresh_from_db()
    assert disputed.state == "closed"
    assert _payment(received).refunded_fen == 0
    assert verify_ledger().ok


def test_a_return_never_sent_back_closes_at_its_deadline(accepted, received, committed):
    with committed():
        assert services.settle_after_sale_deadlines(accepted.due_at) == 1
    accepted.refresh_from_db()
    assert accepted.state == "closed" and accepted.due_at is None
    assert _payment(received).refunded_fen == 0
    with pytest.raises(DomainError) as caught:
        _ship_back(accepted)
    assert caught.value.code == "return_not_accepted"


def test_the_order_waits_for_an_open_return_before_completing(accepted, received):
    received.refresh_from_db()
    assert not services.complete_order(order=received, now=received.received_at + timedelta(days=8))
    assert AfterSale.objects.get().is_open


def test_the_return_address_is_set_in_the_console(client, shop):
    client.force_login(shop.owner)
    page = client.get("/console/shop/").content.decode()
    assert 'name="return_address"' in page
    client.post("/console/shop/", {"part": "returns", "return_address": ADDRESS})
    shop.refresh_from_db()
    assert shop.return_address == ADDRESS
    client.post("/console/shop/", {"part": "returns", "return_address": "x" * 301})
    shop.refresh_from_db()
    assert shop.return_address == ADDRESS


def test_only_the_owner_sets_the_return_address(shop, other_user):
    with pytest.raises(PermissionDenied):
        catalog_services.update_shop(shop=shop, actor=other_user, return_address="mine")
    shop.refresh_from_db()
    assert shop.return_address == ""
