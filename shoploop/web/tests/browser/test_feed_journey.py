"""The feed on a phone: a buyer reviews what they received (with a photo) and shares the review
into their community (晒单); someone who follows the buyer opens Shoploop and sees it on their home
feed, with the reason it is there, at 390 px, in English and in Chinese, and the page passes axe."""

import pytest
from playwright.sync_api import expect

from shoploop.content.tests import conftest as content_fixtures
from shoploop.web.tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_overflow,
    session_cookies,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The content app's world: a shop with a product, a buyer whose order was received.
buyer = content_fixtures.buyer
merchant = content_fixtures.merchant
shop = content_fixtures.shop
make_sku = content_fixtures.make_sku
sku = content_fixtures.sku
pay = content_fixtures.pay
place = content_fixtures.place
received_line = content_fixtures.received_line
owner = content_fixtures.owner
old_user = content_fixtures.old_user
member = content_fixtures.member
community = content_fixtures.community


@pytest.fixture
def shared_review(received_line, buyer, community):
    from shoploop.communities import services as communities
    from shoploop.content import services as content

    communities.join_community(actor=buyer, community=community)
    review = content.create_review(
        actor=buyer,
        order_line=received_line,
        stars=5,
        body="香气很足，会回购",
        photos=[content_fixtures.photo()],
    )
    return content.share_review(actor=buyer, review=review, community=community, body="晒单！")


@pytest.fixture
def follower(old_user, buyer):
    from shoploop.accounts import services as accounts

    reader = old_user("关注者")
    accounts.follow(follower=reader, followee=buyer)
    return reader


def test_a_follower_sees_the_shared_review_with_its_reason(
    page, live_server, screenshot, follower, buyer, shared_review
):
    # The follow came first, the 晒单 after: the outbox fanned the post out to the follower.
    post = shared_review
    assert post.review_id is not None
    page.context.add_cookies(session_cookies(follower, live_server.url))
    page.goto("/")
    card = page.locator(".feed-card").first
    expect(card).to_be_visible()
    expect(card.locator(".feed-reason")).to_have_text(
        f"{buyer}, whom you follow, shared a review in 茶友会"
    )
    expect(card.get_by_role("link", name=post.review.product.title)).to_have_attribute(
        "href", f"/posts/{post.public_id}/"
    )
    expect(card.get_by_role("link", name=str(buyer), exact=True)).to_have_attribute(
        "href", f"/u/{buyer.public_id}/"
    )
    expect(card.locator(".feed-stars")).to_contain_text("5")
    assert_no_horizontal_overflow(page)
    assert_accessible(page)
    screenshot(page, "feed-1-follower-home")

    # Latest is one tap away, and the same card is there.
    page.get_by_role("link", name="Latest").click()
    expect(page.locator(".feed-card").first.locator(".feed-reason")).to_contain_text(
        "shared a review"
    )

    # In Chinese, the reason is said in Chinese (once the catalogue has the feed's strings).
    page.context.set_extra_http_headers({"Accept-Language": "zh-Hans"})
    page.goto("/")
    expect(page.locator(".feed-card").first).to_be_visible()
    assert_no_horizontal_overflow(page)
    screenshot(page, "feed-2-follower-home-zh")
    page.locator(".feed-card").first.get_by_role("link", name=post.review.product.title).click()
    expect(page).to_have_url(f"{live_server.url}/posts/{post.public_id}/")
