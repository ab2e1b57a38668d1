"""The home feed: a reader's first page and next page at one world size and at ten times it, and
the cost of one post's fan-out for an author with 10 and with 10,000 followers.

    python -m bench.feed            # 10,000 users, 200 communities, 100,000 posts; then 10×
    python -m bench.feed --quick    # 1,000 users, 20 communities, 10,000 posts; then 10×

On a throwaway PostgreSQL database (``bench.support.throwaway_database``) it builds the world
with bulk inserts (users and communities by ``bulk_create``; memberships, follows and posts by
``INSERT … SELECT generate_series``): each user joins three communities and follows ten
people; one community has a third of all users as members, more than
``FEED_BIG_SOURCE_THRESHOLD`` (at ``--quick`` the threshold is lowered to a fifth of the users
so it is big there too), so its posts are merged on read. Posts spread over the last 30 days.
The readers are members of the big community; each reader's stored timeline holds the newest
``FEED_TIMELINE_SIZE`` posts of their other communities and of the people they follow (what
fan-out would have written; written here by one ``INSERT … SELECT`` per reader because fanning
out 100,000 posts one by one is not what is measured).

Measured through ``feed.selectors.feed_page`` (the code the page and the API call), ranked
order, 20 items: the first page and the next page by its cursor, ``--rounds`` times per reader
after one round not counted (which warms the cache, as a live server's is); p50 and p99 in
milliseconds. Then the world grows to ten times its users, communities and posts
(the same readers, timelines rebuilt) and the same is measured again. ``ratio`` = p99 of the
first page at 10× ÷ at 1× (target ≤ 1.5). The latest order is measured too (detail lines).

Fan-out (``feed.services.fan_out_post``, the subscriber's work for one post, in its
transaction): an author with 10 followers and one with 10,000. With the default threshold the
10,000-follower author is a big source and is not fanned out (``fanout_10k_ms``: the cost of
finding that out); ``fanout_10k_written_ms`` is the same post with the threshold raised so that
10,000 rows are written. Also printed: the SQL statements of a page of 10 and of 30 (equal).

The last line is ``feed: key=value … ratio=…``.

Time: on the shared 2-core test machine (load 6–7) the --quick run took about three minutes, 44–88 s
of it growing the world to 10× (90,000 posts, 9,000 users and their memberships and follows). The
default run (10× = 1,000,000 posts, 100,000 users, 1,000,000 follows) was not run there; scaling
from the quick run, expect its world building to take 10–15 minutes on such a machine. Pass
smaller ``--users/--communities/--posts`` if that is too long.
"""

import random
import time

from bench.support import arguments, summary, throwaway_database

