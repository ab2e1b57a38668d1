"""What can be shared: each kind resolves a public id to what a share link, its card (Open Graph)
and its poster show. A kind that is missing, deleted or private resolves to None."""

from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.referrals.models import TargetKind


@dataclass(frozen=True)
class Target:
    kind: str
    public_id: str
    title: str
    description: str
    url: str
    # A FieldFile or None, and fen or None; or a function that finds it. The picture and the
    # price cost a query each and only posters and cards show them, so they are looked up when
    # first read: following a link needs only the URL.
    image_source: object | None
    price_source: object | None
    state_text: str
    shop_public_id: str = ""

    @cached_property
    def image(self):
        return self.image_source() if callable(self.image_source) else self.image_source

    @cached_property
    def price_fen(self) -> int | None:
        return self.price_source() if callable(self.price_source) else self.price_source

    @property
    def poster_state(self) -> str:
        """What a poster draws that can change: the poster is redrawn when this differs."""
        return f"{self.price_fen}|{self.state_text}|{self.title}"[:64]


def _first_image(product):
    first = product.images.first()
    return first.image if first else None


def _price(product) -> int | None:
    sku = product.skus.order_by("price_fen").first() if hasattr(product, "skus") else None
    return sku.price_fen if sku else None


def _product(public_id):
    from shoploop.catalog.models import Product, Shop

    product = (
        Product.objects.select_related("shop")
        .filter(public_id=public_id, is_published=True, shop__status=Shop.Status.APPROVED)
        .first()
    )
    if product is None:
        return None
    return Target(
        TargetKind.PRODUCT,
        public_id,
        product.title,
        # The sanitised rendering, as text: the raw source may hold markup.
        strip_tags(product.description_html or "")[:200],
        reverse("catalog:product", args=[public_id]),
        lambda: _first_image(product),
        lambda: _price(product),
        "",
        product.shop.public_id,
    )


def _group(public_id):
    from shoploop.deals.groups.models import Group

    group = Group.objects.select_related("campaign__sku__product__shop").filter(public_id=public_id)
    group = group.first()
    if group is None:
        return None
    product = group.campaign.sku.product
    if group.state == Group.State.OPEN:
        left = group.seats_left
        state = ngettext("%(n)d more person needed", "%(n)d more people needed", left) % {"n": left}
    else:
        state = group.get_state_display()
    return Target(
        TargetKind.GROUP,
        public_id,
        product.title,
        _("Group buy of %(size)d") % {"size": group.size},
        reverse("deals_groups:group", args=[public_id]),
        lambda: _first_image(product),
        group.campaign.group_price_fen,
        state,
        product.shop.public_id,
    )


def _bargain(public_id):
    from shoploop.deals.bargains.models import Bargain

    bargain = Bargain.objects.select_related("campaign__sku__product__shop").filter(
        public_id=public_id
    )
    bargain = bargain.first()
    if bargain is None:
        return None
    product = bargain.campaign.sku.product
    return Target(
        TargetKind.BARGAIN,
        public_id,
        bargain.campaign.title or product.title,
        _("Every friend who helps cuts the price"),
        reverse("deals_bargains:detail", args=[public_id]),
        lambda: _first_image(product),
        bargain.current_price_fen,
        bargain.get_state_display(),
        product.shop.public_id,
    )


def _crowdfunding(public_id):
    from shoploop.deals.crowdfunding.models import Project

    project = Project.objects.select_related("shop").filter(public_id=public_id).first()
    if project is None:
        return None
    first = project.images.first()
    tier = project.tiers.order_by("price_fen").first()
    return Target(
        TargetKind.CROWDFUNDING,
        public_id,
        project.title,
        (project.story or "")[:200],
        reverse("deals_crowdfunding:project", args=[public_id]),
        first.image if first else None,
        tier.price_fen if tier else None,
        ngettext("%(n)d backer", "%(n)d backers", project.backers) % {"n": project.backers},
        project.shop.public_id,
    )


def _flash(public_id):
    from shoploop.deals.flash.models import FlashSale

    sale = FlashSale.objects.select_related("sku__product__shop").filter(public_id=public_id)
    sale = sale.first()
    if sale is None:
        return None
    product = sale.sku.product
    return Target(
        TargetKind.FLASH,
        public_id,
        product.title,
        _("Flash sale"),
        reverse("deals_flash:detail", args=[public_id]),
        lambda: _first_image(product),
        sale.price_fen,
        str(sale.status_label()),
        product.shop.public_id,
    )


def _community(public_id):
    from shoploop.communities.models import Community

    community = (
        Community.objects.filter(public_id=public_id, state=Community.State.ACTIVE)
        .exclude(visibility=Community.Visibility.INVITE)
        .first()
    )
    if community is None:
        return None
    return Target(
        TargetKind.COMMUNITY,
        public_id,
        community.name,
        (getattr(community, "description", "") or "")[:200],
        reverse("communities:detail", args=[public_id]),
        community.cover or None,
        None,
        ngettext("%(n)d member", "%(n)d members", community.member_count)
        % {"n": community.member_count},
    )


def _post(public_id):
    from shoploop.communities.models import Community
    from shoploop.content.models import Moderated, Post

    post = (
        Post.objects.select_related("community", "author")
        .filter(public_id=public_id, state=Moderated.VISIBLE)
        .filter(community__state=Community.State.ACTIVE)
        .exclude(community__visibility=Community.Visibility.INVITE)
        .first()
    )
    if post is None:
        return None
    first = post.photos.first()
    return Target(
        TargetKind.POST,
        public_id,
        post.community.name,
        post.body[:200],
        reverse("content:post", args=[public_id]),
        first.image if first else None,
        None,
        "",
    )


def _review(public_id):
    from shoploop.content.models import Review

    review = (
        Review.objects.select_related("product", "shop")
        .filter(public_id=public_id, state=Review.State.VISIBLE)
        .first()
    )
    if review is None:
        return None
    return Target(
        TargetKind.REVIEW,
        public_id,
        review.product.title,
        (review.body or "")[:200],
        reverse("content:review", args=[public_id]),
        lambda: _first_image(review.product),
        None,
        "★" * review.stars,
        review.shop.public_id,
    )


RESOLVERS = {
    TargetKind.PRODUCT: _product,
    TargetKind.GROUP: _group,
    TargetKind.BARGAIN: _bargain,
    TargetKind.CROWDFUNDING: _crowdfunding,
    TargetKind.FLASH: _flash,
    TargetKind.COMMUNITY: _community,
    TargetKind.POST: _post,
    TargetKind.REVIEW: _review,
}


def resolve(kind: str, public_id: str) -> Target | None:
    resolver = RESOLVERS.get(kind)
    if resolver is None or not isinstance(public_id, str) or not 1 <= len(public_id) <= 12:
        return None
    return resolver(public_id)
