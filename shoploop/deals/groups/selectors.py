"""Group buying reads: campaigns, open groups (nearly full first), a group's members, my groups."""

from dataclasses import dataclass, field

from django.db.models import Count, ExpressionWrapper, F, IntegerField, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.catalog.models import SKU, ProductImage
from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.deals.groups.models import Group, GroupCampaign, GroupCampaignSKU, Seat

MEMBER_STATES = (Seat.State.RESERVED, Seat.State.PAID)


def sku_by_public_id(*, public_id: str) -> SKU:
    sku = SKU.objects.select_related("product__shop").filter(public_id=str(public_id)[:40]).first()
    if sku is None:
        raise NotFound(_("No such SKU."), code="sku_not_found")
    return sku


def campaign_by_public_id(*, public_id: str) -> GroupCampaign:
    campaign = (
        GroupCampaign.objects.select_related("shop__owner", "sku__product")
        .prefetch_related("variants__sku")
        .filter(public_id=str(public_id)[:40])
        .first()
    )
    if campaign is None:
        raise NotFound(_("No such group campaign."), code="campaign_not_found")
    return campaign


def campaign_for_merchant(*, public_id: str, user) -> GroupCampaign:
    campaign = campaign_by_public_id(public_id=public_id)
    if campaign.shop.owner_id != getattr(user, "pk", None):
        raise PermissionDenied(_("This is another shop's campaign."), code="not_your_shop")
    return campaign


def shop_campaigns(*, shop) -> QuerySet[GroupCampaign]:
    """A merchant's campaigns with live counts of their groups."""
    return (
        GroupCampaign.objects.filter(shop=shop)
        .select_related("sku__product")
        .prefetch_related("variants__sku")
        .annotate(
            open_groups=Count("groups", filter=Q(groups__state=Group.State.OPEN)),
            succeeded_groups=Count("groups", filter=Q(groups__state=Group.State.SUCCEEDED)),
            failed_groups=Count("groups", filter=Q(groups__state=Group.State.FAILED)),
        )
        .order_by("-created_at", "-pk")
    )


def group_by_public_id(*, public_id: str) -> Group:
    group = (
        Group.objects.select_related("campaign__shop", "campaign__sku__product", "leader")
        .filter(public_id=str(public_id)[:40])
        .first()
    )
    if group is None:
        raise NotFound(_("No such group."), code="group_not_found")
    return group


def _member_seats() -> QuerySet[Seat]:
    return (
        Seat.objects.filter(state__in=MEMBER_STATES)
        .select_related("user")
        .order_by("-is_leader", "created_at", "pk")
    )


def with_members(groups: QuerySet[Group], *, through: str = "") -> QuerySet:
    """Prefetch every listed group's members in one query (``members`` then reads no more).
    ``through``: the path to the group from the listed model (``"group"`` for seats)."""
    path = f"{through}__seats" if through else "seats"
    return groups.prefetch_related(Prefetch(path, queryset=_member_seats(), to_attr="member_seats"))


def members(*, group: Group) -> list[Seat]:
    """The group's real members (paid or holding a seat), leader first. Never padded."""
    prefetched = getattr(group, "member_seats", None)
    if prefetched is not None:
        return list(prefetched)
    return list(_member_seats().filter(group=group))


def cover_image(*, product) -> ProductImage | None:
    """The product's first picture (the one its tiles show), or None."""
    return ProductImage.objects.filter(product=product).order_by("position", "created_at").first()


def seat_of(*, group: Group, user) -> Seat | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        group.seats.filter(user=user)
        .exclude(state=Seat.State.FREED)
        .select_related("order__checkout")
        .first()
    )


def _joinable() -> QuerySet[Group]:
    """Open groups others can join now: leader paid, a seat free, campaign running."""
    return (
        Group.objects.filter(
            state=Group.State.OPEN,
            deadline__gt=clock.now(),
            paid_count__gte=1,
            seats_taken__lt=F("size"),
            campaign__state=GroupCampaign.State.ACTIVE,
        )
        .select_related("campaign__sku__product", "campaign__shop", "leader")
        .annotate(
            missing=ExpressionWrapper(F("size") - F("paid_count"), output_field=IntegerField())
        )
        .order_by("missing", "deadline", "pk")
    )


def open_groups_of_campaign(*, campaign: GroupCampaign) -> QuerySet[Group]:
    return _joinable().filter(campaign=campaign)


def open_groups_of_product(*, product) -> QuerySet[Group]:
    return _joinable().filter(campaign__sku__product=product)


def open_groups_of_community(*, community) -> QuerySet[Group]:
    """Groups of campaigns restricted to this community, or of shops and products shown in it."""
    campaigns = GroupCampaign.objects.filter(
        Q(communities=community)
        | Q(shop__communities=community)
        | Q(sku__product__communities=community)
    ).values("pk")
    return _joinable().filter(campaign__in=campaigns)


def running_campaigns_of_product(*, product) -> QuerySet[GroupCampaign]:
    now = clock.now()
    return (
        GroupCampaign.objects.filter(
            sku__product=product,
            state=GroupCampaign.State.ACTIVE,
            starts_at__lte=now,
            ends_at__gt=now,
        )
        .select_related("sku__product", "shop")
        .order_by("group_price_fen", "pk")
    )


