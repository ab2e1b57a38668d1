"""Reads of posts, comments, reviews and reports, with the "may this person see it" checks."""

from django.db.models import Avg, Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from shoploop.communities.models import Community, Membership
from shoploop.content.models import (
    Comment,
    Favourite,
    Moderated,
    Mute,
    Post,
    PostLike,
    Report,
    Review,
)
from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied

MEMBERS_ONLY = (Community.Visibility.APPROVAL, Community.Visibility.INVITE)


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _membership(user, community: Community) -> Membership | None:
    if not _signed_in(user):
        return None
    return Membership.objects.filter(
        community=community, user=user, state=Membership.State.ACTIVE
    ).first()


def may_moderate(*, user, community: Community) -> bool:
    """The community's active owner and moderators, and platform operators."""
    if not _signed_in(user):
        return False
    if user.is_staff:
        return True
    membership = _membership(user, community)
    return membership is not None and membership.role in (
        Membership.Role.OWNER,
        Membership.Role.MODERATOR,
    )


def can_read_community(*, user, community: Community) -> bool:
    """Public communities' discussions are open to everyone; communities that need approval or
    an invite (members-only) show posts to their members and operators only."""
    if community.state == Community.State.DISSOLVED:
        return _signed_in(user) and user.is_staff
    if community.visibility not in MEMBERS_ONLY:
        return True
    if _signed_in(user) and user.is_staff:
        return True
    return _membership(user, community) is not None


def active_mute(*, user, community: Community) -> Mute | None:
    return Mute.objects.filter(community=community, user=user, until__gt=clock.now()).first()


def _post_queryset() -> QuerySet[Post]:
    return Post.objects.select_related("author", "community", "review").prefetch_related("photos")


def get_post(*, public_id: str, viewer) -> Post:
    """A post the viewer may read: others' hidden, removed and deleted posts are not found; the
    author sees their own hidden or removed post (with the reason), moderators see hidden ones."""
    post = _post_queryset().filter(public_id=str(public_id)[:12]).first()
    if post is None:
        raise NotFound(_("No such post."), code="post_not_found")
    require_readable_post(viewer=viewer, post=post)
    return post


def require_readable_post(*, viewer, post: Post) -> None:
    if not can_read_community(user=viewer, community=post.community):
        raise PermissionDenied(
            _("Only members can read this community's posts."), code="members_only"
        )
    if post.state == Moderated.VISIBLE:
        return
    own = _signed_in(viewer) and viewer.pk == post.author_id
    if post.state == Moderated.DELETED or not (
        own or may_moderate(user=viewer, community=post.community)
    ):
        raise NotFound(_("No such post."), code="post_not_found")


def community_posts(*, community: Community, viewer) -> QuerySet[Post]:
    """Visible posts, plus the viewer's own hidden/removed ones (so they see why) and, for
    moderators, hidden ones. Newest first; the caller orders pinned first on pages."""
    shown = Q(state=Moderated.VISIBLE)
    if _signed_in(viewer):
        shown |= Q(author=viewer, state__in=[Moderated.HIDDEN, Moderated.REMOVED])
        if may_moderate(user=viewer, community=community):
            shown |= Q(state=Moderated.HIDDEN)
    return _post_queryset().filter(shown, community=community).order_by("-created_at", "-pk")


def pinned_first(posts: QuerySet[Post]) -> QuerySet[Post]:
    return posts.order_by(
        Case(When(pinned_at__isnull=False, then=Value(0)), default=Value(1)),
        "-pinned_at",
        "-created_at",
        "-pk",
    )


def post_comments(*, post: Post, viewer) -> list[Comment]:
    """Top-level comments with their replies (oldest first). Removed or deleted comments stay
    as a placeholder when they have replies, so a thread keeps its shape."""
    comments = list(
        Comment.objects.filter(post=post, parent__isnull=True)
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "replies",
                queryset=Comment.objects.select_related("author").order_by("created_at", "pk"),
            )
        )
        .order_by("created_at", "pk")
    )
    me = viewer.pk if _signed_in(viewer) else None
    result = []
    for comment in comments:
        comment.shown_replies = [
            r for r in comment.replies.all() if r.is_visible or r.author_id == me
        ]
        if comment.is_visible or comment.author_id == me or comment.shown_replies:
            result.append(comment)
    return result


def get_comment(*, public_id: str) -> Comment:
    comment = (
        Comment.objects.select_related("post", "post__community", "post__author", "parent")
        .filter(public_id=str(public_id)[:12])
        .first()
    )
    if comment is None:
        raise NotFound(_("No such comment."), code="comment_not_found")
    return comment


