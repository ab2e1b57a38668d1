"""Reads of the bargains app."""

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.catalog import selectors as catalog_selectors
from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help


def campaign_by_public_id(*, public_id: str) -> BargainCampaign:
    campaign = (
        BargainCampaign.objects.select_related("shop__owner", "sku__product")
        .filter(public_id=str(public_id)[:40])
        .first()
    )
    if campaign is None:
        raise NotFound(_("No such campaign."), code="campaign_not_found")
    return campaign


def campaign_for_merchant(*, public_id: str, user) -> BargainCampaign:
    campaign = campaign_by_public_id(public_id=public_id)
    if user is None or campaign.shop.owner_id != getattr(user, "pk", None):
        raise PermissionDenied(_("This campaign belongs to another shop."), code="not_your_shop")
    return campaign


def bargain_by_public_id(*, public_id: str) -> Bargain:
    """Anyone with the share link may see a bargain (that is how friends help)."""
    bargain = (
        Bargain.objects.select_related(
            "campaign__shop", "campaign__sku__product", "initiator", "order"
        )
        .filter(public_id=str(public_id)[:40])
        .first()
    )
    if bargain is None:
        raise NotFound(_("No such bargain."), code="bargain_not_found")
    return bargain


def helps_of(*, bargain: Bargain) -> QuerySet[Help]:
    return bargain.helps.select_related("helper").order_by("position")


def has_helped(*, bargain: Bargain, user) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bargain.helps.filter(helper=user).exists()


def my_bargains(*, user) -> QuerySet[Bargain]:
    return (
        Bargain.objects.select_related("campaign__sku__product", "campaign__shop", "order")
        .filter(initiator=user)
        .order_by("-created_at", "-pk")
    )


def open_bargain_of(*, campaign: BargainCampaign, user) -> Bargain | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Bargain.objects.filter(campaign=campaign, initiator=user, state__in=Bargain.OPEN_STATES)
        .order_by("-pk")
        .first()
    )


def running_campaigns_for_product(*, product) -> QuerySet[BargainCampaign]:
    now = clock.now()
    return (
        BargainCampaign.objects.select_related("sku")
        .filter(
            sku__product=product,
            state=BargainCampaign.State.ACTIVE,
            starts_at__lte=now,
            ends_at__gt=now,
            stock_left__gt=0,
        )
        .order_by("ends_at", "pk")
    )


def shop_campaigns(*, user) -> QuerySet[BargainCampaign]:
    shop = catalog_selectors.shop_of(user=user)
    if shop is None:
        return BargainCampaign.objects.none()
    return (
        BargainCampaign.objects.select_related("sku__product")
        .filter(shop=shop)
        .order_by("-created_at", "-pk")
    )


def campaign_counts(*, campaign: BargainCampaign) -> dict:
    """Live numbers for the merchant console."""
    fresh = BargainCampaign.objects.get(pk=campaign.pk)
    counts = campaign.bargains.aggregate(
        started=Count("pk"),
        active=Count("pk", filter=Q(state=Bargain.State.ACTIVE)),
        at_floor=Count(
            "pk",
            filter=Q(state=Bargain.State.ACTIVE, helps_count__gte=fresh.helpers_needed),
        ),
        buying=Count("pk", filter=Q(state=Bargain.State.BUYING)),
        bought=Count("pk", filter=Q(state=Bargain.State.BOUGHT)),
        expired=Count("pk", filter=Q(state=Bargain.State.EXPIRED)),
    )
    counts["helps"] = Help.objects.filter(bargain__campaign=campaign).count()
    counts["stock_left"] = fresh.stock_left
    counts["stock_total"] = fresh.stock_total
    counts["state"] = fresh.state
    return counts


# --- the confirm step -------------------------------------------------------------------------


def buy_quote(*, bargain: Bargain, user, address_id: str = ""):
    """What buying the bargain charges its initiator now: its current price."""
    from shoploop.deals.quotes import build_quote

    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or (bargain.initiator_id != user.pk)
    ):
        raise PermissionDenied(_("Only the person who started this bargain can buy."))
    campaign = bargain.campaign
    return build_quote(
        user=user,
        kind="bargain_buy",
        title=campaign.title,
        options=campaign.sku.options,
        unit_price_fen=bargain.current_price_fen,
        normal_price_fen=campaign.sku.price_fen,
        address_id=address_id,
    )
