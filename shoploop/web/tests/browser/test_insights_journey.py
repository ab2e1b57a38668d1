"""A merchant reads their shop's loop on a phone (390 px): from the shop console to the insights
dashboard, which draws the loop (people at each stage, the week's conversations and purchases
with its chats and completed deals, the viral coefficient) as charts, lists it week by week in a
table and offers it as CSV. This week six buyers viewed a product, chatted with the shop, bought
in its flash sale and shared (facts written to the outbox as the services do, then rolled up).
The page fits the screen and passes axe; each step leaves a screenshot."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.core.models import OutboxEvent
from shoploop.insights import services as insights
from shoploop.insights.batch import week_start
from shoploop.web.tests.browser.conftest import assert_accessible, assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP = "Lin's Tea"
BUYERS = 6


def _event(name: str, at, **payload) -> None:
    """An outbox row as the service would have written it (the rollup reads the outbox)."""
    OutboxEvent.objects.create(
        name=name, payload=payload, occurred_at=at, next_attempt_at=at, delivered_at=at
    )


@pytest.fixture
def shop_with_a_week(make_user, operator):
    """Lin's shop, and this week's loop: six buyers view a product, chat with the shop (two
    messages each), buy it in a flash sale (an order and a completed deal each) and share it."""
    merchant = make_user(display_name="Lin")
    shop = catalog.approve_shop(
        shop=catalog.apply_for_shop(user=merchant, name=SHOP, contact="WeChat lin-tea"),
        actor=operator,
    )
    product = catalog.create_product(shop=shop, actor=merchant, title="Pu'er", category="food")
    catalog.add_sku(product=product, actor=merchant, options={}, price_fen=8800, stock=20)
    catalog.publish_product(product=product, actor=merchant)
    at = clock.now() - timedelta(minutes=30)
    buyers = [make_user(display_name=f"Buyer {n}").public_id for n in range(BUYERS)]
    owner = {"shop_public_id": shop.public_id}
    _event(
        "insights.views.counted",
        at,
        views=[
            {
                "kind": "product",
                "target_public_id": product.public_id,
                "count": 20,
                "viewer_public_ids": buyers,
                **owner,
            }
        ],
    )
    for n, buyer in enumerate(buyers):
        moment = at + timedelta(seconds=n)
        for m in range(2):
            _event(
                "chat.message.sent",
                moment,
                conversation_public_id=f"K{n}",
                message_public_id=f"M{n}{m}",
                sender_public_id=buyer,
                recipient_public_ids=[merchant.public_id],
                conversation_kind="shop",
                **owner,
            )
        _event(
            "orders.order.paid",
            moment,
            order_public_id=f"O{n}",
            buyer_public_id=buyer,
            total_fen=8800,
            lines=[
                {
                    "product_public_id": product.public_id,
                    "category": "food",
                    "quantity": 1,
                    "paid_fen": 8800,
                }
            ],
            **owner,
        )
        _event(
            "flash.purchase.paid",
            moment,
            purchase_public_id=f"F{n}",
            sale_public_id="L1",
            buyer_public_id=buyer,
            order_public_id=f"O{n}",
            community_public_id=None,
            **owner,
        )
        _event(
            "referrals.link.created",
            moment,
            link_public_id=f"link{n}",
            sharer_public_id=buyer,
            kind="product",
            target_public_id=product.public_id,
        )
    result = insights.roll_up(settle_seconds=0)  # with the shop's own (product published)
    assert result.events > 1 + BUYERS * 5
    return {"merchant": merchant, "shop": shop, "week": week_start(at).isoformat()}


def _check(page, screenshot, name: str) -> None:
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    screenshot(page, f"insights-{name}")


def test_a_merchant_reads_the_loop_of_their_shop(phone, shop_with_a_week, screenshot):
    merchant, shop, week = (shop_with_a_week[key] for key in ("merchant", "shop", "week"))
    context = phone(merchant)
    page = context.new_page()
    try:
        # 1. From the shop console to the insights of the shop.
        page.goto(reverse("catalog:console"))
        page.locator("main").get_by_role("link", name="Insights", exact=True).click()
        expect(page.locator("main h1")).to_have_text(f"Insights · {SHOP}")

        # 2. The charts: people at each stage, and the week's chats and completed deals.
        funnel = page.get_by_role("img", name="People at each stage of the loop", exact=False)
        expect(funnel).to_be_visible()
        for stage in ("Reach", "Conversation", "Purchase", "Sharing"):
            expect(funnel).to_contain_text(stage)
        activity = page.get_by_role("img", name="Conversations and purchases", exact=False)
        expect(activity).to_contain_text("Chat messages")
        expect(activity).to_contain_text("Completed deals")
        expect(activity).to_contain_text(str(BUYERS * 2))  # twelve chat messages
        expect(page.get_by_role("img", name="New buyers brought per buyer")).to_be_visible()
        _check(page, screenshot, "1-dashboard")

        # 3. The table, week by week: this week's row has the chats and the completed deals.
        table = page.locator("table", has=page.locator("caption", has_text="week by week"))
        headers = table.locator("thead th").all_inner_texts()
        row = table.locator("tbody tr", has=page.locator("td", has_text=week))
        this_week = dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))
        assert this_week["chats"] == str(BUYERS * 2)
        assert this_week["deal_completions"] == str(BUYERS)
        assert this_week["orders"] == str(BUYERS)
        assert this_week["people_conversation"] == str(BUYERS)
        table.scroll_into_view_if_needed()
        screenshot(page, "insights-2-table")

        # 4. The same numbers as CSV, from the table's link.
        link = table.get_by_role("link", name="Download CSV")
        answer = page.request.get(link.get_attribute("href"))
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
        assert f"shop-{shop.public_id}-loop.csv" in answer.headers["content-disposition"]
        rows = {row["week"]: row for row in csv.DictReader(io.StringIO(answer.text()))}
        assert rows[week]["chats"] == str(BUYERS * 2)
        assert rows[week]["deal_completions"] == str(BUYERS)
    finally:
        context.close()
