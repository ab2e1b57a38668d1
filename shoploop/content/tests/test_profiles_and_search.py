"""A person's profile shows what the viewer may see of their posts, reviews and public
communities (paged; nothing across a block); search finds posts and reviews with the same rules.
Pages and the API (``/content/users/{id}/posts|reviews``, ``/content/search/posts|reviews``)."""

import pytest
from django.urls import reverse

from shoploop.accounts import services as accounts
from shoploop.communities import services as communities
from shoploop.content import selectors, services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def posts(member, owner, community, private_community):
    """The member's posts: one public, one members-only, one hidden, one removed, one deleted."""
    public = services.create_post(actor=member, community=community, body="公开的乌龙茶")
    secret = services.create_post(actor=member, community=private_community, body="秘密的乌龙茶")
    hidden = services.create_post(actor=member, community=community, body="被隐藏的乌龙茶")
    services.moderate_post(actor=owner, post=hidden, action="hide", reason="spam")
    removed = services.create_post(actor=member, community=community, body="被删除的乌龙茶")
    services.moderate_post(actor=owner, post=removed, action="remove", reason="spam")
    deleted = services.create_post(actor=member, community=community, body="自己删的乌龙茶")
    services.delete_post(actor=member, post=deleted)
    return {"public": public, "secret": secret}


@pytest.fixture
def review(buyer, received_line):
    return services.create_review(
        actor=buyer, order_line=received_line, stars=5, body="很好喝的乌龙茶"
    )


def _bodies(queryset) -> set[str]:
    return {post.body for post in queryset}


def test_strangers_see_only_public_visible_posts(posts, member, outsider):
    assert _bodies(selectors.posts_by(author=member, viewer=outsider)) == {"公开的乌龙茶"}
    assert _bodies(selectors.posts_by(author=member, viewer=None)) == {"公开的乌龙茶"}


def test_members_also_see_members_only_posts(posts, member, owner):
    assert _bodies(selectors.posts_by(author=member, viewer=owner)) == {
        "公开的乌龙茶",
        "秘密的乌龙茶",
    }


def test_a_block_either_way_hides_the_profile_content(posts, review, member, buyer, outsider):
    accounts.block(blocker=member, blocked=outsider)
    assert not selectors.posts_by(author=member, viewer=outsider).exists()
    assert not selectors.posts_by(author=outsider, viewer=member).exists()
    accounts.block(blocker=outsider, blocked=buyer)
    assert not selectors.public_reviews_by(author=buyer, viewer=outsider).exists()
    assert not selectors.search_posts(query="乌龙茶", viewer=outsider).exists()


def test_hidden_reviews_leave_the_profile(review, buyer, operator, outsider):
    assert list(selectors.public_reviews_by(author=buyer, viewer=outsider)) == [review]
    services.hide_review(actor=operator, review=review, reason="rude")
    assert not selectors.public_reviews_by(author=buyer, viewer=outsider).exists()
    assert not selectors.search_reviews(query="乌龙茶", viewer=outsider).exists()


def test_the_profile_page_shows_posts_reviews_and_public_communities(
    client, posts, member, community, private_community, outsider
):
    client.force_login(outsider)
    html = client.get(reverse("accounts:profile", args=[member.public_id])).content.decode()
    assert "公开的乌龙茶" in html
    for hidden in ("秘密的乌龙茶", "被隐藏的乌龙茶", "被删除的乌龙茶", "自己删的乌龙茶"):
        assert hidden not in html
    assert reverse("communities:detail", args=[community.public_id]) in html
    assert reverse("communities:detail", args=[private_community.public_id]) not in html
    assert "Posts (1)" in html


def test_the_profile_page_shows_reviews_and_pages_posts(client, settings, review, buyer, community):
    settings.CONTENT_BURST_LIMIT = settings.CONTENT_NEW_ACCOUNT_LIMIT = 100
    communities.join_community(actor=buyer, community=community)
    for n in range(12):
        services.create_post(actor=buyer, community=community, body=f"第{n}杯")
    html = client.get(reverse("accounts:profile", args=[buyer.public_id])).content.decode()
    assert "很好喝的乌龙茶" in html and "第11杯" in html and "第1杯" not in html
    assert "?posts=2#profile-posts" in html
    second = client.get(reverse("accounts:profile", args=[buyer.public_id]), {"posts": 2})
    assert "第1杯" in second.content.decode()


def test_a_blocked_profile_page_shows_no_content(client, posts, member, outsider):
    accounts.block(blocker=member, blocked=outsider)
    client.force_login(outsider)
    html = client.get(reverse("accounts:profile", args=[member.public_id])).content.decode()
    assert 'id="profile-blocked"' in html and "公开的乌龙茶" not in html


def test_the_api_lists_a_persons_posts_and_reviews(api, posts, review, member, buyer, owner):
    public = api.get(f"/content/users/{member.public_id}/posts").json()["results"]
    assert [p["body"] for p in public] == ["公开的乌龙茶"]
    as_member = api.get(f"/content/users/{member.public_id}/posts", user=owner).json()["results"]
    assert {p["body"] for p in as_member} == {"公开的乌龙茶", "秘密的乌龙茶"}
    reviews = api.get(f"/content/users/{buyer.public_id}/reviews").json()["results"]
    assert [r["id"] for r in reviews] == [review.public_id]
    assert api.get("/content/users/nosuchuser1/posts").status_code == 404


def test_search_finds_readable_posts_and_visible_reviews(client, posts, review, outsider):
    client.force_login(outsider)
    html = client.get(reverse("catalog:search"), {"q": "乌龙茶"}).content.decode()
    assert 'id="search-posts"' in html and 'id="search-reviews"' in html
    assert "公开的乌龙茶" in html and "很好喝的乌龙茶" in html
    for hidden in ("秘密的乌龙茶", "被隐藏的乌龙茶", "被删除的乌龙茶", "自己删的乌龙茶"):
        assert hidden not in html
    nothing = client.get(reverse("catalog:search"), {"q": "咖啡机"}).content.decode()
    assert "No posts found." in nothing and "No reviews found." in nothing


def test_search_through_the_api(api, posts, review, owner):
    found = api.get("/content/search/posts", q="乌龙茶").json()["results"]
    assert [p["body"] for p in found] == ["公开的乌龙茶"]
    as_member = api.get("/content/search/posts", user=owner, q="乌龙").json()["results"]
    assert {p["body"] for p in as_member} == {"公开的乌龙茶", "秘密的乌龙茶"}
    reviews = api.get("/content/search/reviews", q="好喝").json()["results"]
    assert [r["id"] for r in reviews] == [review.public_id]
    assert api.get("/content/search/posts", q="").json()["results"] == []
