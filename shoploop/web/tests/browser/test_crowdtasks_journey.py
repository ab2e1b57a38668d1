"""A crowdsourcing task at 390 px: a member reads it and enters with a photo (no JavaScript
needed: a multipart form), the merchant picks the entry in the console, the member sees the win
in My task entries. Each page fits the phone and passes the accessibility check."""

import io
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

from shoploop.catalog import services as catalog
from shoploop.core import clock
from shoploop.coupons import services as coupons
from shoploop.crowdtasks import services as crowdtasks
from shoploop.crowdtasks.models import Winner
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    session_cookies,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _coupon_task(merchant, operator):
    shop = catalog.apply_for_shop(user=merchant, name="Tea Corner", contact="wechat tea")
    shop = catalog.approve_shop(shop=shop, actor=operator)
    coupon = coupons.create_coupon(
        actor=merchant,
        shop=shop,
        name="¥5 off",
        kind="fixed",
        amount_off_fen=500,
        starts_at=clock.now() - timedelta(hours=1),
        ends_at=clock.now() + timedelta(days=30),
        total_quantity=10,
    )
    return crowdtasks.publish_task(
        actor=merchant,
        shop=shop,
        kind="photo",
        title="Photograph our new cup",
        brief="Natural light, one sentence about it.",
        deadline=clock.now() + timedelta(days=3),
        winners_count=1,
        reward_kind="coupon",
        coupon_public_id=coupon.public_id,
    )


def test_enter_pick_and_see_the_win(page, live_server, make_user, operator, tmp_path, screenshot):
    merchant = make_user(display_name="Mei")
    member = make_user(display_name="Lin")
    task = _coupon_task(merchant, operator)
    photo = tmp_path / "cup.png"
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "teal").save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())

    page.context.add_cookies(session_cookies(member, live_server.url))
    page.goto(f"/crowdtasks/{task.public_id}/")
    expect(page.locator("main h1")).to_have_text("Photograph our new cup")
    page.get_by_label("Your entry").fill("The cup on a windowsill at dawn.")
    page.get_by_label("Photo (optional)").set_input_files(str(photo))
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    page.get_by_role("button", name="Submit my entry").click()
    expect(page.locator(".flash")).to_contain_text("Your entry is in.")
    screenshot(page, "crowdtask-entered")

    page.context.clear_cookies()
    page.context.add_cookies(session_cookies(merchant, live_server.url))
    page.goto(f"/console/crowdtasks/{task.public_id}/")
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    page.get_by_role("button", name="Pick as a winner").click()
    expect(page.locator(".flash")).to_contain_text("Winner picked")
    assert Winner.objects.filter(task=task, user=member).count() == 1
    screenshot(page, "crowdtask-console")

    page.goto("/console/crowdtasks/new/")
    assert_no_horizontal_overflow(page)
    assert_accessible(page)

    page.context.clear_cookies()
    page.context.add_cookies(session_cookies(member, live_server.url))
    page.goto("/crowdtasks/mine/")
    expect(page.locator("main")).to_contain_text("Won")
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
