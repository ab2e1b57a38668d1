"""A follower's notification at 390 px: the bell counts it (server-rendered), the inbox shows it,
tapping it reads it and lands on the follower's profile; settings save. (The live WebSocket path
is tested with channels' communicator: this live server speaks WSGI only.)"""

import pytest
from playwright.sync_api import expect

from shoploop.accounts import services as accounts
from shoploop.notifications import handlers
from shoploop.notifications.models import Preference
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    session_cookies,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_follower_is_counted_read_and_opened(page, live_server, make_user, screenshot):
    star = make_user(display_name="Jie")
    fan = make_user(display_name="Fan Lin")
    accounts.follow(follower=fan, followee=star)
    handlers.user_followed(
        handlers.DomainEvent(
            name="accounts.user.followed",
            payload={"follower_public_id": fan.public_id, "followee_public_id": star.public_id},
        )
    )
    page.context.add_cookies(session_cookies(star, live_server.url))

    page.goto("/")
    bell = page.locator("a.bell")
    expect(bell.locator("[data-unread]")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    assert_no_horizontal_overflow(page)

    bell.click()
    expect(page.locator("main h1")).to_have_text("Notifications")
    item = page.get_by_role("button", name="Fan Lin started following you.")
    expect(item).to_be_visible()
    assert_accessible(page)
    screenshot(page, "notifications-inbox")

    item.click()
    expect(page).to_have_url(f"{live_server.url}/u/{fan.public_id}/")
    expect(page.locator("a.bell [data-unread]")).to_be_hidden()  # zero: the badge hides

    page.goto("/notifications/preferences/")
    page.locator('input[name="new_follower-in_app"]').uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Your notification choices are saved.")
    assert not Preference.objects.get(user=star, kind="new_follower").in_app
    assert_no_horizontal_overflow(page)
    screenshot(page, "notifications-settings")
