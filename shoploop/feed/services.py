"""Fan-out on write: each subscriber (handlers.py) turns one event into timeline rows for every
reader it concerns, in bulk, and keeps each timeline bounded.

- A source (community, shop, person) whose audience is above ``FEED_BIG_SOURCE_THRESHOLD`` is
  not fanned out: it is recorded as a ``BigSource`` and its items are merged into each reader's
  page when it is read (selectors.py), so one post never costs a million inserts.
- Rows are unique per (reader, kind, item): a repeated event, or a second reason for the same
  item, updates the row in place (``INSERT … ON CONFLICT … DO UPDATE``).
- Trimming is cheap: a reader's timeline is trimmed only when a fan-out might have pushed it past
  the bound by ``TRIM_SLACK`` rows, by one DELETE of what is older than its N-th newest row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from shoploop.feed.models import BigSource, Kind, Reason, TimelineEntry

TRIM_SLACK = 50  # a timeline may hold up to N + TRIM_SLACK rows between two trims
INSERT_BATCH = 1000


@dataclass(frozen=True)
class Item:
    """What is fanned out: the item, when it happened, who did it, where."""

    kind: str
    item_id: int
    created_at: datetime
    actor_id: int | None = None
    community_id: int | None = None
    shop_id: int | None = None


@dataclass
class FanOut:
    """What one fan-out did (the benchmark prints it)."""

    inserted: int = 0
    skipped_big: int = 0


def timeline_size() -> int:
    return settings.FEED_TIMELINE_SIZE


def big_threshold() -> int:
    return settings.FEED_BIG_SOURCE_THRESHOLD


def _mark_big(source_kind: str, source_id: int, audience: int) -> None:
    BigSource.objects.update_or_create(
        source_kind=source_kind, source_id=source_id, defaults={"audience": audience}
    )


def _audience(source_kind: str, source_id: int, reader_ids) -> list[int]:
    """The readers of one source, or [] after marking the source big when there are more than
    the threshold. Reads at most threshold + 1 ids, so a huge source costs one bounded query;
    a source that shrank back under the threshold is unmarked and fanned out again."""
    limit = big_threshold()
    ids = list(reader_ids[: limit + 1])
    if len(ids) > limit:
        _mark_big(source_kind, source_id, len(ids))
        return []
    BigSource.objects.filter(source_kind=source_kind, source_id=source_id).delete()
    return ids


def write(item: Item, readers: dict[int, str]) -> int:
    """Put ``item`` into each reader's timeline with that reader's reason; returns the rows."""
    rows = [
        TimelineEntry(
            reader_id=reader_id,
            kind=item.kind,
            item_id=item.item_id,
            reason=reason,
            actor_id=item.actor_id,
            community_id=item.community_id,
            shop_id=item.shop_id,
            created_at=item.created_at,
        )
        for reader_id, reason in readers.items()
        if reader_id != item.actor_id
    ]
    if not rows:
        return 0
    TimelineEntry.objects.bulk_create(
        rows,
        batch_size=INSERT_BATCH,
        update_conflicts=True,
        unique_fields=["reader", "kind", "item_id"],
        update_fields=["reason", "actor", "community", "shop", "created_at"],
    )
    trim_readers([row.reader_id for row in rows])
    return len(rows)


def trim_readers(reader_ids: list[int]) -> None:
    """Cut every given timeline back to N rows, touching only those past N + TRIM_SLACK.

    One grouped count finds them (an index-only scan of the fanned-out readers), one DELETE
    per over-full reader (rare: once every TRIM_SLACK items)."""
    if not reader_ids:
        return
    limit = timeline_size()
    table = TimelineEntry._meta.db_table
    over: list[int] = []
    for start in range(0, len(reader_ids), INSERT_BATCH):
        chunk = reader_ids[start : start + INSERT_BATCH]
        marks = ", ".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT reader_id FROM {table} WHERE reader_id IN ({marks}) "
                f"GROUP BY reader_id HAVING COUNT(*) > %s",
                [*chunk, limit + TRIM_SLACK],
            )
            over.extend(row[0] for row in cursor.fetchall())
    for reader_id in over:
        trim(reader_id)


def trim(reader_id: int) -> int:
    """Keep the reader's newest N rows."""
    keep = (
        TimelineEntry.objects.filter(reader_id=reader_id)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[timeline_size() - 1 : timeline_size()]
    )
    boundary = list(keep)
    if not boundary:
        return 0
    at, pk = boundary[0]
    deleted, _ = (
        TimelineEntry.objects.filter(reader_id=reader_id)
        .filter(created_at__lte=at)
        .exclude(created_at=at, id__gte=pk)
        .delete()
    )
    return deleted