def liked_post_ids(*, user, posts) -> set[int]:
    if not _signed_in(user):
        return set()
    return set(
        PostLike.objects.filter(user=user, post__in=[p.pk for p in posts]).values_list(
            "post_id", flat=True
        )
    )


def favourite_post_ids(*, user, posts) -> set[int]:
    if not _signed_in(user):
        return set()
    return set(
        Favourite.objects.filter(user=user, post__in=[p.pk for p in posts]).values_list(
            "post_id", flat=True
        )
    )


def is_favourite_product(*, user, product) -> bool:
    return _signed_in(user) and Favourite.objects.filter(user=user, product=product).exists()


def favourites_of(*, user) -> QuerySet[Favourite]:
    return (
        Favourite.objects.filter(user=user)
        .select_related("post", "post__community", "post__author", "product", "product__shop")
        .order_by("-created_at", "-pk")
    )


# ---------------------------------------------------------------------------------------------
# Reviews


def get_review(*, public_id: str, viewer=None) -> Review:
    """Hidden reviews are found only by their author and operators."""
    review = (
        Review.objects.select_related(
            "author", "product", "shop", "order_line", "order_line__order"
        )
        .prefetch_related("photos")
        .filter(public_id=str(public_id)[:12])
        .first()
    )
    if review is None:
        raise NotFound(_("No such review."), code="review_not_found")
    if review.state != Review.State.VISIBLE:
        allowed = _signed_in(viewer) and (viewer.is_staff or viewer.pk == review.author_id)
        if not allowed:
            raise NotFound(_("No such review."), code="review_not_found")
    return review


