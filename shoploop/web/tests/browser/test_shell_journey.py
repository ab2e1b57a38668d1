"""A visitor walks the shell pages on a phone: nothing needs JavaScript or scrolls sideways."""

import pytest
from playwright.sync_api import expect

from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_walks_the_shell_and_switches_language(page, screenshot):
    page.goto("/")
    assert page.locator("h1").inner_text() == "Shop with your communities"
    assert_no_horizontal_overflow(page)
    screenshot(page, "shell-home-en")

    for label, heading in (("Cart", "Cart"), ("Messages", "Messages"), ("Me", "Me")):
        page.locator(".bottomnav").get_by_role("link", name=label, exact=True).click()
        assert page.locator("main h1").inner_text() == heading
        expect(page.locator(".bottomnav a[aria-current=page]")).to_have_text(label)
        assert_no_horizontal_overflow(page)

    page.get_by_role("button", name="中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("main h1").inner_text() == "我的"
    assert_no_horizontal_overflow(page)
    screenshot(page, "shell-me-zh")

    page.goto("/no-such-page/")
    assert page.locator(".status-page .code").inner_text() == "404"
    assert_no_horizontal_overflow(page)


def test_long_unbroken_names_do_not_widen_the_page(page, live_server, make_user, screenshot):
    long_name = "W" * 40  # the longest display name, with nowhere to break
    member = make_user(display_name=long_name)
    worlds.community(owner=member, name="C" * 40)
    page.context.add_cookies(session_cookies(member, live_server.url))
    for url in ("/", "/me/"):
        page.goto(url)
        assert long_name in page.locator("main").inner_text()
        assert_no_horizontal_overflow(page)
    screenshot(page, "shell-long-name")


def test_show_more_loads_products_in_place_with_htmx(
    page, live_server, make_user, operator, monkeypatch
):
    monkeypatch.setattr("shoploop.web.views.HOME_PRODUCTS", 1)
    monkeypatch.setattr("shoploop.web.views.MORE_PRODUCTS_STEP", 1)
    merchant, member = make_user(display_name="店主"), make_user(display_name="买家")
    tea = worlds.community(owner=merchant, name="Tea")
    worlds.join(user=member, community=tea)
    worlds.product_on_sale(
        merchant=merchant, operator=operator, community=tea, title="Oolong", price_fen=3900
    )
    worlds.another_product(merchant=merchant, community=tea, title="Pu'er", price_fen=5900)
    page.context.add_cookies(session_cookies(member, live_server.url))
    page.goto("/")
    tiles = page.locator("#home-products .tile")
    expect(tiles).to_have_count(1)
    page.evaluate("window.__stayed = true")  # gone if the browser loads a new page
    page.get_by_role("link", name="Show more").click()
    expect(tiles).to_have_count(2)
    assert page.evaluate("window.__stayed === true")
    expect(page.get_by_role("link", name="Show more")).to_have_count(0)
