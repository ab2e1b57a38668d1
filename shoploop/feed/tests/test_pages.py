"""The home page: the signed-in feed (cards, reasons, order switch, "more" by cursor) and the
signed-out page."""

import pytest

from shoploop.feed.tests.test_read import _post

pytestmark = pytest.mark.django_db
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_the_signed_in_home_is_the_feed_with_reasons_and_a_more_link(
    client, community, member, owner
):
    posts = [_post(community, member, minutes, [owner]) for minutes in range(25)]
    client.force_login(owner)
    html = client.get("/?order=latest", **ENGLISH).content.decode()
    assert "Your feed" in html and "Posted in 茶友会" in html
    assert f"/posts/{posts[0].public_id}/" in html
    assert f"/u/{member.public_id}/" in html  # the author links to their profile
    assert 'rel="next"' in html and "cursor=" in html
    cursor = html.split("cursor=")[1].split("#")[0]
    more = client.get(f"/?order=latest&cursor={cursor}", **ENGLISH).content.decode()
    assert f"/posts/{posts[20].public_id}/" in more
    assert f"/posts/{posts[0].public_id}/" not in more


def test_the_order_switch_is_a_plain_link(client, owner):
    client.force_login(owner)
    html = client.get("/", **ENGLISH).content.decode()
    assert 'href="?order=latest#feed"' in html and 'href="?order=ranked#feed"' in html
    assert "never paid placement" in html


def test_a_bad_cursor_on_the_page_shows_the_first_page(client, community, member, owner):
    _post(community, member, 1, [owner])
    client.force_login(owner)
    answer = client.get("/?cursor=garbage", **ENGLISH)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "not valid" in html and "Posted in 茶友会" in html


def test_an_empty_feed_says_what_to_do(client, owner):
    client.force_login(owner)
    assert "Your feed is empty" in client.get("/", **ENGLISH).content.decode()


def test_signed_out_home_shows_communities_deals_reviewed_products_and_what_shoploop_is(
    client, received_line, buyer, community, committed
):
    from shoploop.content import services as content

    content.create_review(actor=buyer, order_line=received_line, stars=5, body="好")
    html = client.get("/", **ENGLISH).content.decode()
    assert "Shop with your communities" in html  # what Shoploop is
    assert "Popular communities" in html and "茶友会" in html
    assert "Well reviewed by buyers" in html
    assert received_line.title in html
    assert "Your feed" not in html


def test_a_follower_sees_a_shared_review_on_the_home_page_with_its_reason(
    client, received_line, buyer, community, old_user, committed
):
    """The browser journey's check without a browser (test_feed_journey.py needs Chromium)."""
    from shoploop.accounts import services as accounts
    from shoploop.communities import services as communities
    from shoploop.content import services as content

    follower = old_user("关注者")
    accounts.follow(follower=follower, followee=buyer)
    communities.join_community(actor=buyer, community=community)
    with committed():
        review = content.create_review(actor=buyer, order_line=received_line, stars=5, body="香")
        post = content.share_review(actor=buyer, review=review, community=community)
    client.force_login(follower)
    html = client.get("/", **ENGLISH).content.decode()
    assert f"{buyer}, whom you follow, shared a review in 茶友会" in html
    assert f'href="/posts/{post.public_id}/"' in html and received_line.title in html
    assert f'href="/u/{buyer.public_id}/"' in html
