"""Reads of ideas and wanted products, with the "may this person see it" checks.

An idea or wanted product proposed in a members-only community is seen by that community's
members, the shop's owner and operators; everything else is public (for an approved shop).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.catalog.models import Shop, ShopFollow
from shoploop.communities.models import Community, Membership
from shoploop.core import clock
from shoploop.core.errors import NotFound
from shoploop.ideas.models import (
    BAND_TYPICAL_FEN,
    Idea,
    IdeaComment,
    IdeaStatusChange,
    IdeaVote,
    PriceBand,
    Want,
    WantedProduct,
)

SORTS = ("votes", "new")
PRESALE_DAYS = 14
DELIVERY_DAYS_AFTER = 30
DEMAND_COMMUNITIES = 20


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _member_community_ids(user):
    return Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values(
        "community_id"
    )


def _readable(viewer) -> Q:
    """Rows (ideas or wanted products) ``viewer`` may read."""
    if _signed_in(viewer) and viewer.is_staff:
        return Q()
    open_community = ~Q(community__state=Community.State.DISSOLVED) & Q(
        community__visibility=Community.Visibility.PUBLIC
    )
    where = Q(community__isnull=True) | open_community
    if _signed_in(viewer):
        where |= Q(community_id__in=_member_community_ids(viewer))
    where &= Q(shop__status=Shop.Status.APPROVED)
    if _signed_in(viewer):
        where |= Q(shop__owner=viewer)
    return where


def is_member(*, user, community: Community | None) -> bool:
    if community is None or not _signed_in(user):
        return False
    return Membership.objects.filter(
        community=community, user=user, state=Membership.State.ACTIVE
    ).exists()


def follows_shop(*, user, shop: Shop) -> bool:
    return _signed_in(user) and ShopFollow.objects.filter(follower=user, shop=shop).exists()


def may_take_part(*, user, idea: Idea) -> bool:
    """Vote and comment: a member of the idea's community or a follower of its shop."""
    return is_member(user=user, community=idea.community) or follows_shop(user=user, shop=idea.shop)


def community_shops(*, community: Community) -> QuerySet[Shop]:
    """The approved shops offered in the community (those its members may propose to)."""
    return community.shops.filter(status=Shop.Status.APPROVED).order_by("name")


def member_communities_of_shop(*, user, shop: Shop) -> list[Community]:
    """The shop's active communities the person is an active member of: where they may propose."""
    if not _signed_in(user):
        return []
    return list(
        shop.communities.filter(
            state=Community.State.ACTIVE,
            memberships__user=user,
            memberships__state=Membership.State.ACTIVE,
        ).order_by("name")
    )


def is_shop_owner(*, user, shop: Shop) -> bool:
    return _signed_in(user) and shop.owner_id == user.pk


# --- ideas ------------------------------------------------------------------------------------


def _ideas() -> QuerySet[Idea]:
    return Idea.objects.select_related(
        "shop", "community", "author", "product", "shipped_product"
    ).prefetch_related("photos")


def sorted_ideas(queryset: QuerySet[Idea], *, sort: str = "votes") -> QuerySet[Idea]:
    if sort == "new":
        return queryset.order_by("-created_at", "-pk")
    return queryset.order_by("-vote_count", "-created_at", "-pk")


def _with_status(queryset: QuerySet[Idea], status: str | None) -> QuerySet[Idea]:
    if status in Idea.Status.values:
        return queryset.filter(status=status)
    if status == "open":
        return queryset.filter(status__in=Idea.OPEN_STATUSES)
    return queryset


def get_idea(*, public_id: str, viewer) -> Idea:
    idea = _ideas().filter(_readable(viewer), public_id=str(public_id)[:12]).first()
    if idea is None:
        raise NotFound(_("No such idea."), code="idea_not_found")
    return idea


def community_ideas(
    *, community: Community, viewer, sort: str = "votes", status: str | None = None
) -> QuerySet[Idea]:
    ideas = _ideas().filter(_readable(viewer), community=community)
    return sorted_ideas(_with_status(ideas, status), sort=sort)


def shop_ideas(*, shop: Shop, viewer, sort: str = "votes", status: str | None = None):
    ideas = _ideas().filter(_readable(viewer), shop=shop)
    return sorted_ideas(_with_status(ideas, status), sort=sort)


def shop_changelog(*, shop: Shop, viewer) -> QuerySet[Idea]:
    """The shop's shipped ideas, latest first: what the community asked for and got."""
    return (
        _ideas()
        .filter(_readable(viewer), shop=shop, status=Idea.Status.SHIPPED)
        .order_by("-shipped_at", "-pk")
    )


def console_ideas(*, shop: Shop, status: str | None = "open") -> QuerySet[Idea]:
    """Every idea sent to the shop (its owner's view), most voted first."""
    return sorted_ideas(_with_status(_ideas().filter(shop=shop), status), sort="votes")


def idea_comments(*, idea: Idea) -> QuerySet[IdeaComment]:
    return idea.comments.select_related("author").order_by("created_at", "pk")


def idea_history(*, idea: Idea) -> QuerySet[IdeaStatusChange]:
    return idea.status_changes.select_related("actor", "product").order_by("created_at", "pk")


def voted_idea_ids(*, user, ideas) -> set[int]:
    if not _signed_in(user):
        return set()
    ids = [idea.pk for idea in ideas]
    return set(
        IdeaVote.objects.filter(user=user, idea_id__in=ids).values_list("idea_id", flat=True)
    )


def voters_of(*, idea: Idea):
    """Everyone who voted (active accounts), in voting order."""
    return (
        get_user_model()
        .objects.filter(idea_votes__idea=idea, is_active=True)
        .order_by("idea_votes__created_at", "pk")
    )