def my_seats(*, user) -> QuerySet[Seat]:
    """The user's seats (one per group), newest first."""
    return (
        Seat.objects.filter(user=user)
        .exclude(state=Seat.State.FREED)
        .select_related(
            "group__campaign__sku__product",
            "group__campaign__shop",
            "order__checkout",
            "variant__sku",
        )
        .order_by("-created_at", "-pk")
    )


# --- what a buyer may do (the pages show a message instead of a button that would fail) --------


@dataclass(frozen=True)
class BuyerStanding:
    """A signed-in buyer's seats in some campaigns: ``seats`` (campaign id → live seats) and the
    groups they hold a live seat in. ``user_id`` is None for a visitor."""

    user_id: int | None = None
    seats: dict[int, int] = field(default_factory=dict)
    group_ids: frozenset[int] = frozenset()


def buyer_standing(*, user, campaign_ids) -> BuyerStanding:
    if user is None or not getattr(user, "is_authenticated", False):
        return BuyerStanding()
    rows = Seat.objects.filter(
        user_id=user.pk, group__campaign_id__in=list(campaign_ids), state__in=MEMBER_STATES
    ).values_list("group_id", "group__campaign_id")
    seats: dict[int, int] = {}
    group_ids = set()
    for group_id, campaign_id in rows:
        group_ids.add(group_id)
        seats[campaign_id] = seats.get(campaign_id, 0) + 1
    return BuyerStanding(user_id=user.pk, seats=seats, group_ids=frozenset(group_ids))


def _campaign_refusal(campaign: GroupCampaign, standing: BuyerStanding) -> str:
    if campaign.shop.owner_id == standing.user_id:
        return _("You cannot buy from your own shop.")
    if standing.seats.get(campaign.pk, 0) >= campaign.per_user_limit:
        return _("You already hold as many seats in this campaign as a buyer may.")
    return ""


def open_refusal(*, campaign: GroupCampaign, standing: BuyerStanding) -> str:
    """Why this buyer cannot open a group in the campaign ("" if they may, or are a visitor)."""
    if standing.user_id is None:
        return ""
    return _campaign_refusal(campaign, standing)


def join_refusal(*, group: Group, standing: BuyerStanding) -> str:
    """Why this buyer cannot join the group ("" if they may, or are a visitor): their own group,
    a group they are in, their own shop, or the campaign's per-buyer limit reached."""
    if standing.user_id is None:
        return ""
    if group.leader_id == standing.user_id:
        return _("You opened this group; you are already in it.")
    if group.pk in standing.group_ids:
        return _("You are already in this group.")
    return _campaign_refusal(group.campaign, standing)


# --- the confirm step -------------------------------------------------------------------------


def variants_of(*, campaign: GroupCampaign) -> list[GroupCampaignSKU]:
    """The campaign's variants with their SKUs, in the order the merchant gave them."""
    return list(
        GroupCampaignSKU.objects.select_related("sku__product")
        .filter(campaign_id=campaign.pk)
        .order_by("pk")
    )


def _group_quote(*, campaign, user, kind, address_id, sku_id, leader: bool, refusal: str):
    """The quote for a seat: a campaign of one variant sells it; of several, the buyer chooses
    (``sku_id``; until then the choices and the lowest price, and nothing to confirm)."""
    from shoploop.deals.quotes import VariantChoice, build_quote

    def price(variant):
        return variant.price_for_leader if leader else variant.group_price_fen

    variants = variants_of(campaign=campaign)
    sku_id = str(sku_id or "")[:40]
    chosen = variants[0] if len(variants) == 1 else None
    if sku_id:
        chosen = next((v for v in variants if v.sku.public_id == sku_id), None)
        if chosen is None:
            raise NotFound(_("This campaign has no such variant."), code="variant_not_found")
    choices = (
        [
            VariantChoice(
                sku_id=v.sku.public_id,
                options=dict(v.sku.options),
                unit_price_fen=price(v),
                stock=v.stock,
            )
            for v in variants
        ]
        if len(variants) > 1
        else []
    )
    shown = chosen or min(variants, key=price)
    return build_quote(
        user=user,
        kind=kind,
        title=campaign.sku.product.title,
        options=chosen.sku.options if chosen else {},
        unit_price_fen=price(shown),
        normal_price_fen=shown.sku.price_fen,
        address_id=address_id,
        refusal=refusal,
        variants=choices,
        sku_id=chosen.sku.public_id if chosen and choices else "",
    )


def open_quote(*, campaign: GroupCampaign, user, address_id: str = "", sku_id: str = ""):
    """What opening a group charges this buyer: the variant's leader price if it has one, else
    its group price. A campaign of several variants asks which one (``sku_id``)."""
    standing = buyer_standing(user=user, campaign_ids={campaign.pk})
    return _group_quote(
        campaign=campaign,
        user=user,
        kind="group_open",
        address_id=address_id,
        sku_id=sku_id,
        leader=True,
        refusal=open_refusal(campaign=campaign, standing=standing),
    )


def join_quote(*, group: Group, user, address_id: str = "", sku_id: str = ""):
    """What joining this group charges this buyer: the chosen variant's group price."""
    campaign = group.campaign
    standing = buyer_standing(user=user, campaign_ids={campaign.pk})
    return _group_quote(
        campaign=campaign,
        user=user,
        kind="group_join",
        address_id=address_id,
        sku_id=sku_id,
        leader=False,
        refusal=join_refusal(group=group, standing=standing),
    )