def product_reviews(*, product) -> QuerySet[Review]:
    """Visible reviews, those with photos first, then newest first."""
    return (
        Review.objects.filter(product=product, state=Review.State.VISIBLE)
        .select_related("author", "order_line")
        .prefetch_related("photos")
        .annotate(
            has_photos=Case(
                When(photo_count__gt=0, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-has_photos", "-created_at", "-pk")
    )


def _rating(reviews: QuerySet[Review]) -> dict:
    visible = reviews.filter(state=Review.State.VISIBLE)
    numbers = visible.aggregate(
        count=Count("pk"),
        average=Avg("stars"),
        **{f"s{n}": Count("pk", filter=Q(stars=n)) for n in range(1, 6)},
    )
    count = numbers["count"]
    return {
        "count": count,
        # One decimal, as shown (4.7); None when nobody reviewed yet.
        "average": round(float(numbers["average"]), 1) if count else None,
        "distribution": {n: numbers[f"s{n}"] for n in range(5, 0, -1)},
    }


def product_rating(*, product) -> dict:
    """Average stars, count and how many gave each number of stars (visible reviews)."""
    return _rating(Review.objects.filter(product=product))


def shop_rating(*, shop) -> dict:
    return _rating(Review.objects.filter(shop=shop))


def lines_awaiting_review(*, user):
    """The buyer's received order lines without a review yet (待评价), newest receipt first."""
    from shoploop.orders.models import Order, OrderLine

    if not _signed_in(user):
        return OrderLine.objects.none()
    return (
        OrderLine.objects.filter(
            order__buyer=user,
            order__state__in=[Order.State.RECEIVED, Order.State.COMPLETED],
            order__received_at__isnull=False,
            review__isnull=True,
        )
        .exclude(product_public_id="")
        .select_related("order", "order__shop")
        .order_by("-order__received_at", "pk")
    )


def reviews_by(*, user) -> QuerySet[Review]:
    return (
        Review.objects.filter(author=user)
        .select_related("product", "order_line")
        .prefetch_related("photos")
        .order_by("-created_at")
    )


# ---------------------------------------------------------------------------------------------
# Reports


def report_queue(*, viewer, community: Community | None = None) -> QuerySet[Report]:
    """Open reports the viewer may handle: a community's for its moderators; everything
    (including reviews, which belong to no community) for operators."""
    reports = Report.objects.filter(state=Report.State.OPEN).select_related(
        "reporter", "community", "post", "post__author", "comment", "comment__author", "review"
    )
    if community is not None:
        if not may_moderate(user=viewer, community=community):
            raise PermissionDenied()
        return reports.filter(community=community).order_by("created_at", "pk")
    if not (_signed_in(viewer) and viewer.is_staff):
        raise PermissionDenied()
    return reports.order_by("created_at", "pk")


def get_report(*, public_id: str) -> Report:
    report = (
        Report.objects.select_related("community", "post", "comment", "comment__post", "review")
        .filter(public_id=str(public_id)[:12])
        .first()
    )
    if report is None:
        raise NotFound(_("No such report."), code="report_not_found")
    return report


def comments_of(*, post: Post) -> QuerySet[Comment]:
    """Every comment and reply of a post (for the API; text of removed ones is not shown)."""
    return Comment.objects.filter(post=post).select_related("author", "post", "parent")


def may_post(*, user, community: Community) -> bool:
    """Would ``create_post`` let this person post here now (for showing the form)?"""
    if not _signed_in(user) or community.state != Community.State.ACTIVE:
        return False
    return (
        _membership(user, community) is not None
        and active_mute(user=user, community=community) is None
    )


def communities_to_share(*, user) -> list[Community]:
    """Active communities the person is an active member of (where a review can be shared)."""
    if not _signed_in(user):
        return []
    return list(
        Community.objects.filter(
            memberships__user=user,
            memberships__state=Membership.State.ACTIVE,
            state=Community.State.ACTIVE,
        ).order_by("name")
    )


def visible_shares(*, review: Review, viewer) -> list[Post]:
    """The posts sharing this review that the viewer may read."""
    return [
        post
        for post in review.shares.filter(state=Moderated.VISIBLE).select_related("community")
        if can_read_community(user=viewer, community=post.community)
    ]


# ---------------------------------------------------------------------------------------------
# Profiles and search: posts and reviews across communities, as one viewer may see them


def readable_posts(*, viewer) -> QuerySet[Post]:
    """Visible posts the viewer may read anywhere: posts of public communities, and of
    members-only ones where the viewer is an active member (operators read all). Hidden,
    removed and deleted posts, and posts of dissolved communities, are left out; so are posts by
    people who blocked the viewer or whom the viewer blocked."""
    posts = _post_queryset().filter(state=Moderated.VISIBLE)
    if _signed_in(viewer) and viewer.is_staff:
        return posts
    posts = posts.exclude(community__state=Community.State.DISSOLVED)
    readable = ~Q(community__visibility__in=MEMBERS_ONLY)
    if _signed_in(viewer):
        member_of = Membership.objects.filter(user=viewer, state=Membership.State.ACTIVE)
        readable |= Q(community__in=member_of.values("community"))
        posts = posts.exclude(author__in=_blocked_people(viewer))
    return posts.filter(readable)


def _blocked_people(viewer) -> list[int]:
    from shoploop.accounts.selectors import blocked_ids

    return list(blocked_ids(viewer)) if _signed_in(viewer) else []


def _blocked_between(viewer, person) -> bool:
    from shoploop.accounts.selectors import blocked_either_way

    return _signed_in(viewer) and blocked_either_way(viewer, person)


def posts_by(*, author, viewer) -> QuerySet[Post]:
    """A person's posts for their profile, newest first: only what the viewer may read, and
    nothing at all when either of them blocked the other."""
    if _blocked_between(viewer, author):
        return Post.objects.none()
    return readable_posts(viewer=viewer).filter(author=author).order_by("-created_at", "-pk")


def visible_reviews(*, viewer) -> QuerySet[Review]:
    """Reviews anyone may read (not hidden by an operator), without those of blocked people."""
    reviews = (
        Review.objects.filter(state=Review.State.VISIBLE)
        .select_related("author", "product", "shop", "order_line")
        .prefetch_related("photos")
    )
    if _signed_in(viewer):
        reviews = reviews.exclude(author__in=_blocked_people(viewer))
    return reviews


def public_reviews_by(*, author, viewer) -> QuerySet[Review]:
    """A person's visible reviews for their profile, newest first; none across a block."""
    if _blocked_between(viewer, author):
        return Review.objects.none()
    return visible_reviews(viewer=viewer).filter(author=author).order_by("-created_at", "-pk")


# Search is a case-insensitive substring match (``icontains``): the same answers on SQLite and
# PostgreSQL, and Chinese needs no word splitting. See docs/content.md → Search for why no
# full-text or trigram index yet.
SEARCH_QUERY_MAX_LENGTH = 100


def search_posts(*, query: str, viewer) -> QuerySet[Post]:
    """Posts whose text contains ``query`` among those the viewer may read, newest first."""
    query = (query or "").strip()[:SEARCH_QUERY_MAX_LENGTH]
    if not query:
        return Post.objects.none()
    posts = readable_posts(viewer=viewer).filter(body__icontains=query)
    return posts.order_by("-created_at", "-pk")


def search_reviews(*, query: str, viewer) -> QuerySet[Review]:
    """Visible reviews whose text, follow-up or product title contains ``query``, newest first."""
    query = (query or "").strip()[:SEARCH_QUERY_MAX_LENGTH]
    if not query:
        return Review.objects.none()
    matches = (
        Q(body__icontains=query)
        | Q(follow_up_body__icontains=query)
        | Q(product__title__icontains=query)
    )
    return visible_reviews(viewer=viewer).filter(matches).order_by("-created_at", "-pk")
