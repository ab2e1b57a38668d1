"""What a feed card and the API show of each item: title, summary, links, picture."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from shoploop.core.money import format_fen
from shoploop.feed.models import Kind

SUMMARY_WORDS = 40
SUMMARY_CHARS = 140


@dataclass
class Card:
    kind: str
    public_id: str
    title: str
    summary: str
    url: str
    image_url: str = ""
    stars: int | None = None
    person_name: str = ""
    person_url: str = ""
    shop_name: str = ""
    shop_url: str = ""
    community_name: str = ""
    community_url: str = ""


def _short(text: str) -> str:
    return Truncator(text or "").chars(SUMMARY_CHARS)


def _person(card: Card, user) -> None:
    if user is not None:
        card.person_name = str(user)
        card.person_url = reverse("accounts:profile", args=[user.public_id])


def _shop(card: Card, shop) -> None:
    if shop is not None:
        card.shop_name = shop.name
        card.shop_url = reverse("catalog:shop", args=[shop.public_id])


def _community(card: Card, community) -> None:
    if community is not None:
        card.community_name = community.name
        card.community_url = reverse("communities:detail", args=[community.public_id])


def _first_image(photos) -> str:
    first = next(iter(photos), None)
    return first.image.url if first is not None and first.image else ""


def _lowest_price(product) -> int | None:
    prices = [sku.price_fen for sku in product.skus.all() if sku.is_active]
    return min(prices) if prices else None


def card(item) -> Card:
    obj = item.obj
    if item.kind == Kind.POST:
        title = obj.card_title or (obj.review.product.title if obj.review_id else "")
        result = Card(
            Kind.POST,
            obj.public_id,
            title or obj.community.name,
            _short(obj.body),
            reverse("content:post", args=[obj.public_id]),
            _first_image(obj.photos.all()),
            stars=obj.review.stars if obj.review_id else None,
        )
        _person(result, obj.author)
        _community(result, obj.community)
        return result
    if item.kind == Kind.REVIEW:
        result = Card(
            Kind.REVIEW,
            obj.public_id,
            obj.product.title,
            _short(obj.body),
            reverse("content:review", args=[obj.public_id]),
            _first_image(obj.photos.all()),
            stars=obj.stars,
        )
        _person(result, obj.author)
        _shop(result, obj.shop)
        return result
    if item.kind == Kind.GROUP:
        campaign = obj.campaign
        product = campaign.sku.product
        result = Card(
            Kind.GROUP,
            obj.public_id,
            product.title,
            _("%(taken)s of %(size)s joined · %(price)s each")
            % {
                "taken": obj.seats_taken,
                "size": obj.size,
                "price": format_fen(campaign.group_price_fen),
            },
            reverse("deals_groups:group", args=[obj.public_id]),
        )
        _person(result, item.actor or obj.leader)
        _shop(result, campaign.shop)
        return result
    if item.kind == Kind.BARGAIN:
        campaign = obj.campaign
        result = Card(
            Kind.BARGAIN,
            obj.public_id,
            campaign.title or campaign.sku.product.title,
            _("Now %(price)s; every friend's help cuts it")
            % {"price": format_fen(obj.current_price_fen)},
            reverse("deals_bargains:detail", args=[obj.public_id]),
        )
        _person(result, obj.initiator)
        _shop(result, campaign.shop)
        return result
    if item.kind == Kind.PROJECT:
        result = Card(
            Kind.PROJECT,
            obj.public_id,
            obj.title,
            _("Crowdfunding until %(date)s")
            % {"date": date_format(obj.deadline, "SHORT_DATE_FORMAT")},
            reverse("deals_crowdfunding:project", args=[obj.public_id]),
        )
        _person(result, item.actor)
        _shop(result, obj.shop)
        return result
    price = _lowest_price(obj)
    result = Card(
        Kind.PRODUCT,
        obj.public_id,
        obj.title,
        format_fen(price) if price is not None else _("No price yet"),
        reverse("catalog:product", args=[obj.public_id]),
        _first_image(obj.images.all()),
    )
    _person(result, item.actor)
    _shop(result, obj.shop)
    _community(result, item.community)
    return result
