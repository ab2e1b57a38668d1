"""Reading the feed: one page by keyset cursor, merged with the big sources, filtered by blocks,
privacy and visibility at read time, ranked or latest, each item with its reason.

The queries a page costs do not depend on the page size nor on the size of the world: the
reader's relations (follows, blocks, memberships, followed shops, big sources), the stored
timeline (one indexed range), one query per big-source kind the reader has, then each kind of
item on the page loaded in bulk (with photos), and the group counts for the reasons.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.errors import ValidationFailed
from shoploop.feed import ranking
from shoploop.feed.models import BigSource, Kind, Reason, TimelineEntry

LATEST = "latest"
RANKED = "ranked"
ORDERS = (RANKED, LATEST)
DEFAULT_PAGE_SIZE = 20  # the home page and the API
MAX_PAGE_SIZE = 50
# The ranked order ranks a window: the newest RANK_WINDOW entries of the stored timeline and the
# newest MERGE_WINDOW items of each big-source kind (bounded, so a page costs the same however
# much has been written; older items are a tap away in the latest order).
RANK_WINDOW = 300
MERGE_WINDOW = 100
FRIEND_REASONS = (
    Reason.FRIEND_OPENED,
    Reason.FRIEND_JOINED,
    Reason.FRIEND_BOUGHT,
    Reason.FRIEND_BARGAINING,
    Reason.FRIEND_BACKED,
)
MEMBERS_ONLY = ("approval", "invite")


class BadCursor(ValidationFailed):
    code = "bad_cursor"
    status = 400
    default_message = _("This feed cursor is not valid; start again from the first page.")


# --- cursors -----------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """A time as whole microseconds since 1970: exact, unlike a float timestamp, so a cursor
    names the very row it stopped at."""
    return (at - EPOCH) // MICROSECOND


def _from_micros(micros: int) -> datetime:
    return EPOCH + micros * MICROSECOND


def encode_cursor(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, order: str) -> dict | None:
    """The cursor's position, or None for the first page; junk or another order's cursor is a
    ``BadCursor`` (400)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if data["o"] != order or data["k"] not in Kind.values:
            raise ValueError
        position = {"o": order, "k": data["k"], "i": int(data["i"]), "t": int(data["t"])}
        if order == RANKED:
            position["r"] = float(data["r"])
            position["a"] = int(data["a"])
            _from_micros(position["a"])
        # Out of range for a database key or a datetime: junk, not a server error.
        if not 0 <= position["i"] < 2**63:
            raise ValueError
        _from_micros(position["t"])
        return position
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise BadCursor() from None


# --- the reader's world ------------------------------------------------------------------------


@dataclass
class Reader:
    user: object
    following: set[int]
    blocked: set[int]
    communities: set[int]
    shops: set[int]
    big_communities: set[int] = field(default_factory=set)
    big_people: set[int] = field(default_factory=set)
    # The big people who share their activity: their deals and purchases are merged on read.
    big_sharing_people: set[int] = field(default_factory=set)
    big_shops: set[int] = field(default_factory=set)


def reader_context(user) -> Reader:
    from django.db.models import Exists, OuterRef

    from shoploop.accounts.models import User
    from shoploop.accounts.selectors import blocked_ids, following_ids
    from shoploop.catalog.models import ShopFollow
    from shoploop.communities.models import Membership

    reader = Reader(
        user=user,
        following=following_ids(user),
        blocked=blocked_ids(user),
        communities=set(
            Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values_list(
                "community_id", flat=True
            )
        ),
        shops=set(ShopFollow.objects.filter(follower=user).values_list("shop_id", flat=True)),
    )
    wanted = (
        Q(source_kind=BigSource.SourceKind.COMMUNITY, source_id__in=reader.communities)
        | Q(source_kind=BigSource.SourceKind.PERSON, source_id__in=reader.following)
        | Q(source_kind=BigSource.SourceKind.SHOP, source_id__in=reader.shops)
    )
    # Whether a big person shares their activity comes with the same query.
    sharing = User.objects.filter(
        pk=OuterRef("source_id"), is_active=True, share_activity_with_followers=True
    )
    sources = BigSource.objects.filter(wanted).annotate(sharing=Exists(sharing))
    for kind, source_id, shares in sources.values_list("source_kind", "source_id", "sharing"):
        {
            BigSource.SourceKind.COMMUNITY: reader.big_communities,
            BigSource.SourceKind.PERSON: reader.big_people,
            BigSource.SourceKind.SHOP: reader.big_shops,
        }[kind].add(source_id)
        if kind == BigSource.SourceKind.PERSON and shares:
            reader.big_sharing_people.add(source_id)
    return reader


