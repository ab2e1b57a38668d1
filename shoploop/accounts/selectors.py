"""Reads of the accounts app that other apps may use."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from shoploop.accounts import sms
from shoploop.accounts.models import ApiToken, Block, Follow, User
from shoploop.core.errors import NotFound


def latest_debug_code(phone: str) -> str | None:
    """The last code the console SMS provider sent to ``phone``; pages show it only in DEBUG."""
    return sms.latest_debug_code(phone)


def active_user_by_public_id(public_id: str) -> User:
    """A profile anyone may look at; banned accounts are not shown."""
    user = User.objects.filter(public_id=str(public_id), is_active=True).first()
    if user is None:
        raise NotFound()
    return user


def is_blocked(*, blocker: User, user: User) -> bool:
    """Did ``blocker`` block ``user``?"""
    return Block.objects.filter(blocker=blocker, blocked=user).exists()


def blockers_among(user: User, candidate_ids) -> set[int]:
    """Which of ``candidate_ids`` blocked ``user`` (one read for a whole audience)."""
    if user is None:
        return set()
    rows = Block.objects.filter(blocked=user, blocker_id__in=list(candidate_ids))
    return set(rows.values_list("blocker_id", flat=True))


def blocked_either_way(a: User, b: User) -> bool:
    if a is None or b is None or not a.is_authenticated or not b.is_authenticated:
        return False
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def following_ids(user: User) -> set[int]:
    """Database ids of the people ``user`` follows (for feeds and 'following' flags)."""
    return set(Follow.objects.filter(follower=user).values_list("followee_id", flat=True))


def blocked_ids(user: User) -> set[int]:
    """Ids of people ``user`` blocked or was blocked by: content between them stays hidden."""
    pairs = Block.objects.filter(Q(blocker=user) | Q(blocked=user)).values_list(
        "blocker_id", "blocked_id"
    )
    return {other for pair in pairs for other in pair if other != user.pk}


def follower_links(user: User) -> QuerySet[Follow]:
    """Who follows ``user``, newest first (``link.follower`` is the person)."""
    return (
        Follow.objects.filter(followee=user, follower__is_active=True)
        .select_related("follower")
        .order_by("-created_at", "-pk")
    )


def following_links(user: User) -> QuerySet[Follow]:
    """Whom ``user`` follows, newest first (``link.followee`` is the person)."""
    return (
        Follow.objects.filter(follower=user, followee__is_active=True)
        .select_related("followee")
        .order_by("-created_at", "-pk")
    )


def followers(user: User) -> QuerySet[User]:
    return User.objects.filter(following_links__followee=user, is_active=True)


def followed_users(user: User) -> QuerySet[User]:
    return User.objects.filter(follower_links__follower=user, is_active=True)


@dataclass(frozen=True)
class ProfileSummary:
    user: User
    follower_count: int
    following_count: int
    is_self: bool
    viewer_follows: bool
    viewer_blocked: bool  # the viewer blocked this person
    blocks_viewer: bool  # this person blocked the viewer


def profile_summary(*, user: User, viewer) -> ProfileSummary:
    signed_in = bool(viewer and viewer.is_authenticated)
    is_self = signed_in and viewer.pk == user.pk
    other = signed_in and not is_self
    return ProfileSummary(
        user=user,
        follower_count=follower_links(user).count(),
        following_count=following_links(user).count(),
        is_self=is_self,
        viewer_follows=other and Follow.objects.filter(follower=viewer, followee=user).exists(),
        viewer_blocked=other and is_blocked(blocker=viewer, user=user),
        blocks_viewer=other and is_blocked(blocker=user, user=viewer),
    )


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")
