"""What can be shared: each kind resolves a public id to what a share link, its card (Open Graph)
and its poster show. A kind that is missing, deleted or private resolves to None."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.core.prepared import PreparedQuery
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


# What each kind's followable rows are: the one rule of visibility, used by the card and poster
# (``resolve``) and by a visit (``destination``), which needs no more than "is it there".


def _visible_products():
    from shoploop.catalog.models import Product, Shop

    return Product.objects.filter(is_published=True, shop__status=Shop.Status.APPROVED)


def _visible_groups():
    from shoploop.deals.groups.models import Group

    return Group.objects.all()


def _visible_bargains():
    from shoploop.deals.bargains.models import Bargain

    return Bargain.objects.all()


def _visible_projects():
    from shoploop.deals.crowdfunding.models import Project

    return Project.objects.all()


def _visible_flash_sales():
    from shoploop.deals.flash.models import FlashSale

    return FlashSale.objects.all()


def _visible_communities():
    from shoploop.communities.models import Community

    return Community.objects.filter(state=Community.State.ACTIVE).exclude(
        visibility=Community.Visibility.INVITE
    )


def _visible_posts():
    from shoploop.communities.models import Community
    from shoploop.content.models import Moderated, Post

    return (
        Post.objects.filter(state=Moderated.VISIBLE)
        .filter(community__state=Community.State.ACTIVE)
        .exclude(community__visibility=Community.Visibility.INVITE)
    )


def _visible_reviews():
    from shoploop.content.models import Review

    return Review.objects.filter(state=Review.State.VISIBLE)


def _product(public_id):
    product = _visible_products().select_related("shop").filter(public_id=public_id).first()
    if product is None:
        return None
    return Target(
        TargetKind.PRODUCT,
        public_id,
        product.title,
        # The sanitised rendering, as text: the raw source may hold markup.
        strip_tags(product.description_html or "")[:200],
        _url(TargetKind.PRODUCT, public_id),
        lambda: _first_image(product),
        lambda: _price(product),
        "",
        product.shop.public_id,
    )


def _group(public_id):
    from shoploop.deals.groups.models import Group

    group = _visible_groups().select_related("campaign__sku__product__shop")
    group = group.filter(public_id=public_id).first()
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
        _url(TargetKind.GROUP, public_id),
        lambda: _first_image(product),
        group.campaign.group_price_fen,
        state,
        product.shop.public_id,
    )


def _bargain(public_id):
    bargain = _visible_bargains().select_related("campaign__sku__product__shop")
    bargain = bargain.filter(public_id=public_id).first()
    if bargain is None:
        return None
    product = bargain.campaign.sku.product
    return Target(
        TargetKind.BARGAIN,
        public_id,
        bargain.campaign.title or product.title,
        _("Every friend who helps cuts the price"),
        _url(TargetKind.BARGAIN, public_id),
        lambda: _first_image(product),
        bargain.current_price_fen,
        bargain.get_state_display(),
        product.shop.public_id,
    )


def _crowdfunding(public_id):
    project = _visible_projects().select_related("shop").filter(public_id=public_id).first()
    if project is None:
        return None
    first = project.images.first()
    tier = project.tiers.order_by("price_fen").first()
    return Target(
        TargetKind.CROWDFUNDING,
        public_id,
        project.title,
        (project.story or "")[:200],
        _url(TargetKind.CROWDFUNDING, public_id),
        first.image if first else None,
        tier.price_fen if tier else None,
        ngettext("%(n)d backer", "%(n)d backers", project.backers) % {"n": project.backers},
        project.shop.public_id,
    )


def _flash(public_id):
    sale = _visible_flash_sales().select_related("sku__product__shop")
    sale = sale.filter(public_id=public_id).first()
    if sale is None:
        return None
    product = sale.sku.product
    return Target(
        TargetKind.FLASH,
        public_id,
        product.title,
        _("Flash sale"),
        _url(TargetKind.FLASH, public_id),
        lambda: _first_image(product),
        sale.price_fen,
        str(sale.status_label()),
        product.shop.public_id,
    )


def _community(public_id):
    community = _visible_communities().filter(public_id=public_id).first()
    if community is None:
        return None
    return Target(
        TargetKind.COMMUNITY,
        public_id,
        community.name,
        (getattr(community, "description", "") or "")[:200],
        _url(TargetKind.COMMUNITY, public_id),
        community.cover or None,
        None,
        ngettext("%(n)d member", "%(n)d members", community.member_count)
        % {"n": community.member_count},
    )


def _post(public_id):
    post = _visible_posts().select_related("community", "author")
    post = post.filter(public_id=public_id).first()
    if post is None:
        return None
    first = post.photos.first()
    return Target(
        TargetKind.POST,
        public_id,
        post.community.name,
        post.body[:200],
        _url(TargetKind.POST, public_id),
        first.image if first else None,
        None,
        "",
    )


def _review(public_id):
    review = _visible_reviews().select_related("product", "shop")
    review = review.filter(public_id=public_id).first()
    if review is None:
        return None
    return Target(
        TargetKind.REVIEW,
        public_id,
        review.product.title,
        (review.body or "")[:200],
        _url(TargetKind.REVIEW, public_id),
        lambda: _first_image(review.product),
        None,
        "★" * review.stars,
        review.shop.public_id,
    )


class Shareable:
    def __init__(
        self,
        card: Callable[[str], Target | None],
        visible: Callable[[], QuerySet],
        url_name: str,
    ):
        self.card = card  # what a card and a poster show
        self.visible = visible  # the rows a link to this kind can lead to
        self.url_name = url_name
        self.exists = PreparedQuery(
            lambda public_id: visible().filter(public_id=public_id).values_list("pk")[:1]
        )


SHAREABLE = {
    TargetKind.PRODUCT: Shareable(_product, _visible_products, "catalog:product"),
    TargetKind.GROUP: Shareable(_group, _visible_groups, "deals_groups:group"),
    TargetKind.BARGAIN: Shareable(_bargain, _visible_bargains, "deals_bargains:detail"),
    TargetKind.CROWDFUNDING: Shareable(
        _crowdfunding, _visible_projects, "deals_crowdfunding:project"
    ),
    TargetKind.FLASH: Shareable(_flash, _visible_flash_sales, "deals_flash:detail"),
    TargetKind.COMMUNITY: Shareable(_community, _visible_communities, "communities:detail"),
    TargetKind.POST: Shareable(_post, _visible_posts, "content:post"),
    TargetKind.REVIEW: Shareable(_review, _visible_reviews, "content:review"),
}


def _url(kind: str, public_id: str) -> str:
    return reverse(SHAREABLE[kind].url_name, args=[public_id])


def _shareable(kind: str, public_id: str) -> Shareable | None:
    if not isinstance(public_id, str) or not 1 <= len(public_id) <= 12:
        return None
    return SHAREABLE.get(kind)


def resolve(kind: str, public_id: str) -> Target | None:
    shareable = _shareable(kind, public_id)
    return shareable.card(public_id) if shareable else None


def destination(kind: str, public_id: str) -> str | None:
    """Where following a link goes, or None when its target is gone or private: one indexed
    read of the visible rows, compiled once (following a link is the hot path; the card is for
    pages and posters)."""
    shareable = _shareable(kind, public_id)
    if shareable is None or shareable.exists.first(public_id) is None:
        return None
    return _url(kind, public_id)