def idea_by_public_id(public_id) -> Idea | None:
    """For event subscribers: no visibility check."""
    if not public_id:
        return None
    return (
        Idea.objects.select_related("shop", "shipped_product")
        .filter(public_id=str(public_id))
        .first()
    )


def shop_products_for_answer(*, shop: Shop):
    """The shop's published products a shipped idea may link to."""
    return shop.products.filter(is_published=True).order_by("title")


# --- wanted products --------------------------------------------------------------------------


def _wanted() -> QuerySet[WantedProduct]:
    return WantedProduct.objects.select_related("shop", "community", "proposer", "project")


def get_wanted_product(*, public_id: str, viewer) -> WantedProduct:
    found = _wanted().filter(_readable(viewer), public_id=str(public_id)[:12]).first()
    if found is None:
        raise NotFound(_("No such wanted product."), code="wanted_product_not_found")
    return found


def shop_wanted_products(*, shop: Shop, viewer) -> QuerySet[WantedProduct]:
    return _wanted().filter(_readable(viewer), shop=shop).order_by("-want_count", "-created_at")


def community_wanted_products(*, community: Community, viewer) -> QuerySet[WantedProduct]:
    return _wanted().filter(_readable(viewer), community=community).order_by("-want_count")


def want_of(*, user, wanted_product: WantedProduct) -> Want | None:
    if not _signed_in(user):
        return None
    return Want.objects.filter(user=user, wanted_product=wanted_product).first()


def wanted_product_by_public_id(public_id) -> WantedProduct | None:
    """For event subscribers: no visibility check."""
    if not public_id:
        return None
    return _wanted().filter(public_id=str(public_id)).first()


def wanters_of(*, wanted_product: WantedProduct):
    return (
        get_user_model()
        .objects.filter(wants__wanted_product=wanted_product, is_active=True)
        .order_by("wants__created_at", "pk")
    )


@dataclass(frozen=True)
class BandDemand:
    band: str
    label: str
    count: int


@dataclass(frozen=True)
class CommunityDemand:
    community_public_id: str
    name: str
    total: int
    by_band: dict[str, int]

    @property
    def bands(self) -> list[tuple[str, int]]:
        """(label, wanters) of each band someone in this community chose, in band order."""
        return [
            (str(band.label), self.by_band[band.value])
            for band in PriceBand
            if self.by_band.get(band.value)
        ]


def demand_by_band(*, wanted_product: WantedProduct) -> list[BandDemand]:
    counts = dict(
        Want.objects.filter(wanted_product=wanted_product)
        .values_list("price_band")
        .annotate(n=Count("pk"))
    )
    return [
        BandDemand(band.value, str(band.label), counts.get(band.value, 0)) for band in PriceBand
    ]


def demand_by_community(
    *, wanted_product: WantedProduct, limit: int = DEMAND_COMMUNITIES
) -> list[CommunityDemand]:
    """The communities the wanters are active members of, most wanters first, each with its
    wanters by price band (a wanter in two communities counts in both)."""
    rows = (
        Membership.objects.filter(
            state=Membership.State.ACTIVE,
            community__state=Community.State.ACTIVE,
            user__wants__wanted_product=wanted_product,
        )
        .values("community__public_id", "community__name", "user__wants__price_band")
        .annotate(n=Count("user", distinct=True))
    )
    merged: dict[str, dict] = {}
    for row in rows:
        entry = merged.setdefault(
            row["community__public_id"], {"name": row["community__name"], "by_band": {}}
        )
        entry["by_band"][row["user__wants__price_band"]] = row["n"]
    demand = [
        CommunityDemand(public_id, entry["name"], sum(entry["by_band"].values()), entry["by_band"])
        for public_id, entry in merged.items()
    ]
    demand.sort(key=lambda item: (-item.total, item.name))
    return demand[:limit]


def wanter_community_public_ids(*, user, limit: int = 50) -> list[str]:
    """The wanter's active communities (for the event insights count)."""
    return list(
        Membership.objects.filter(
            user=user, state=Membership.State.ACTIVE, community__state=Community.State.ACTIVE
        )
        .order_by("community_id")
        .values_list("community__public_id", flat=True)[:limit]
    )


@dataclass(frozen=True)
class PresaleDraft:
    """The suggested pre-sale, taken from the demand; the merchant confirms or edits it."""

    title: str
    story: str
    band: str
    price_fen: int
    target_units: int
    deadline: datetime
    estimated_delivery: date


def presale_draft(*, wanted_product: WantedProduct, now: datetime | None = None) -> PresaleDraft:
    """Price: a typical price of the most wanted band (the lower band on a tie); target: half the
    wanters (at least one); deadline: two weeks; delivery a month after."""
    now = now or clock.now()
    bands = demand_by_band(wanted_product=wanted_product)
    top = max(bands, key=lambda item: item.count) if bands else None
    band = top.band if top and top.count else PriceBand.FROM_50.value
    wanters = wanted_product.want_count
    deadline = (now + timedelta(days=PRESALE_DAYS)).replace(second=0, microsecond=0)
    story = wanted_product.description or wanted_product.title
    said = ngettext(
        "%(count)d person said they want this.", "%(count)d people said they want this.", wanters
    ) % {"count": wanters}
    story = f"{story}\n\n{said}"
    return PresaleDraft(
        title=wanted_product.title,
        story=story,
        band=band,
        price_fen=BAND_TYPICAL_FEN[PriceBand(band)],
        target_units=max(1, (wanters + 1) // 2),
        deadline=deadline,
        estimated_delivery=(deadline + timedelta(days=DELIVERY_DAYS_AFTER)).date(),
    )