FOLLOWS_PER_USER = 10
COMMUNITIES_PER_USER = 3
PAGE = 20


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _sql(statement: str, params=()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _add_users(count: int, start: int) -> None:
    from shoploop.accounts.models import User

    User.objects.bulk_create(
        (
            User(phone=f"+861{start + i:010d}", display_name=f"读者{start + i}", password="!")
            for i in range(count)
        ),
        batch_size=5_000,
    )


def _add_communities(count: int, start: int) -> None:
    from shoploop.accounts.models import User
    from shoploop.communities.models import Community

    owner = User.objects.order_by("pk").first()
    Community.objects.bulk_create(
        (Community(name=f"茶友会{start + i}", owner=owner) for i in range(count)), batch_size=5_000
    )


def _add_memberships(big_id: int) -> None:
    """Each user (new ones only: ON CONFLICT) in three communities; a third of them also in the
    big one."""
    _sql(
        """
        INSERT INTO communities_membership (public_id, community_id, user_id, role, state,
                                            created_at, updated_at)
        SELECT substr(md5(random()::text || u.id || '.' || k), 1, 12),
               c.ids[1 + ((hashint8(u.id * 7 + k) & 2147483647) %% array_length(c.ids, 1))],
               u.id, 'member', 'active', now(), now()
        FROM accounts_user u
        CROSS JOIN generate_series(0, %s) k
        CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM communities_community) c
        ON CONFLICT DO NOTHING
        """,
        [COMMUNITIES_PER_USER - 1],
    )
    _sql(
        """
        INSERT INTO communities_membership (public_id, community_id, user_id, role, state,
                                            created_at, updated_at)
        SELECT substr(md5(random()::text || id), 1, 12), %s, id, 'member', 'active', now(),
               now()
        FROM accounts_user WHERE id %% 3 = 0
        ON CONFLICT DO NOTHING
        """,
        [big_id],
    )
    _sql(
        """
        UPDATE communities_community c SET member_count = m.n
        FROM (SELECT community_id, count(*) n FROM communities_membership GROUP BY 1) m
        WHERE m.community_id = c.id
        """
    )


def _add_follows() -> None:
    _sql(
        """
        INSERT INTO accounts_follow (follower_id, followee_id, created_at)
        SELECT u.id, b.lo + (hashint8(u.id * 31 + k) & 2147483647) %% (b.hi - b.lo + 1), now()
        FROM accounts_user u
        CROSS JOIN generate_series(0, %s) k
        CROSS JOIN (SELECT min(id) lo, max(id) hi FROM accounts_user) b
        WHERE b.lo + (hashint8(u.id * 31 + k) & 2147483647) %% (b.hi - b.lo + 1) <> u.id
        ON CONFLICT DO NOTHING
        """,
        [FOLLOWS_PER_USER - 1],
    )


def _add_posts(count: int, big_id: int) -> None:
    """``count`` posts over the last 30 days by random users in random communities (one in
    five in the big community)."""
    _sql(
        """
        INSERT INTO content_post (public_id, community_id, author_id, body, card_kind,
            card_public_id, card_title, state, moderation_reason, like_count, comment_count,
            created_at)
        SELECT substr(md5(random()::text || n::text), 1, 12),
               CASE WHEN n %% 5 = 0 THEN %s
                    ELSE c.ids[1 + ((hashint8(n) & 2147483647) %% array_length(c.ids, 1))] END,
               u.lo + ((hashint8(n * 17) & 2147483647) %% (u.hi - u.lo + 1)),
               '好茶 #' || n, '', '', '', 'visible', '',
               (hashint8(n * 3) & 2147483647) %% 40, (hashint8(n * 5) & 2147483647) %% 10,
               now() - ((hashint8(n * 11) & 2147483647) %% (30 * 86400)) * interval '1 second'
        FROM generate_series(1, %s) n
        CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM communities_community) c
        CROSS JOIN (SELECT min(id) lo, max(id) hi FROM accounts_user) u
        """,
        [big_id, count],
    )
    _sql("ANALYZE")


def _build_timelines(readers: list[int], big_id: int) -> None:
    """What fan-out would have written for each reader: the newest N posts of their (not big)
    communities and of the people they follow."""
    from django.conf import settings

    from shoploop.feed.models import TimelineEntry

    TimelineEntry.objects.filter(reader_id__in=readers).delete()
    for reader in readers:
        _sql(
            """
            INSERT INTO feed_timelineentry (reader_id, kind, item_id, reason, actor_id,
                                            community_id, created_at)
            SELECT %s, 'post', p.id,
                   CASE WHEN f.followee_id IS NULL THEN 'community' ELSE 'followed_person' END,
                   p.author_id, p.community_id, p.created_at
            FROM content_post p
            LEFT JOIN accounts_follow f ON f.follower_id = %s AND f.followee_id = p.author_id
            WHERE p.author_id <> %s AND p.state = 'visible' AND (
                p.community_id IN (SELECT community_id FROM communities_membership
                                   WHERE user_id = %s AND state = 'active' AND community_id <> %s)
                OR p.author_id IN (SELECT followee_id FROM accounts_follow WHERE follower_id = %s))
            ORDER BY p.created_at DESC LIMIT %s
            ON CONFLICT DO NOTHING
            """,
            [reader, reader, reader, reader, big_id, reader, settings.FEED_TIMELINE_SIZE],
        )
    _sql("ANALYZE feed_timelineentry")


def _measure(readers, rounds: int, order: str) -> dict[str, list[float]]:
    from shoploop.accounts.models import User
    from shoploop.feed.selectors import feed_page

    users = list(User.objects.filter(pk__in=readers))
    for user in users:  # a round not counted: every reader's rows in the cache, as in service
        feed_page(user=user, order=order, limit=PAGE)
    first, following = [], []
    for _round in range(rounds):
        for user in users:
            started = time.perf_counter()
            page = feed_page(user=user, order=order, limit=PAGE)
            first.append((time.perf_counter() - started) * 1000)
            assert len(page.items) == PAGE, len(page.items)
            started = time.perf_counter()
            feed_page(user=user, order=order, limit=PAGE, cursor=page.next_cursor)
            following.append((time.perf_counter() - started) * 1000)
    return {"first": first, "next": following}


def _queries_per_page(reader: int) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shoploop.accounts.models import User
    from shoploop.feed.selectors import feed_page

    user = User.objects.get(pk=reader)
    counts = []
    for limit in (10, 30):
        with CaptureQueriesContext(connection) as queries:
            feed_page(user=user, limit=limit)
        counts.append(len(queries))
    return counts[0], counts[1]


def _fan_out_ms(followers: int, *, threshold: int) -> float:
    """Time ``fan_out_post`` of one new post by an author with ``followers`` followers."""
    from django.conf import settings
    from django.db import transaction

    from shoploop.accounts.models import Follow, User
    from shoploop.communities.models import Community
    from shoploop.content.models import Post
    from shoploop.feed import services

    author = User.objects.create(phone=f"+8619{followers:04d}{threshold % 10**5:05d}", password="!")
    fans = list(User.objects.exclude(pk=author.pk).values_list("pk", flat=True)[:followers])
    assert len(fans) == followers, "the world has too few users for this many followers"
    Follow.objects.bulk_create(
        (Follow(follower_id=fan, followee=author) for fan in fans), batch_size=5_000
    )
    # A small community of its own, so only the followers are fanned out to.
    community = Community.objects.create(name=f"小群{followers}", owner=author, member_count=1)
    post = Post.objects.create(community=community, author=author, body="新茶到了")
    saved = settings.FEED_BIG_SOURCE_THRESHOLD
    settings.FEED_BIG_SOURCE_THRESHOLD = threshold
    try:
        started = time.perf_counter()
        with transaction.atomic():
            services.fan_out_post(post)
        return (time.perf_counter() - started) * 1000
    finally:
        settings.FEED_BIG_SOURCE_THRESHOLD = saved


def _grow(users: int, communities: int, posts: int, big_id: int) -> None:
    from shoploop.accounts.models import User
    from shoploop.communities.models import Community

    started = time.perf_counter()
    _add_users(users - User.objects.count(), User.objects.count())
    _add_communities(communities - Community.objects.count(), Community.objects.count())
    _add_memberships(big_id)
    _add_follows()
    _add_posts(posts, big_id)
    print(
        f"  world: {User.objects.count():,} users, {Community.objects.count():,} communities, "
        f"+{posts:,} posts in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _report(label: str, figures: dict[str, list[float]]) -> dict[str, float]:
    out = {}
    for key, values in figures.items():
        out[f"{key}_p50"] = _percentile(values, 0.5)
        out[f"{key}_p99"] = _percentile(values, 0.99)
    print(
        f"  {label}: first page p50 {out['first_p50']:.1f} ms p99 {out['first_p99']:.1f} ms; "
        f"next page p50 {out['next_p50']:.1f} ms p99 {out['next_p99']:.1f} ms",
        flush=True,
    )
    return out


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        users=(int, None, "users at 1× (default 10,000; quick 1,000)"),
        communities=(int, None, "communities at 1× (default 200; quick 20)"),
        posts=(int, None, "posts at 1× (default 100,000; quick 10,000)"),
        readers=(int, None, "readers measured (default 100; quick 20)"),
        rounds=(int, None, "times each reader opens the feed (default 3)"),
    )
    users = args.users or (1_000 if args.quick else 10_000)
    communities = args.communities or (20 if args.quick else 200)
    posts = args.posts or (10_000 if args.quick else 100_000)
    rounds = args.rounds or 3
    reader_count = args.readers or (20 if args.quick else 100)
    with throwaway_database("feed"):
        from django.conf import settings

        from shoploop.communities.models import Community, Membership
        from shoploop.feed import services

        if args.quick:
            settings.FEED_BIG_SOURCE_THRESHOLD = min(settings.FEED_BIG_SOURCE_THRESHOLD, users // 5)
        print(
            f"feed: {users:,} users, {communities} communities, {posts:,} posts, then 10×; "
            f"timeline N={settings.FEED_TIMELINE_SIZE}, big above "
            f"{settings.FEED_BIG_SOURCE_THRESHOLD}",
            flush=True,
        )
        _add_users(users, 0)
        _add_communities(communities, 0)
        big_id = Community.objects.order_by("pk").values_list("pk", flat=True).first()
        _grow(users, communities, posts, big_id)
        services.community_members(big_id)  # marks the big community (merged on read)
        members = list(
            Membership.objects.filter(community_id=big_id).values_list("user_id", flat=True)
        )
        readers = random.Random(7).sample(members, reader_count)
        _build_timelines(readers, big_id)
        queries = _queries_per_page(readers[0])
        print(f"  SQL statements per page: {queries[0]} for 10 items, {queries[1]} for 30")
        small = _report("1× ranked", _measure(readers, rounds, "ranked"))
        _report("1× latest", _measure(readers, rounds, "latest"))

        _grow(10 * users, 10 * communities, 9 * posts, big_id)
        services.community_members(big_id)
        _build_timelines(readers, big_id)
        large = _report("10× ranked", _measure(readers, rounds, "ranked"))
        _report("10× latest", _measure(readers, rounds, "latest"))

        # 10,000 followers (fewer in a --quick world of under 10,000 other users).
        many = min(10_000, 10 * users - 10)
        fan_10 = _fan_out_ms(10, threshold=settings.FEED_BIG_SOURCE_THRESHOLD)
        fan_10k = _fan_out_ms(many, threshold=settings.FEED_BIG_SOURCE_THRESHOLD)
        fan_10k_written = _fan_out_ms(many, threshold=2 * many)
        print(
            f"  fan-out of one post: 10 followers {fan_10:.1f} ms; {many:,} followers "
            f"{fan_10k:.1f} ms (big: merged on read), {fan_10k_written:.1f} ms written",
            flush=True,
        )
    summary(
        "feed",
        users=users,
        posts=posts,
        first_p50_ms=small["first_p50"],
        first_p99_ms=small["first_p99"],
        next_p50_ms=small["next_p50"],
        next_p99_ms=small["next_p99"],
        first_p50_10x_ms=large["first_p50"],
        first_p99_10x_ms=large["first_p99"],
        next_p50_10x_ms=large["next_p50"],
        next_p99_10x_ms=large["next_p99"],
        fanout_10_ms=fan_10,
        fanout_10k_ms=fan_10k,
        fanout_10k_written_ms=fan_10k_written,
        fanout_big_followers=many,
        queries_10=queries[0],
        queries_30=queries[1],
        ratio=large["first_p99"] / small["first_p99"],
    )


if __name__ == "__main__":
    main()
