"""Every name shown links to that person's profile (``{% person %}``): authors of posts,
comments and reviews, community owners and members, reviewers on product pages. The name is
escaped. (Group members and bargain helpers: deals/*/tests/test_person_links.py.)"""

import pytest
from django.template import Context, Template
from django.urls import reverse

from shoploop.content import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _link(person) -> str:
    return f'<a class="person" href="{reverse("accounts:profile", args=[person.public_id])}">'


def test_the_tag_escapes_the_name_and_skips_closed_accounts(make_user):
    html_name = make_user(display_name="<b>Bob</b>")
    out = Template("{% load people_tags %}{% person who %}").render(Context({"who": html_name}))
    assert out == f"{_link(html_name)}&lt;b&gt;Bob&lt;/b&gt;</a>"
    closed = make_user(display_name="走了", is_active=False)
    out = Template("{% load people_tags %}{% person who %}").render(Context({"who": closed}))
    assert out == '<span class="person">走了</span>'
    assert Template("{% load people_tags %}{% person who %}").render(Context({"who": None})) == ""


def test_post_authors_and_commenters_link_to_their_profiles(client, member, owner, community):
    post = services.create_post(actor=member, community=community, body="hello")
    services.add_comment(actor=owner, post=post, body="welcome")
    html = client.get(reverse("content:post", args=[post.public_id])).content.decode()
    assert _link(member) + "成员小红</a>" in html
    assert _link(owner) + "群主</a>" in html
    discussion = client.get(reverse("content:community_posts", args=[community.public_id]))
    assert _link(member) in discussion.content.decode()


def test_community_owner_and_members_link_to_their_profiles(client, member, owner, community):
    html = client.get(reverse("communities:detail", args=[community.public_id])).content.decode()
    assert _link(owner) in html and _link(member) in html
    members = client.get(reverse("communities:members", args=[community.public_id]))
    assert _link(member) in members.content.decode()


def test_reviewers_link_to_their_profiles_on_product_and_review_pages(client, buyer, received_line):
    review = services.create_review(actor=buyer, order_line=received_line, stars=4, body="ok")
    product = reverse("catalog:product", args=[review.product.public_id])
    assert _link(buyer) in client.get(product).content.decode()
    reviews = client.get(reverse("content:product_reviews", args=[review.product.public_id]))
    assert _link(buyer) in reviews.content.decode()
    detail = client.get(reverse("content:review", args=[review.public_id]))
    assert _link(buyer) in detail.content.decode()