# --- audiences -------------------------------------------------------------------------------


def person_followers(user_id: int) -> list[int]:
    """Followers of a person, or [] when they are a big source (merged on read)."""
    from shoploop.accounts.models import Follow

    ids = Follow.objects.filter(followee_id=user_id).values_list("follower_id", flat=True)
    return _audience(BigSource.SourceKind.PERSON, user_id, ids)


def shop_followers(shop_id: int) -> list[int]:
    from shoploop.catalog.models import ShopFollow

    ids = ShopFollow.objects.filter(shop_id=shop_id).values_list("follower_id", flat=True)
    return _audience(BigSource.SourceKind.SHOP, shop_id, ids)


def community_members(community_id: int) -> list[int]:
    from shoploop.communities.models import Membership

    ids = Membership.objects.filter(
        community_id=community_id, state=Membership.State.ACTIVE
    ).values_list("user_id", flat=True)
    return _audience(BigSource.SourceKind.COMMUNITY, community_id, ids)


# --- what each event fans out ----------------------------------------------------------------


def fan_out_post(post) -> FanOut:
    """A post reaches the author's followers (reason: a person you follow) and the community's
    members (reason: in a community you joined); a follower who is also a member gets the
    follow reason, the closer one."""
    readers: dict[int, str] = {}
    members = community_members(post.community_id)
    for reader_id in members:
        readers[reader_id] = Reason.COMMUNITY
    followers = person_followers(post.author_id)
    for reader_id in followers:
        readers[reader_id] = Reason.FOLLOWED_PERSON
    item = Item(
        Kind.POST, post.pk, post.created_at, actor_id=post.author_id, community_id=post.community_id
    )
    return FanOut(inserted=write(item, readers))


def fan_out_review(review) -> FanOut:
    """A review reaches the followers of the shop whose product it reviews (粉丝) and the
    reviewer's followers; a reader who follows both gets the person's reason. Only buyers of a
    received line review (the content app), and only visible reviews are fanned out (a hidden
    one is skipped again when the page is read)."""
    readers = dict.fromkeys(shop_followers(review.shop_id), Reason.FOLLOWED_SHOP)
    for reader_id in person_followers(review.author_id):
        readers[reader_id] = Reason.FOLLOWED_PERSON
    item = Item(
        Kind.REVIEW, review.pk, review.created_at, actor_id=review.author_id, shop_id=review.shop_id
    )
    return FanOut(inserted=write(item, readers))


def fan_out_product(product) -> FanOut:
    """A newly published product reaches its shop's followers (粉丝)."""
    readers = dict.fromkeys(shop_followers(product.shop_id), Reason.FOLLOWED_SHOP)
    at = product.published_at or product.created_at
    item = Item(Kind.PRODUCT, product.pk, at, shop_id=product.shop_id)
    return FanOut(inserted=write(item, readers))


def fan_out_activity(*, actor, kind: str, item_id: int, reason: str, at, community_id=None):
    """A deal a person opened or joined, or something they bought, reaches their followers,
    and only if that person chose to share their activity (``share_activity_with_followers``).
    The flag is checked again when the feed is read, so turning it off hides past items too."""
    if actor is None or not actor.share_activity_with_followers:
        return FanOut()
    readers = dict.fromkeys(person_followers(actor.pk), reason)
    item = Item(kind, item_id, at, actor_id=actor.pk, community_id=community_id)
    return FanOut(inserted=write(item, readers))


def forget_reader_item(*, reader_id: int, kind: str, item_id: int) -> None:
    TimelineEntry.objects.filter(reader_id=reader_id, kind=kind, item_id=item_id).delete()