# --- candidates --------------------------------------------------------------------------------


@dataclass
class Candidate:
    kind: str
    item_id: int
    at: datetime
    reason: str
    actor_id: int | None = None
    community_id: int | None = None
    shop_id: int | None = None
    rank: float = 0.0

    @property
    def key(self) -> tuple:
        return (self.at, self.kind, self.item_id)

    @property
    def ranked_key(self) -> tuple:
        return (self.rank, self.kind, self.item_id)


def _before(
    time_field: str, kind_field: str | None, kind: str, position: dict | None, id_field: str = "pk"
) -> Q:
    """Rows strictly after the cursor in (time, kind, id) descending order (``id_field`` names
    the item's id in a table of one kind: its key, or the item a seat or a line points at)."""
    if position is None:
        return Q()
    at = _from_micros(position["t"])
    earlier = Q(**{f"{time_field}__lt": at})
    same_time = Q(**{time_field: at})
    if kind_field is None:  # a table of one kind
        if kind < position["k"]:
            return earlier | same_time
        if kind > position["k"]:
            return earlier
        return earlier | (same_time & Q(**{f"{id_field}__lt": position["i"]}))
    return (
        earlier
        | (same_time & Q(**{f"{kind_field}__lt": position["k"]}))
        | (same_time & Q(**{kind_field: position["k"], "item_id__lt": position["i"]}))
    )


def _stored_rows(reader: Reader):
    """The reader's stored timeline as it may be shown (blocks, privacy, communities)."""
    from shoploop.communities.models import Community

    rows = TimelineEntry.objects.filter(reader=reader.user)
    if reader.blocked:
        rows = rows.exclude(actor_id__in=reader.blocked)
    # Privacy at read time: a friend who stopped sharing takes their deals and purchases along.
    rows = rows.exclude(
        Q(reason__in=FRIEND_REASONS) & Q(actor__share_activity_with_followers=False)
    )
    # Members-only communities the reader left (or was removed from) show nothing any more.
    rows = rows.exclude(
        Q(community__visibility__in=MEMBERS_ONLY) & ~Q(community_id__in=reader.communities)
    ).exclude(community__state=Community.State.DISSOLVED)
    return rows


def _stored(reader: Reader, position: dict | None, limit: int, *, ranked: bool):
    """The stored timeline after the cursor: (candidates, whether more may follow)."""
    rows = _stored_rows(reader)
    if ranked:
        if position is not None:
            rows = rows.filter(created_at__lte=_as_of(position))
        rows = rows.order_by("-created_at", "-id")[:RANK_WINDOW]
    else:
        rows = rows.filter(_before("created_at", "kind", "", position)).order_by(
            "-created_at", "-kind", "-item_id"
        )[:limit]
    # Plain tuples, not model instances: a ranked page reads a few hundred of these.
    found = [
        Candidate(kind, item_id, at, reason, actor_id, community_id, shop_id)
        for kind, item_id, at, reason, actor_id, community_id, shop_id in rows.values_list(
            "kind", "item_id", "created_at", "reason", "actor_id", "community_id", "shop_id"
        )
    ]
    return found, not ranked and len(found) == limit


def _as_of(position: dict) -> datetime:
    return _from_micros(position["a"])


