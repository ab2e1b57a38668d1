"""Blocks other apps' pages show: a community's latest posts, a product's reviews, a shop's
rating; and the ``markdown`` filter for post text."""

from django import template
from django.utils.safestring import mark_safe

from shoploop.content import selectors
from shoploop.content.markup import render_markdown

register = template.Library()


@register.filter
def markdown(source: str) -> str:
    # Safe: render_markdown's output has passed the nh3 allow-list sanitiser.
    return mark_safe(render_markdown(source or ""))


@register.inclusion_tag("content/_community_discussion.html", takes_context=True)
def community_discussion(context, community, limit: int = 3):
    user = context["request"].user
    readable = selectors.can_read_community(user=user, community=community)
    posts = []
    if readable:
        posts = list(
            selectors.pinned_first(selectors.community_posts(community=community, viewer=user))[
                :limit
            ]
        )
    return {"community": community, "posts": posts, "readable": readable}


@register.inclusion_tag("content/_product_reviews.html", takes_context=True)
def product_reviews_block(context, product, limit: int = 3):
    user = context["request"].user
    return {
        "product": product,
        "rating": selectors.product_rating(product=product),
        "reviews": list(selectors.product_reviews(product=product)[:limit]),
        "favourite": selectors.is_favourite_product(user=user, product=product),
        "signed_in": user.is_authenticated,
        "request": context["request"],
    }


@register.inclusion_tag("content/_shop_rating.html")
def shop_rating(shop):
    return {"rating": selectors.shop_rating(shop=shop)}


@register.simple_tag
def stars(count) -> str:
    count = int(count or 0)
    return "★" * count + "☆" * (5 - count)
