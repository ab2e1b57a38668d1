"""After-sale: within 7 days of receipt, per line and quantity, merchant decides, operator settles
escalations; refunds void and re-hold so the sum refunded never exceeds what was paid."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.ledger.models import Account, Payment
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import AfterSale, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(buyer, sku, make_sku, shop, place, pay):
    """A received order with two lines: 3 × ¥59.00 and 1 × ¥10.00."""
    small = make_sku(shop=shop, price_fen=1000, title="滤纸", options={})
    checkout = place((sku, 3), (small, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    return services.confirm_receipt(order=order, actor=buyer)


def _lines(order):
    return list(order.lines.order_by("id"))


def _request(order, *items, kind="refund_only", reason="坏了"):
    return services.request_after_sale(
        order=order,
        actor=order.buyer,
        kind=kind,
        reason=reason,
        lines=[{"line_id": line.public_id, "quantity": qty} for line, qty in items],
    )


def _pending(order):
    return Account.objects.get(code=f"merchant_pending:shop:{order.shop.public_id}")


def test_partial_refund_accepted_rehold_remainder(received, committed):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 1))
    assert after_sale.amount_fen == 5900 and after_sale.state == "requested"
    with committed():
        after_sale = services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    assert after_sale.state == AfterSale.State.REFUNDED
    received.refresh_from_db()
    assert received.refunded_fen == 5900 and received.hold_version == 1
    assert _pending(received).credits_pending == 18700 - 5900
    payment = Payment.objects.get(public_id=received.checkout.payment_public_id)
    assert payment.refunded_fen == 5900
    assert verify_ledger().ok
    # completion pays the shop the rest, minus the fee on the rest
    assert services.complete_order(order=received, now=received.received_at + timedelta(days=7))
    received.refresh_from_db()
    assert received.fee_fen == 12800 * 500 // 10000
    available = Account.objects.get(code=f"merchant_available:shop:{received.shop.public_id}")
    assert available.credit_balance == 12800 - received.fee_fen
    assert verify_ledger().ok


def test_refunding_everything_line_by_line_adds_up_to_the_total(received, committed):
    coffee, paper = _lines(received)
    with committed():
        for items in ([(coffee, 1)], [(coffee, 2), (paper, 1)]):
            after_sale = _request(received, *items)
            services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    received.refresh_from_db()
    assert received.refunded_fen == received.total_fen and not received.has_hold
    with pytest.raises(DomainError) as caught:
        _request(received, (coffee, 1))
    assert caught.value.code == "already_refunded"
    assert services.complete_order(order=received, now=received.received_at + timedelta(days=7))
    assert verify_ledger().ok


def test_quantity_defaults_to_what_was_bought(received):
    coffee, paper = _lines(received)
    after_sale = services.request_after_sale(
        order=received,
        actor=received.buyer,
        kind="refund_only",
        reason_code="damaged",
        lines=[{"line_id": coffee.public_id}],
    )
    assert [(item.order_line_id, item.quantity) for item in after_sale.lines.all()] == [
        (coffee.pk, 3)
    ]
    services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="no")
    everything = services.request_after_sale(
        order=received, actor=received.buyer, kind="refund_only", reason_code="quality"
    )
    assert sorted((item.order_line_id, item.quantity) for item in everything.lines.all()) == [
        (coffee.pk, 3),
        (paper.pk, 1),
    ]
    assert everything.amount_fen == received.total_fen and everything.reason == ""


@pytest.mark.parametrize(("reason_code", "reason"), [("bogus", "x"), ("other", ""), ("", "x")])
def test_reason_from_the_list_and_other_needs_words(received, reason_code, reason):
    coffee, _paper = _lines(received)
    with pytest.raises(DomainError):
        services.request_after_sale(
            order=received,
            actor=received.buyer,
            kind="refund_only",
            reason_code=reason_code,
            reason=reason,
            lines=[{"line_id": coffee.public_id, "quantity": 1}],
        )
    assert not AfterSale.objects.exists()


@pytest.mark.parametrize(
    "lines",
    [
        [],
        "x",
        [{"line_id": "nope", "quantity": 1}],
        [{"line_id": None, "quantity": 1}],
    ],
)
def test_bad_lines_are_refused(received, lines):
    with pytest.raises(DomainError):
        services.request_after_sale(
            order=received, actor=received.buyer, kind="refund_only", reason="x", lines=lines
        )
    assert not AfterSale.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 4, 10**9, "1", 1.5, True])
def test_bad_quantities_are_refused(received, quantity):
    coffee, _paper = _lines(received)
    with pytest.raises(DomainError):
        _request(received, (coffee, quantity))
    assert not AfterSale.objects.exists()


def test_same_line_twice_in_one_request_is_refused(received):
    coffee, _paper = _lines(received)
    with pytest.raises(DomainError):
        _request(received, (coffee, 1), (coffee, 1))


@pytest.mark.parametrize(
    ("kind", "reason"), [("bogus", "x"), ("refund_only", ""), ("refund_only", "x" * 10_000)]
)
def test_bad_kind_or_reason_is_refused(received, kind, reason):
    coffee, _paper = _lines(received)
    with pytest.raises(DomainError):
        _request(received, (coffee, 1), kind=kind, reason=reason)
    assert not AfterSale.objects.exists()


def test_html_reason_is_stored_as_given(received):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 1), reason="<script>alert(1)</script>")
    assert after_sale.reason == "<script>alert(1)</script>"


def test_one_open_request_at_a_time(received):
    coffee, paper = _lines(received)
    _request(received, (coffee, 1))
    with pytest.raises(DomainError) as caught:
        _request(received, (paper, 1))
    assert caught.value.code == "after_sale_already_open"


def test_window_is_seven_days_after_receipt(received):
    coffee, _paper = _lines(received)
    with clock.frozen_at(received.received_at + timedelta(days=7)), pytest.raises(DomainError) as c:
        _request(received, (coffee, 1))
    assert c.value.code == "after_sale_window_closed"


def test_not_before_payment(buyer, sku, place):
    order = Order.objects.get(checkout=place((sku, 1)))
    with pytest.raises(DomainError) as caught:
        _request(order, (order.lines.get(), 1))
    assert caught.value.code == "after_sale_window_closed"


def test_before_shipping_only_refund_only(buyer, sku, place, pay):
    checkout = place((sku, 1))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    with pytest.raises(DomainError) as caught:
        _request(order, (order.lines.get(), 1), kind="return_and_refund")
    assert caught.value.code == "nothing_to_return"
    assert _request(order, (order.lines.get(), 1)).state == "requested"


def test_only_the_buyer_requests_and_only_the_shop_decides(received, other_user, other_merchant):
    coffee, _paper = _lines(received)
    with pytest.raises(PermissionDenied):
        services.request_after_sale(
            order=received,
            actor=other_user,
            kind="refund_only",
            reason="x",
            lines=[{"line_id": coffee.public_id, "quantity": 1}],
        )
    after_sale = _request(received, (coffee, 1))
    for stranger in (received.buyer, other_merchant, other_user):
        with pytest.raises(PermissionDenied):
            services.accept_after_sale(after_sale=after_sale, actor=stranger)
        with pytest.raises(PermissionDenied):
            services.reject_after_sale(after_sale=after_sale, actor=stranger, reason="no")
    after_sale.refresh_from_db()
    assert after_sale.state == "requested"


def test_reject_escalate_and_operator_refunds(received, operator, committed):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 2))
    with pytest.raises(DomainError):
        services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="")
    after_sale = services.reject_after_sale(
        after_sale=after_sale, actor=received.shop.owner, reason="人为损坏"
    )
    assert after_sale.state == "rejected" and after_sale.rejection_reason == "人为损坏"
    with pytest.raises(DomainError):
        services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    with pytest.raises(PermissionDenied):
        services.escalate_after_sale(after_sale=after_sale, actor=received.shop.owner)
    after_sale = services.escalate_after_sale(after_sale=after_sale, actor=received.buyer)
    assert after_sale.state == "escalated"
    # completion waits while an escalation is open
    assert not services.complete_order(order=received, now=received.received_at + timedelta(days=9))
    with pytest.raises(PermissionDenied):
        services.decide_escalated_after_sale(
            after_sale=after_sale, actor=received.buyer, refund=True
        )
    with committed():
        after_sale = services.decide_escalated_after_sale(
            after_sale=after_sale, actor=operator, refund=True, note="证据充分"
        )
    assert after_sale.state == "refunded" and after_sale.amount_fen == 11800
    assert verify_ledger().ok


def test_operator_closes_without_refund(received, operator):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 1))
    services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="no")
    services.escalate_after_sale(after_sale=after_sale, actor=received.buyer)
    after_sale = services.decide_escalated_after_sale(
        after_sale=after_sale, actor=operator, refund=False
    )
    assert after_sale.state == "closed"
    received.refresh_from_db()
    assert received.refunded_fen == 0
    with pytest.raises(DomainError):
        services.decide_escalated_after_sale(after_sale=after_sale, actor=operator, refund=True)


def test_escalation_only_while_the_window_is_open(received):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 1))
    services.reject_after_sale(after_sale=after_sale, actor=received.shop.owner, reason="no")
    with clock.frozen_at(received.received_at + timedelta(days=8)), pytest.raises(DomainError):
        services.escalate_after_sale(after_sale=after_sale, actor=received.buyer)


def test_accepting_twice_refunds_once(received, committed):
    coffee, _paper = _lines(received)
    after_sale = _request(received, (coffee, 1))
    with committed():
        services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    with pytest.raises(DomainError) as caught:
        services.accept_after_sale(after_sale=after_sale, actor=received.shop.owner)
    assert caught.value.code == "after_sale_decided"
    assert Payment.objects.get(public_id=received.checkout.payment_public_id).refunded_fen == 5900
    assert verify_ledger().ok


def test_unknown_line_in_other_order_is_404(received, buyer, sku, place, pay):
    other = place((sku, 1))
    pay(other)
    foreign_line = Order.objects.get(checkout=other).lines.get()
    with pytest.raises(NotFound):
        _request(received, (foreign_line, 1))