def _merged(reader: Reader, position: dict | None, limit: int, *, ranked: bool):
    """The recent items of the big sources the reader follows or belongs to: (candidates,
    whether more may follow). One ``LIMIT``ed query per kind of big source the reader has."""
    from shoploop.catalog.models import Product, Shop
    from shoploop.content.models import Moderated, Post, Review

    truncated = False

    def window(queryset, time_field: str, kind: str, *fields, id_field: str = "pk"):
        nonlocal truncated
        order = (f"-{time_field}", f"-{id_field}")
        if ranked:
            if position is not None:
                queryset = queryset.filter(**{f"{time_field}__lte": _as_of(position)})
            newest = queryset.order_by(*order).values_list(*fields)
            return list(newest[:MERGE_WINDOW])
        queryset = queryset.filter(_before(time_field, None, kind, position, id_field))
        newest = queryset.order_by(*order).values_list(*fields)
        rows = list(newest[:limit])
        truncated = truncated or len(rows) == limit
        return rows

    found: list[Candidate] = []
    readable = ~Q(community__visibility__in=MEMBERS_ONLY) | Q(community_id__in=reader.communities)
    if reader.big_communities:
        posts = Post.objects.filter(
            community_id__in=reader.big_communities, state=Moderated.VISIBLE
        )
        for pk, at, author, community in window(
            posts, "created_at", Kind.POST, "pk", "created_at", "author_id", "community_id"
        ):
            reason = Reason.FOLLOWED_PERSON if author in reader.following else Reason.COMMUNITY
            found.append(Candidate(Kind.POST, pk, at, reason, author, community))
    if reader.big_people:
        posts = Post.objects.filter(
            readable, author_id__in=reader.big_people, state=Moderated.VISIBLE
        )
        for pk, at, author, community in window(
            posts, "created_at", Kind.POST, "pk", "created_at", "author_id", "community_id"
        ):
            found.append(Candidate(Kind.POST, pk, at, Reason.FOLLOWED_PERSON, author, community))
        reviews = Review.objects.filter(author_id__in=reader.big_people, state=Review.State.VISIBLE)
        for pk, at, author, shop in window(
            reviews, "created_at", Kind.REVIEW, "pk", "created_at", "author_id", "shop_id"
        ):
            found.append(
                Candidate(Kind.REVIEW, pk, at, Reason.FOLLOWED_PERSON, author, shop_id=shop)
            )
    if reader.big_sharing_people:
        found.extend(_merged_activity(reader, window))
    if reader.big_shops:
        products = Product.objects.filter(
            shop_id__in=reader.big_shops,
            is_published=True,
            shop__status=Shop.Status.APPROVED,
            published_at__isnull=False,
        )
        for pk, at, shop in window(
            products, "published_at", Kind.PRODUCT, "pk", "published_at", "shop_id"
        ):
            found.append(Candidate(Kind.PRODUCT, pk, at, Reason.FOLLOWED_SHOP, shop_id=shop))
        # Reviews of the shop's products (every review is by the buyer of a received line).
        reviews = Review.objects.filter(shop_id__in=reader.big_shops, state=Review.State.VISIBLE)
        for pk, at, author, shop in window(
            reviews, "created_at", Kind.REVIEW, "pk", "created_at", "author_id", "shop_id"
        ):
            found.append(Candidate(Kind.REVIEW, pk, at, Reason.FOLLOWED_SHOP, author, shop_id=shop))
    # Nobody gets their own item, and blocks hide items either way.
    found = [c for c in found if c.actor_id not in reader.blocked and c.actor_id != reader.user.pk]
    return found, truncated


