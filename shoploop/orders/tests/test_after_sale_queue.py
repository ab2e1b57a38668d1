"""The operators' queue (escalated after-sales in the admin, oldest first, decided through
``decide_escalated_after_sale``) and the after-sale pages in English with no Chinese left over."""

from datetime import timedelta

import pytest
from django.utils import translation

from shoploop.core import clock
from shoploop.ledger.verification import verify_ledger
from shoploop.orders import services
from shoploop.orders.models import AfterSale, Order

pytestmark = pytest.mark.django_db

QUEUE = "/admin/orders/escalatedaftersale/"


@pytest.fixture
def make_received(buyer, make_sku, shop, place, pay):
    def make():
        checkout = place((make_sku(shop=shop), 1))
        pay(checkout)
        order = Order.objects.get(checkout=checkout)
        services.ship_order(
            order=order, actor=shop.owner, carrier="sf", tracking_number="SF123456789012"
        )
        return services.confirm_receipt(order=order, actor=buyer)

    return make


def _escalated(order, *, at):
    with clock.frozen_at(at):
        after_sale = services.request_after_sale(
            order=order, actor=order.buyer, kind="refund_only", reason_code="quality"
        )
        services.reject_after_sale(after_sale=after_sale, actor=order.shop.owner, reason="不行")
        return services.escalate_after_sale(after_sale=after_sale, actor=order.buyer)


def test_queue_lists_only_escalated_oldest_first(client, operator, make_received):
    first, second, open_one = make_received(), make_received(), make_received()
    now = clock.now()
    newer = _escalated(second, at=now - timedelta(hours=1))
    older = _escalated(first, at=now - timedelta(hours=5))
    waiting = services.request_after_sale(
        order=open_one, actor=open_one.buyer, kind="refund_only", reason_code="quality"
    )
    client.force_login(operator)
    page = client.get(QUEUE).content.decode()
    assert older.public_id in page and newer.public_id in page
    assert waiting.public_id not in page
    assert page.index(older.public_id) < page.index(newer.public_id)
    assert client.get(f"{QUEUE}{older.pk}/change/").status_code == 200


def test_queue_action_refunds_through_the_service(client, operator, make_received, committed):
    escalated = _escalated(make_received(), at=clock.now())
    client.force_login(operator)
    with committed():
        response = client.post(
            QUEUE, {"action": "refund_escalated", "_selected_action": [escalated.pk]}
        )
    assert response.status_code == 302
    escalated.refresh_from_db()
    assert escalated.state == AfterSale.State.REFUNDED and escalated.decided_by == operator
    # deciding again from a stale page: nothing selected any more, nothing moves
    with committed():
        client.post(QUEUE, {"action": "refund_escalated", "_selected_action": [escalated.pk]})
    escalated.refresh_from_db()
    assert escalated.order.refunded_fen == escalated.amount_fen
    assert verify_ledger().ok


def test_queue_is_for_operators_only(client, buyer):
    client.force_login(buyer)
    assert client.get(QUEUE).status_code == 302  # the admin's sign-in page


def test_timeline_notes_written_in_chinese_read_in_english(
    client, make_received, committed, english
):
    order = make_received()
    after_sale = services.request_after_sale(
        order=order, actor=order.buyer, kind="refund_only", reason_code="quality"
    )
    with translation.override("zh-hans"), committed():
        services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    client.force_login(order.buyer)
    page = client.get(f"/orders/{order.public_id}/").content.decode()
    assert "Refund accepted." in page and "已同意退款" not in page
    with translation.override("zh-hans"):
        client.cookies["django_language"] = "zh-hans"
        chinese = client.get(
            f"/orders/{order.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "已同意退款" in chinese


def test_after_sale_pages_in_english_have_no_chinese(client, make_received, english):
    from shoploop.catalog import services as catalog_services

    order = make_received()
    catalog_services.update_shop(shop=order.shop, actor=order.shop.owner, return_address="Addr 1")
    after_sale = services.request_after_sale(
        order=order, actor=order.buyer, kind="return_and_refund", reason_code="wrong_item"
    )
    services.accept_after_sale(after_sale=after_sale, actor=order.shop.owner)
    services.ship_return(
        after_sale=after_sale, actor=order.buyer, carrier="YTO", tracking_number="YT1"
    )
    services.dispute_return(after_sale=after_sale, actor=order.shop.owner, reason="Empty box")
    client.force_login(order.buyer)
    page = client.get(f"/after-sales/{after_sale.public_id}/").content.decode()
    body = page[page.index("<main") :] if "<main" in page else page
    # user content here is Latin; the product title and the layout's language switch are not
    # after-sale text, so strip the product titles the fixture made
    for title in [line.title for line in order.lines.all()]:
        body = body.replace(title, "")
    leftovers = [ch for ch in body.replace("中文", "") if "\u4e00" <= ch <= "\u9fff"]
    assert not leftovers, "".join(leftovers)
    assert "Waiting for the platform" in page and "The shop disputed the returned goods" in page
