"""Reading: keyset pages without duplicates or gaps, ranked vs latest, blocks and visibility at
read time, and a query count that does not grow with the page size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shoploop.core import clock
from shoploop.feed import ranking, services
from shoploop.feed.models import Kind, Reason
from shoploop.feed.selectors import BadCursor, decode_cursor, encode_cursor
from shoploop.feed.tests.conftest import ids, page

pytestmark = pytest.mark.django_db


def _post(community, author, minutes_ago, readers, reason=Reason.COMMUNITY, **extra):
    from shoploop.content.models import Post

    post = Post.objects.create(
        community=community,
        author=author,
        body=f"post {minutes_ago}",
        created_at=clock.now() - timedelta(minutes=minutes_ago),
        **extra,
    )
    services.write(
        services.Item(
            Kind.POST, post.pk, post.created_at, actor_id=author.pk, community_id=community.pk
        ),
        dict.fromkeys((r.pk for r in readers), reason),
    )
    return post


def _all_pages(user, order, limit):
    seen, cursor, pages = [], None, 0
    while True:
        result = page(user, order=order, cursor=cursor, limit=limit)
        seen.extend(ids(result))
        pages += 1
        cursor = result.next_cursor
        if cursor is None:
            return seen, pages
        assert pages < 50


@pytest.mark.parametrize("order", ["latest", "ranked"])
def test_cursor_pages_have_no_duplicates_and_no_gaps(order, community, member, owner):
    posts = [_post(community, member, minutes, [owner]) for minutes in range(23)]
    # Two at the very same moment: the keyset's tie-break keeps both.
    twin = _post(community, member, 5, [owner])
    seen, pages = _all_pages(owner, order, 5)
    expected = {(Kind.POST, p.public_id) for p in [*posts, twin]}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    assert pages == 5


def test_latest_is_pure_time_and_ranked_weighs_closeness_and_engagement(
    community, member, owner, outsider, make_user, follow
):
    from shoploop.communities import services as communities

    friend = make_user(display_name="朋友")
    communities.join_community(actor=friend, community=community)
    follow(owner, friend)
    lively = _post(community, member, 60, [owner], like_count=200, comment_count=50)
    quiet = _post(community, member, 10, [owner])
    from_friend = _post(community, friend, 90, [owner], reason=Reason.FOLLOWED_PERSON)
    latest = [item.public_id for item in page(owner, order="latest").items]
    assert latest == [quiet.public_id, lively.public_id, from_friend.public_id]
    ranked = [item.public_id for item in page(owner, order="ranked").items]
    assert ranked[0] in (lively.public_id, from_friend.public_id)
    assert ranked.index(lively.public_id) < ranked.index(quiet.public_id)
    assert ranked.index(from_friend.public_id) < ranked.index(quiet.public_id)


def test_the_formula_orders_as_its_rank_key():
    now = clock.now()
    a = dict(closeness=ranking.FOLLOW, engagement=3)
    b = dict(closeness=ranking.COMMUNITY, engagement=40)
    at_a, at_b = now - timedelta(hours=2), now - timedelta(hours=1)
    by_score = ranking.score(**a, age_hours=2) > ranking.score(**b, age_hours=1)
    by_key = ranking.rank_key(**a, at=at_a) > ranking.rank_key(**b, at=at_b)
    assert by_score == by_key
    assert ranking.FOLLOW > ranking.COMMUNITY > ranking.FRIEND_OF_FRIEND > ranking.OTHER


def test_blocks_either_way_hide_items_at_read_time(community, member, owner, committed):
    from shoploop.accounts import services as accounts

    post = _post(community, member, 1, [owner])
    assert ids(page(owner)) == [(Kind.POST, post.public_id)]
    with committed():
        accounts.block(blocker=member, blocked=owner)  # the author blocked the reader
    assert page(owner).items == [] and page(owner, order="latest").items == []


def test_deleted_and_hidden_posts_disappear(community, member, owner):
    from shoploop.content.models import Moderated

    deleted = _post(community, member, 1, [owner])
    hidden = _post(community, member, 2, [owner])
    kept = _post(community, member, 3, [owner])
    deleted.state = Moderated.DELETED
    deleted.save()
    hidden.state = Moderated.HIDDEN
    hidden.save()
    assert ids(page(owner)) == [(Kind.POST, kept.public_id)]


def test_members_only_posts_vanish_when_the_reader_leaves(private_community, member, owner):
    from shoploop.communities import services as communities

    post = _post(private_community, owner, 1, [member])
    assert ids(page(member)) == [(Kind.POST, post.public_id)]
    communities.leave_community(actor=member, community=private_community)
    assert page(member).items == [] and page(member, order="latest").items == []


def test_hidden_reviews_disappear(received_line, buyer, reader, follow, committed, operator):
    from shoploop.content import services as content

    follow(reader, buyer)
    with committed():
        review = content.create_review(actor=buyer, order_line=received_line, stars=2, body="差")
    assert len(page(reader).items) == 1
    content.hide_review(actor=operator, review=review, reason="spam")
    assert page(reader).items == []


def test_a_bad_cursor_is_refused():
    huge_id = encode_cursor({"o": "latest", "k": "post", "i": 10**30, "t": 1})
    far_future = encode_cursor({"o": "latest", "k": "post", "i": 1, "t": 10**30})
    not_an_object = encode_cursor([1, 2])
    unknown_kind = encode_cursor({"o": "latest", "k": "nope", "i": 1, "t": 1})
    for junk in ["zzz", "e30", huge_id, far_future, not_an_object, unknown_kind]:
        with pytest.raises(BadCursor):
            decode_cursor(junk, order="latest")
    ranked = encode_cursor({"o": "ranked", "k": "post", "i": 1, "t": 1.0, "r": 2.0, "a": 3.0})
    with pytest.raises(BadCursor):
        decode_cursor(ranked, order="latest")  # another order's cursor


@pytest.mark.parametrize("order", ["latest", "ranked"])
def test_queries_per_page_do_not_grow_with_the_page_size(
    order, settings, community, member, owner, shop, merchant
):
    """40 posts and 40 products interleaved in time, and a big community merged on read: a page
    of 10 and a page of 30 cost the same number of queries."""
    from shoploop.accounts.models import Follow
    from shoploop.catalog.models import SKU, Product, ShopFollow
    from shoploop.communities import services as communities

    ShopFollow.objects.create(follower=owner, shop=shop)
    # Following the author too: the ranked order then mixes posts and products.
    Follow.objects.create(follower=owner, followee=member)
    for n in range(40):
        _post(community, member, 2 * n, [owner])
        product = Product.objects.create(
            shop=shop,
            title=f"p{n}",
            is_published=True,
            published_at=clock.now() - timedelta(minutes=2 * n + 1),
        )
        SKU.objects.create(product=product, price_fen=100 + n, stock=5, options_key="")
        services.write(
            services.Item(Kind.PRODUCT, product.pk, product.published_at, shop_id=shop.pk),
            {owner.pk: Reason.FOLLOWED_SHOP},
        )
    settings.FEED_BIG_SOURCE_THRESHOLD = 1
    big = communities.create_community(actor=merchant, name="大群", tags=["茶"])
    communities.join_community(actor=owner, community=big)
    services.community_members(big.pk)  # marks it big
    for n in range(40):
        from shoploop.content.models import Post

        Post.objects.create(
            community=big,
            author=merchant,
            body="x",
            created_at=clock.now() - timedelta(seconds=120 * n + 30),
        )
    counts = []
    for limit in (10, 30):
        with CaptureQueriesContext(connection) as queries:
            result = page(owner, order=order, limit=limit)
        assert len(result.items) == limit
        assert {item.kind for item in result.items} == {Kind.POST, Kind.PRODUCT}
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("order", ["latest", "ranked"])
def test_merging_big_peoples_purchases_and_big_shops_reviews_does_not_grow_with_the_page(
    order, settings, owner, buyer, make_user, shop, other_shop, make_sku, place, pay, committed
):
    """A big person who shares (20 purchases and 20 reviews, merged on read, the purchases said
    with their community) and a big shop the reader follows (its products and their reviews
    merged too): a page of 10 and a page of 30 cost the same number of queries."""
    from shoploop.accounts.models import Follow
    from shoploop.catalog.models import ShopFollow
    from shoploop.content.models import Review
    from shoploop.orders.models import Order

    settings.FEED_BIG_SOURCE_THRESHOLD = 1
    buyer.share_activity_with_followers = True
    buyer.save(update_fields=["share_activity_with_followers"])
    for follower in (owner, make_user()):
        Follow.objects.create(follower=follower, followee=buyer)
        ShopFollow.objects.create(follower=follower, shop=other_shop)
    services.person_followers(buyer.pk)  # marks both big
    services.shop_followers(other_shop.pk)
    now = clock.now()
    for n in range(20):
        sku = make_sku(shop=shop, title=f"p{n}")
        checkout = place((sku, 1), user=buyer)
        pay(checkout)
        bought = Order.objects.get(checkout=checkout)
        Order.objects.filter(pk=bought.pk).update(paid_at=now - timedelta(minutes=2 * n))
        Review.objects.create(
            order_line=bought.lines.get(),
            product=sku.product,
            shop=shop,
            author=buyer,
            stars=5,
            body="好",
            created_at=now - timedelta(minutes=2 * n + 1),
        )
    counts = []
    for limit in (10, 30):
        with CaptureQueriesContext(connection) as queries:
            result = page(owner, order=order, limit=limit)
        assert len(result.items) == limit
        assert {item.kind for item in result.items} == {Kind.PRODUCT, Kind.REVIEW}
        assert {item.reason for item in result.items} == {
            Reason.FRIEND_BOUGHT,
            Reason.FOLLOWED_PERSON,
        }
        counts.append(len(queries))
    assert counts[0] == counts[1]