def _merged_activity(reader: Reader, window) -> list[Candidate]:
    """What the big people the reader follows, and who share their activity, opened, joined,
    bargained for, backed and bought: what their fan-out would have written, one query per kind
    (and one for the communities that purchases are said with).

    Each item comes once, at its newest moment among those people (grouped in SQL, so a cursor
    never meets it twice), and not at all when the stored timeline already holds it (a friend
    who is not big did the same): one source per item, so pages never repeat it."""
    from django.db.models import Max

    from shoploop.catalog.models import Shop
    from shoploop.deals.bargains.models import Bargain
    from shoploop.deals.crowdfunding.models import Pledge, Project
    from shoploop.deals.groups.models import Group, Seat
    from shoploop.orders.models import Order, OrderLine

    # The orders whose ``orders.order.paid`` was published (a deal's once the deal accepted it).
    paid = [Order.State.PAID, Order.State.SHIPPED, Order.State.RECEIVED, Order.State.COMPLETED]
    people = reader.big_sharing_people
    now = clock.now()
    stored = _stored_rows(reader)

    def not_stored(kind: str):
        return stored.filter(kind=kind).values("item_id")

    found: list[Candidate] = []
    seats = (
        Seat.objects.filter(
            user_id__in=people,
            state__in=[Seat.State.RESERVED, Seat.State.PAID],
            group__state=Group.State.OPEN,
            group__deadline__gt=now,
        )
        .exclude(group_id__in=not_stored(Kind.GROUP))
        .values("group_id", "group__leader_id")
        .annotate(at=Max("created_at"), actor=Max("user_id"))
    )
    for group, at, actor, leader in window(
        seats, "at", Kind.GROUP, "group_id", "at", "actor", "group__leader_id", id_field="group_id"
    ):
        reason = Reason.FRIEND_OPENED if actor == leader else Reason.FRIEND_JOINED
        found.append(Candidate(Kind.GROUP, group, at, reason, actor))
    bargains = Bargain.objects.filter(
        initiator_id__in=people, state=Bargain.State.ACTIVE, deadline__gt=now
    ).exclude(pk__in=not_stored(Kind.BARGAIN))
    for pk, at, actor in window(
        bargains, "created_at", Kind.BARGAIN, "pk", "created_at", "initiator_id"
    ):
        found.append(Candidate(Kind.BARGAIN, pk, at, Reason.FRIEND_BARGAINING, actor))
    pledges = (
        Pledge.objects.filter(
            backer_id__in=people,
            state__in=[Pledge.State.ACTIVE, Pledge.State.CHARGED],
            project__state=Project.State.LIVE,
            project__deadline__gt=now,
        )
        .exclude(project_id__in=not_stored(Kind.PROJECT))
        .values("project_id")
        .annotate(at=Max("created_at"), actor=Max("backer_id"))
    )
    for project, at, actor in window(
        pledges, "at", Kind.PROJECT, "project_id", "at", "actor", id_field="project_id"
    ):
        found.append(Candidate(Kind.PROJECT, project, at, Reason.FRIEND_BACKED, actor))
    # A product of a big shop the reader follows comes from the shop (the closer reason).
    lines = (
        OrderLine.objects.filter(
            order__buyer_id__in=people,
            order__state__in=paid,
            order__paid_at__isnull=False,
            sku__product__is_published=True,
            sku__product__shop__status=Shop.Status.APPROVED,
        )
        .exclude(sku__product_id__in=not_stored(Kind.PRODUCT))
        .exclude(sku__product__shop_id__in=reader.big_shops)
        .values("sku__product_id")
        .annotate(at=Max("order__paid_at"), actor=Max("order__buyer_id"))
    )
    bought = [
        Candidate(Kind.PRODUCT, product, at, Reason.FRIEND_BOUGHT, actor)
        for product, at, actor in window(
            lines, "at", Kind.PRODUCT, "sku__product_id", "at", "actor", id_field="sku__product_id"
        )
    ]
    _say_where_bought(bought)
    return found + bought


def _say_where_bought(bought: list[Candidate]) -> None:
    """A purchase is said with a community of the product its buyer belongs to, as the fan-out
    says it ("王芳 in 茶友会 bought this"): one query for all of them."""
    from shoploop.catalog.models import Product
    from shoploop.communities.models import Membership

    if not bought:
        return
    where: dict[tuple[int, int], int] = {}
    for product, community, member in (
        Product.communities.through.objects.filter(
            product_id__in={c.item_id for c in bought},
            community__memberships__user_id__in={c.actor_id for c in bought},
            community__memberships__state=Membership.State.ACTIVE,
        )
        .order_by("community_id")
        .values_list("product_id", "community_id", "community__memberships__user_id")
    ):
        where.setdefault((product, member), community)
    for candidate in bought:
        candidate.community_id = where.get((candidate.item_id, candidate.actor_id))


