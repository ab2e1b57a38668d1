"""The admin: orders are browsable; escalated after-sales are decided by an action (a service)."""

import pytest

from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import AfterSale, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(buyer, sku, place, pay):
    checkout = place((sku, 2))
    pay(checkout)
    order = Order.objects.get(checkout=checkout)
    services.ship_order(
        order=order, actor=order.shop.owner, carrier="sf", tracking_number="SF123456789012"
    )
    services.confirm_receipt(order=order, actor=buyer)
    after_sale = services.request_after_sale(
        order=order,
        actor=buyer,
        kind="refund_only",
        reason="坏了",
        lines=[{"line_id": order.lines.get().public_id, "quantity": 1}],
    )
    services.reject_after_sale(after_sale=after_sale, actor=order.shop.owner, reason="不行")
    return services.escalate_after_sale(after_sale=after_sale, actor=buyer)


def test_admin_pages_render(client, operator, escalated):
    client.force_login(operator)
    for path in (
        "/admin/orders/order/",
        f"/admin/orders/order/{escalated.order.pk}/change/",
        "/admin/orders/aftersale/",
        f"/admin/orders/aftersale/{escalated.pk}/change/",
        "/admin/orders/checkout/",
        "/admin/orders/cart/",
        "/admin/core/idempotencyrecord/",
    ):
        assert client.get(path).status_code == 200, path


def test_operator_refunds_an_escalated_request_from_the_admin(
    client, operator, escalated, committed
):
    client.force_login(operator)
    with committed():
        response = client.post(
            "/admin/orders/aftersale/",
            {"action": "refund_escalated", "_selected_action": [escalated.pk]},
        )
    assert response.status_code == 302
    escalated.refresh_from_db()
    assert escalated.state == AfterSale.State.REFUNDED and escalated.decided_by == operator
    assert verify_ledger().ok


def test_operator_closes_an_escalated_request_from_the_admin(client, operator, escalated):
    client.force_login(operator)
    client.post(
        "/admin/orders/aftersale/",
        {"action": "close_escalated", "_selected_action": [escalated.pk]},
    )
    escalated.refresh_from_db()
    assert escalated.state == AfterSale.State.CLOSED
