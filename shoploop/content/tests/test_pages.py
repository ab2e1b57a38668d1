"""Pages: the community's discussion, a post with comments, the product's reviews, writing a
review, 待评价, sharing, the report queue. No inline script or style anywhere."""

import re

import pytest
from django.urls import reverse

from shoploop.content import services
from shoploop.content.models import Post, Review
from shoploop.content.tests.conftest import photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert ' style="' not in html and " onclick=" not in html


def test_community_page_shows_the_discussion(client, member, community):
    post = services.create_post(actor=member, community=community, body="**今天的茶**")
    html = client.get(reverse("communities:detail", args=[community.public_id])).content.decode()
    assert 'id="community-discussion"' in html and "<strong>今天的茶</strong>" in html
    _no_inline_code(html)
    page = client.get(reverse("content:community_posts", args=[community.public_id]))
    assert page.status_code == 200 and post.public_id in page.content.decode()


def test_a_member_posts_from_the_page_and_bad_input_is_a_4xx(client, member, community):
    client.force_login(member)
    url = reverse("content:community_posts", args=[community.public_id])
    bad = client.post(url, {"body": "<script>alert(1)</script>"})
    assert bad.status_code == 422
    assert "HTML and scripts are not allowed" in bad.content.decode()
    assert not Post.objects.exists()
    good = client.post(url, {"body": "hello", "photos": [photo(size=(30, 30))]})
    post = Post.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse(
        "content:post", args=[post.public_id]
    )
    assert post.photos.count() == 1


def test_an_outsider_cannot_post_from_the_page(client, outsider, community):
    client.force_login(outsider)
    url = reverse("content:community_posts", args=[community.public_id])
    answer = client.post(url, {"body": "hi"})
    assert answer.status_code == 403 and not Post.objects.exists()


def test_members_only_discussion_is_closed_to_others(client, member, outsider, private_community):
    services.create_post(actor=member, community=private_community, body="秘密")
    client.force_login(outsider)
    url = reverse("content:community_posts", args=[private_community.public_id])
    answer = client.get(url)
    assert answer.status_code == 403 and "秘密" not in answer.content.decode()


def test_post_page_with_comments_likes_and_delete_confirmation(client, member, owner, community):
    post = services.create_post(actor=member, community=community, body="x")
    client.force_login(owner)
    client.post(reverse("content:comment_create", args=[post.public_id]), {"body": "好茶"})
    client.post(reverse("content:post_action", args=[post.public_id, "like"]))
    html = client.get(reverse("content:post", args=[post.public_id])).content.decode()
    assert "好茶" in html and "1 like" in html
    _no_inline_code(html)
    client.force_login(member)
    delete = reverse("content:post_action", args=[post.public_id, "delete"])
    asked = client.post(delete)
    assert asked.status_code == 200 and Post.objects.get().state == "visible"
    client.post(delete, {"confirm": "1"})
    assert Post.objects.get().state == "deleted"


def test_write_a_review_from_to_review_and_share_it(client, buyer, community, received_line):
    client.force_login(buyer)
    me = client.get(reverse("web:me")).content.decode()
    link = re.search(r'<a href="([^"]+)" class="shortcut-to_review">(.*?)</a>', me)
    assert link.group(1) == reverse("content:to_review") and ">1<" in link.group(2)
    listing = client.get(link.group(1)).content.decode()
    write = reverse("content:review_write", args=[received_line.public_id])
    assert write in listing
    bad = client.post(write, {"stars": "7", "body": "x"})
    assert bad.status_code == 422 and not Review.objects.exists()
    done = client.post(write, {"stars": "5", "body": "很好", "photos": [photo(size=(40, 40))]})
    review = Review.objects.get()
    assert done["Location"] == reverse("content:review", args=[review.public_id])
    assert review.photo_count == 1
    product_page = client.get(reverse("catalog:product", args=[received_line.product_public_id]))
    html = product_page.content.decode()
    assert 'id="product-reviews"' in html and "很好" in html
    _no_inline_code(html)
    # Share into a community the buyer joined; the post links back to the review.
    from shoploop.communities import services as communities

    communities.join_community(actor=buyer, community=community)
    shared = client.post(
        reverse("content:review_action", args=[review.public_id, "share"]),
        {"community_id": community.public_id, "body": "晒单"},
    )
    post = Post.objects.get()
    assert shared["Location"] == reverse("content:post", args=[post.public_id])
    post_html = client.get(shared["Location"]).content.decode()
    assert reverse("content:review", args=[review.public_id]) in post_html


def test_someone_elses_line_has_no_review_form(client, make_user, received_line):
    client.force_login(make_user())
    answer = client.get(reverse("content:review_write", args=[received_line.public_id]))
    assert answer.status_code == 404


def test_report_queue_pages(client, member, owner, outsider, operator, community):
    post = services.create_post(actor=member, community=community, body="广告内容")
    client.force_login(outsider)
    client.post(reverse("content:post_action", args=[post.public_id, "report"]), {"reason": "广告"})
    client.force_login(owner)
    queue = client.get(reverse("content:community_reports", args=[community.public_id]))
    assert "广告内容" in queue.content.decode()
    client.force_login(member)
    assert (
        client.get(reverse("content:community_reports", args=[community.public_id])).status_code
        == 403
    )
    client.force_login(operator)
    html = client.get(reverse("content:operator_reports")).content.decode()
    assert "广告内容" in html
    admin = client.get(reverse("admin:content_report_changelist"))
    assert admin.status_code == 200


def test_shop_page_shows_its_rating(client, buyer, received_line):
    services.create_review(actor=buyer, order_line=received_line, stars=4)
    shop = received_line.order.shop
    html = client.get(reverse("catalog:shop", args=[shop.public_id])).content.decode()
    assert "Rated 4.0 / 5 from 1 review" in html


def test_a_moderator_mutes_the_author_from_the_post_page(client, owner, member, community):
    post = services.create_post(actor=member, community=community, body="x")
    client.force_login(owner)
    html = client.get(reverse("content:post", args=[post.public_id])).content.decode()
    url = reverse("content:mute", args=[community.public_id, member.public_id])
    assert url in html
    client.post(url, {"days": "3", "reason": "刷屏", "back": f"/posts/{post.public_id}/"})
    from shoploop.content.selectors import active_mute

    assert active_mute(user=member, community=community).reason == "刷屏"
    client.force_login(member)
    answer = client.post(
        reverse("content:community_posts", args=[community.public_id]), {"body": "再发"}
    )
    assert answer.status_code == 403 and Post.objects.count() == 1
    client.force_login(owner)
    client.post(url, {"days": "0"})
    assert active_mute(user=member, community=community) is None