# Which reason an item keeps when it reached the reader in several ways. A review of a followed
# shop's product by a followed person is said as the person's ("王芳, whom you follow, reviewed
# this"), as the fan-out writes it.
CLOSER_FIRST = {
    Reason.FOLLOWED_PERSON: 0,
    Reason.FOLLOWED_SHOP: 0.5,
    Reason.FRIEND_JOINED: 1,
    Reason.FRIEND_OPENED: 1,
    Reason.FRIEND_BOUGHT: 1,
    Reason.FRIEND_BARGAINING: 1,
    Reason.FRIEND_BACKED: 1,
    Reason.COMMUNITY: 2,
}


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per item (stored and merged may both hold it): the closer reason wins."""
    best: dict[tuple, Candidate] = {}
    for candidate in candidates:
        item = (candidate.kind, candidate.item_id)
        current = best.get(item)
        if current is None or CLOSER_FIRST[candidate.reason] < CLOSER_FIRST[current.reason]:
            best[item] = candidate
    return list(best.values())


# --- ranking -------------------------------------------------------------------------------------


def _rank(reader: Reader, candidates: list[Candidate]) -> None:
    """Give every candidate its ``rank_key`` (ranking.py): two bulk queries for engagement, one
    for friends of friends, whatever the number of candidates."""
    from shoploop.accounts.models import Follow
    from shoploop.content.models import Post
    from shoploop.deals.groups.models import Group

    post_ids = [c.item_id for c in candidates if c.kind == Kind.POST]
    group_ids = [c.item_id for c in candidates if c.kind == Kind.GROUP]
    posts = (
        {
            pk: ranking.engagement(likes=likes, comments=comments)
            for pk, likes, comments in Post.objects.filter(pk__in=post_ids).values_list(
                "pk", "like_count", "comment_count"
            )
        }
        if post_ids
        else {}
    )
    groups = (
        dict(Group.objects.filter(pk__in=group_ids).values_list("pk", "seats_taken"))
        if group_ids
        else {}
    )
    strangers = {
        c.actor_id for c in candidates if c.actor_id and c.actor_id not in reader.following
    }
    friends_of_friends = (
        set(
            Follow.objects.filter(
                follower_id__in=reader.following, followee_id__in=strangers
            ).values_list("followee_id", flat=True)
        )
        if strangers and reader.following
        else set()
    )
    for candidate in candidates:
        candidate.rank = ranking.rank_key(
            closeness=_closeness(reader, candidate, friends_of_friends),
            engagement=posts.get(candidate.item_id, 0)
            if candidate.kind == Kind.POST
            else groups.get(candidate.item_id, 0)
            if candidate.kind == Kind.GROUP
            else 0,
            at=candidate.at,
        )


def _closeness(reader: Reader, candidate: Candidate, friends_of_friends: set[int]) -> float:
    if candidate.actor_id in reader.following:
        return ranking.FOLLOW
    if candidate.reason == Reason.FOLLOWED_SHOP and candidate.shop_id in reader.shops:
        return ranking.FOLLOW
    if candidate.community_id in reader.communities:
        return ranking.COMMUNITY
    if candidate.actor_id in friends_of_friends:
        return ranking.FRIEND_OF_FRIEND
    return ranking.OTHER


# --- the page ----------------------------------------------------------------------------------


@dataclass
class FeedItem:
    kind: str
    obj: object  # the Post, Review, Group or Product
    reason: str
    reason_text: str
    at: datetime
    actor: object | None = None
    community: object | None = None
    shop: object | None = None
    count: int = 1  # friends behind an aggregated reason ("3 people you follow joined")

    @property
    def public_id(self) -> str:
        return self.obj.public_id


@dataclass
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None
    order: str


def feed_page(
    *, user, cursor: str | None = None, order: str = RANKED, limit: int | None = None
) -> FeedPage:
    """One page of ``user``'s home feed (see the module docstring)."""
    if order not in ORDERS:
        raise ValidationFailed(
            _("Unknown order; use ranked or latest."), code="bad_order", fields={"order": order}
        )
    limit = max(1, min(int(limit or DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE))
    position = decode_cursor(cursor, order=order)
    reader = reader_context(user)
    # Fetch more than a page: some candidates may be dropped as no longer visible.
    fetch = limit + limit // 2 + 5
    ranked = order == RANKED
    stored, stored_truncated = _stored(reader, position, fetch, ranked=ranked)
    merged, merged_truncated = _merged(reader, position, fetch, ranked=ranked)
    candidates = _unique(stored + merged)
    if ranked:
        _rank(reader, candidates)
        if position is not None:
            last = (position["r"], position["k"], position["i"])
            candidates = [c for c in candidates if c.ranked_key < last]
        candidates.sort(key=lambda c: c.ranked_key, reverse=True)
    else:
        candidates.sort(key=lambda c: c.key, reverse=True)
    examined = candidates[:fetch]
    shown = _visible_items(reader, examined, limit)
    # The next page starts after the last item shown when the page is full, else after the
    # last candidate examined (the ones skipped are not visible; never look at them again).
    anchor = shown[-1][0] if len(shown) == limit else (examined[-1] if examined else None)
    after = candidates.index(anchor) + 1 if anchor is not None else 0
    more = after < len(candidates) or stored_truncated or merged_truncated
    as_of = position["a"] if position and ranked else _micros(clock.now())
    next_cursor = _cursor_of(anchor, order, as_of) if anchor is not None and more else None
    items = [item for _candidate, item in shown]
    return FeedPage(items=items, next_cursor=next_cursor, order=order)


def _cursor_of(candidate: Candidate, order: str, as_of: int) -> str:
    data = {"o": order, "t": _micros(candidate.at), "k": candidate.kind, "i": candidate.item_id}
    if order == RANKED:
        data |= {"r": candidate.rank, "a": as_of}
    return encode_cursor(data)


# --- loading and filtering at read time --------------------------------------------------------


def _load(examined: list[Candidate]) -> dict[str, dict[int, object]]:
    """Every item of the page by kind, each kind in one query (plus its photos)."""
    from shoploop.catalog.models import Product
    from shoploop.content.models import Post, Review
    from shoploop.deals.bargains.models import Bargain
    from shoploop.deals.crowdfunding.models import Project
    from shoploop.deals.groups.models import Group

    ids: dict[str, list[int]] = {kind: [] for kind in Kind.values}
    for candidate in examined:
        ids[candidate.kind].append(candidate.item_id)
    querysets = {
        Kind.POST: Post.objects.select_related(
            "author", "community", "review", "review__product"
        ).prefetch_related("photos"),
        Kind.REVIEW: Review.objects.select_related("author", "product", "shop").prefetch_related(
            "photos"
        ),
        Kind.GROUP: Group.objects.select_related(
            "leader", "campaign", "campaign__shop", "campaign__sku", "campaign__sku__product"
        ),
        Kind.BARGAIN: Bargain.objects.select_related(
            "initiator", "campaign", "campaign__shop", "campaign__sku", "campaign__sku__product"
        ),
        Kind.PROJECT: Project.objects.select_related("shop"),
        Kind.PRODUCT: Product.objects.select_related("shop").prefetch_related("images", "skus"),
    }
    return {kind: querysets[kind].in_bulk(ids[kind]) if ids[kind] else {} for kind in Kind.values}


def _related(examined: list[Candidate]):
    """The people, communities and shops the reasons name, each in one query."""
    from shoploop.accounts.models import User
    from shoploop.catalog.models import Shop
    from shoploop.communities.models import Community

    people = {c.actor_id for c in examined if c.actor_id}
    communities = {c.community_id for c in examined if c.community_id}
    shops = {c.shop_id for c in examined if c.shop_id}
    return (
        User.objects.in_bulk(people) if people else {},
        Community.objects.in_bulk(communities) if communities else {},
        Shop.objects.in_bulk(shops) if shops else {},
    )


def _friends_in_groups(reader: Reader, group_ids: list[int]) -> dict[int, int]:
    """How many people the reader follows (who share their activity) hold a seat in each group."""
    from shoploop.deals.groups.models import Seat

    taken = [Seat.State.RESERVED, Seat.State.PAID]
    rows = Seat.objects.filter(group_id__in=group_ids, state__in=taken)
    return _friends_count(reader, rows, group_ids, "group_id", "user")


def _friends_backing(reader: Reader, project_ids: list[int]) -> dict[int, int]:
    """How many people the reader follows (who share their activity) back each project."""
    from shoploop.deals.crowdfunding.models import Pledge

    rows = Pledge.objects.filter(
        project_id__in=project_ids, state__in=[Pledge.State.ACTIVE, Pledge.State.CHARGED]
    )
    return _friends_count(reader, rows, project_ids, "project_id", "backer")


def _friends_count(reader: Reader, rows, ids: list[int], key: str, person: str) -> dict[int, int]:
    from django.db.models import Count

    if not ids or not reader.following:
        return {}
    counted = (
        rows.filter(
            **{f"{person}_id__in": reader.following},
            **{f"{person}__share_activity_with_followers": True},
        )
        .exclude(**{f"{person}_id__in": reader.blocked})
        .values(key)
        .annotate(n=Count(f"{person}_id", distinct=True))
    )
    return {row[key]: row["n"] for row in counted}


def _is_visible(reader: Reader, kind: str, obj, now: datetime) -> bool:
    from shoploop.catalog.models import Shop
    from shoploop.communities.models import Community
    from shoploop.content.models import Moderated, Review
    from shoploop.deals.bargains.models import Bargain
    from shoploop.deals.crowdfunding.models import Project
    from shoploop.deals.groups.models import Group

    if kind == Kind.POST:
        community = obj.community
        return (
            obj.state == Moderated.VISIBLE
            and obj.author.is_active
            and obj.author_id not in reader.blocked
            and community.state != Community.State.DISSOLVED
            and (community.visibility not in MEMBERS_ONLY or community.pk in reader.communities)
        )
    if kind == Kind.REVIEW:
        return obj.state == Review.State.VISIBLE and obj.author_id not in reader.blocked
    if kind == Kind.GROUP:
        return (
            obj.state == Group.State.OPEN
            and obj.deadline > now
            and obj.leader_id not in reader.blocked
        )
    if kind == Kind.BARGAIN:
        return obj.state == Bargain.State.ACTIVE and obj.deadline > now
    if kind == Kind.PROJECT:
        return obj.state == Project.State.LIVE and obj.deadline > now
    return obj.is_published and obj.shop.status == Shop.Status.APPROVED


def _visible_items(reader: Reader, examined: list[Candidate], limit: int) -> list[tuple]:
    """The first ``limit`` candidates that are still visible to the reader, as FeedItems."""
    from shoploop.feed.reasons import reason_text

    loaded = _load(examined)
    people, communities, shops = _related(examined)
    friends = {
        Kind.GROUP: _friends_in_groups(reader, list(loaded[Kind.GROUP])),
        Kind.PROJECT: _friends_backing(reader, list(loaded[Kind.PROJECT])),
    }
    now = clock.now()
    shared_reviews = {post.review_id for post in loaded[Kind.POST].values() if post.review_id}
    shown = []
    for candidate in examined:
        obj = loaded[candidate.kind].get(candidate.item_id)
        if obj is None or not _is_visible(reader, candidate.kind, obj, now):
            continue
        if candidate.kind == Kind.REVIEW and candidate.item_id in shared_reviews:
            continue  # the post that shares it says the same, in its community
        actor = people.get(candidate.actor_id)
        if candidate.reason in FRIEND_REASONS and (
            actor is None or not actor.share_activity_with_followers
        ):
            continue
        item = FeedItem(
            kind=candidate.kind,
            obj=obj,
            reason=candidate.reason,
            reason_text="",
            at=candidate.at,
            actor=actor,
            community=communities.get(candidate.community_id),
            shop=shops.get(candidate.shop_id),
            count=max(friends.get(candidate.kind, {}).get(candidate.item_id, 1), 1),
        )
        item.reason_text = reason_text(item)
        shown.append((candidate, item))
        if len(shown) == limit:
            break
    return shown


# --- signed out --------------------------------------------------------------------------------

WELL_REVIEWED_MIN_STARS = 4.0


def well_reviewed_products(*, limit: int = 6) -> list:
    """Products on sale whose visible reviews average at least 4 stars, most reviewed first
    (for visitors: what buyers liked, not what sellers paid for)."""
    from django.db.models import Avg, Count, Min, Sum

    from shoploop.catalog.models import Product, Shop
    from shoploop.content.models import Review

    rated = (
        Review.objects.filter(
            state=Review.State.VISIBLE,
            product__is_published=True,
            product__shop__status=Shop.Status.APPROVED,
        )
        .values("product_id")
        .annotate(average=Avg("stars"), count=Count("id"))
        .filter(average__gte=WELL_REVIEWED_MIN_STARS)
        .order_by("-count", "-average", "-product_id")[:limit]
    )
    ratings = {row["product_id"]: row for row in rated}
    if not ratings:
        return []
    active = Q(skus__is_active=True)
    products = (
        Product.objects.filter(pk__in=ratings)
        .select_related("shop")
        .prefetch_related("images")
        .annotate(
            min_price_fen=Min("skus__price_fen", filter=active),
            total_stock=Sum("skus__stock", filter=active),
        )
    )
    for product in products:
        product.rating_average = round(ratings[product.pk]["average"], 1)
        product.rating_count = ratings[product.pk]["count"]
    return sorted(products, key=lambda p: (-p.rating_count, -p.rating_average, -p.pk))
