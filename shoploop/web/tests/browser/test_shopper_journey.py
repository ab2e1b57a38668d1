"""A new shopper on a phone: arrives, signs up by SMS code, switches to Chinese, joins a community
and opens a product from it. Every page fits 390 px; screenshots go to test-artifacts/."""

import pytest
from playwright.sync_api import expect

from shoploop.accounts.models import User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.web.tests import worlds
from shoploop.web.tests.browser.conftest import assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_TYPED = "139 1234 5678"
PHONE_E164 = "+8613912345678"
COMMUNITY = "手冲咖啡同好会"
PRODUCT = "云南小粒咖啡豆 250g"


@pytest.fixture
def coffee_world(make_user, operator):
    owner = make_user(display_name="阿杰")
    merchant = make_user(display_name="豆子铺")
    coffee = worlds.community(owner=owner, name=COMMUNITY, tags=["咖啡"])
    worlds.join(user=merchant, community=coffee)
    beans = worlds.product_on_sale(
        merchant=merchant, operator=operator, community=coffee, title=PRODUCT, price_fen=6800
    )
    return {"community": coffee, "product": beans}


def _step(page, screenshot, name):
    assert_no_horizontal_overflow(page)
    screenshot(page, f"journey-{name}")


def test_new_shopper_signs_up_joins_a_community_and_opens_a_product(page, screenshot, coffee_world):
    # 1. A visitor lands on the home page and learns what Shoploop is.
    page.goto("/")
    expect(page.locator("main h1")).to_have_text("Shop with your communities")
    expect(page.locator(".loop li")).to_have_count(4)
    expect(page.get_by_role("link", name=COMMUNITY)).to_be_visible()
    _step(page, screenshot, "1-home-visitor")

    # 2. Sign up by phone: the SMS code is read where the console provider keeps it.
    page.get_by_role("link", name="Sign in with your phone").click()
    page.get_by_label("Mobile number (+86)").fill(PHONE_TYPED)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_label("Code")).to_be_visible()
    _step(page, screenshot, "2-code")
    code = latest_debug_code(PHONE_E164)
    assert code and len(code) == 6
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # A new number: the first-time step asks for a name and consent to the terms.
    expect(page.locator("main h1")).to_have_text("Welcome to Shoploop")
    page.get_by_label("Display name").fill("小明")
    page.locator("#id_accept_terms").check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("main h1")).to_have_text("Hello, 小明")
    assert User.objects.get(phone=PHONE_E164).display_name == "小明"

    # 3. Switch to Chinese (a plain form post; no JavaScript needed).
    page.locator(".lang").get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".bottomnav")).to_contain_text("首页")
    expect(page.locator(".bottomnav")).to_contain_text("社群")
    _step(page, screenshot, "3-chinese")

    # 4. Find the community and join it.
    page.locator(".bottomnav").get_by_role("link", name="社群", exact=True).click()
    page.get_by_role("link", name=COMMUNITY).first.click()
    expect(page.locator("main h1")).to_have_text(COMMUNITY)
    page.get_by_role("button", name="加入", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("你已加入社群")
    expect(page.get_by_role("button", name="退出社群")).to_be_visible()
    _step(page, screenshot, "4-joined")

    # 5. Home now shows products from the community; open one.
    page.locator(".bottomnav").get_by_role("link", name="首页", exact=True).click()
    expect(page.locator("main h1")).to_have_text("你好，小明")
    products = page.locator("#home-products")
    expect(products).to_contain_text(PRODUCT)
    expect(products).to_contain_text("¥68.00")
    _step(page, screenshot, "5-home-member")
    products.get_by_role("link", name=PRODUCT).click()
    expect(page.locator("main h1")).to_have_text(PRODUCT)
    expect(page.get_by_test_id("price")).to_have_text("¥68.00")
    expect(page.get_by_test_id("stock")).to_have_text("有货")
    _step(page, screenshot, "6-product")

    # 6. "Me" knows who this is and offers a way out.
    page.locator(".bottomnav").get_by_role("link", name="我的", exact=True).click()
    expect(page.locator("main h1")).to_have_text("小明")
    expect(page.get_by_role("link", name="我要开店")).to_be_visible()
    expect(page.get_by_role("button", name="退出登录", exact=True)).to_be_visible()
    _step(page, screenshot, "7-me")
