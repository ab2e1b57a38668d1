"""Reads for communities: lookups, member lists, discovery ("communities for you") and search."""

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.communities.models import (
    Community,
    CommunityInvite,
    CommunityLeader,
    InterestTag,
    Membership,
)
from shoploop.core import clock
from shoploop.core.errors import NotFound

SEARCH_QUERY_MAX_LENGTH = 100
ROLE_ORDER = {Membership.Role.OWNER: 0, Membership.Role.MODERATOR: 1, Membership.Role.MEMBER: 2}


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


# ---------------------------------------------------------------------------------------------
# Lookups


def get_community(*, public_id: str) -> Community:
    community = (
        Community.objects.select_related("owner")
        .prefetch_related("tags")
        .filter(public_id=public_id)
        .first()
    )
    if community is None:
        raise NotFound(_("This community does not exist."))
    return community


def membership_of(*, user, community: Community) -> Membership | None:
    """The person's row in any state (active, pending, banned, left…), or None."""
    if not _signed_in(user):
        return None
    return Membership.objects.filter(community=community, user=user).first()


def _active_membership(*, user, community: Community) -> Membership | None:
    membership = membership_of(user=user, community=community)
    return membership if membership and membership.state == Membership.State.ACTIVE else None


def is_member(*, user, community: Community) -> bool:
    """An active member (any role). Banned, pending and former members are not."""
    return _active_membership(user=user, community=community) is not None


def is_moderator(*, user, community: Community) -> bool:
    """An active moderator or the owner."""
    membership = _active_membership(user=user, community=community)
    return membership is not None and membership.role in (
        Membership.Role.OWNER,
        Membership.Role.MODERATOR,
    )


def is_banned(*, user, community: Community) -> bool:
    membership = membership_of(user=user, community=community)
    return membership is not None and membership.state == Membership.State.BANNED


def is_blocked_by_owner(*, community: Community, user) -> bool:
    """Has the community's owner blocked this person?"""
    try:
        from shoploop.accounts.selectors import is_blocked
    except ImportError:
        # Until the accounts app ships its selector, read the Block table directly.
        from shoploop.accounts.models import Block

        return Block.objects.filter(blocker_id=community.owner_id, blocked=user).exists()
    return is_blocked(blocker=community.owner, user=user)


def can_see_members(*, user, community: Community) -> bool:
    """Invite-only communities show their member list to members (and operators) only."""
    if community.visibility != Community.Visibility.INVITE:
        return True
    if _signed_in(user) and user.is_staff:
        return True
    return is_member(user=user, community=community)


def active_members(*, community: Community) -> QuerySet[Membership]:
    return Membership.objects.filter(
        community=community, state=Membership.State.ACTIVE
    ).select_related("user")


def members_by_role(*, community: Community) -> list[Membership]:
    """Owner first, then moderators, then members by join date (for the members page)."""
    return sorted(
        active_members(community=community).order_by("created_at"),
        key=lambda m: ROLE_ORDER.get(m.role, 9),
    )


def members_for_moderation(*, community: Community, query: str = "") -> QuerySet[Membership]:
    """Active members, owner first, then moderators, then members by join date, as a queryset a
    page can paginate. ``query`` finds a name (any part) or the last digits of a phone number."""
    members = active_members(community=community)
    query = query.strip()
    if query:
        match = Q(user__display_name__icontains=query)
        if query.isdigit():
            match |= Q(user__phone__endswith=query)
        members = members.filter(match)
    role_rank = Case(
        *[When(role=role, then=Value(rank)) for role, rank in ROLE_ORDER.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    return members.order_by(role_rank, "created_at", "pk")


def pending_requests(*, community: Community) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(community=community, state=Membership.State.PENDING)
        .select_related("user")
        .order_by("created_at")
    )


def banned_members(*, community: Community) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(community=community, state=Membership.State.BANNED)
        .select_related("user")
        .order_by("-updated_at")
    )


def invites_of(*, community: Community) -> QuerySet[CommunityInvite]:
    return (
        CommunityInvite.objects.filter(community=community)
        .select_related("created_by", "community")
        .order_by("-created_at")
    )


def get_invite(*, community: Community, public_id: str) -> CommunityInvite:
    invite = invites_of(community=community).filter(public_id=public_id).first()
    if invite is None:
        raise NotFound(_("This invite link does not exist."))
    return invite


def invite_by_code(*, code: str) -> CommunityInvite:
    invite = (
        CommunityInvite.objects.select_related("community", "community__owner")
        .filter(code=str(code)[:64])
        .first()
    )
    if invite is None:
        raise NotFound(_("This invite link does not exist."), code="invite_not_found")
    return invite


def invite_is_usable(invite: CommunityInvite) -> bool:
    return (
        invite.revoked_at is None
        and invite.expires_at > clock.now()
        and (invite.max_uses is None or invite.use_count < invite.max_uses)
    )


# ---------------------------------------------------------------------------------------------
# Discovery


def discoverable_communities() -> QuerySet[Community]:
    """Active communities a stranger may find: public and approval-required ones."""
    return (
        Community.objects.filter(state=Community.State.ACTIVE)
        .exclude(visibility=Community.Visibility.INVITE)
        .select_related("owner")
        .prefetch_related("tags")
    )


def popular_communities(*, limit: int = 20, exclude_ids=()) -> list[Community]:
    return list(
        discoverable_communities()
        .exclude(pk__in=list(exclude_ids))
        .order_by("-member_count", "-created_at")[:limit]
    )


def my_communities(*, user) -> list[Community]:
    if not _signed_in(user):
        return []
    return list(
        Community.objects.filter(
            memberships__user=user,
            memberships__state=Membership.State.ACTIVE,
        )
        .exclude(state=Community.State.DISSOLVED)
        .select_related("owner")
        .prefetch_related("tags")
        .order_by("-member_count", "-created_at")
    )


def public_communities_of(*, user) -> QuerySet[Community]:
    """The active public communities a person is an active member of: what their profile shows
    (membership of members-only communities is not told to strangers)."""
    return Community.objects.filter(
        memberships__user=user,
        memberships__state=Membership.State.ACTIVE,
        state=Community.State.ACTIVE,
        visibility=Community.Visibility.PUBLIC,
    ).order_by("-member_count", "name")


@dataclass
class Suggestion:
    community: Community
    reason: str
    kind: str  # "followed", "tags" or "popular"
    score: int = 0
    reasons: list[str] = field(default_factory=list)


def _followed_user_ids(user) -> list[int]:
    from shoploop.accounts.models import Follow

    return list(Follow.objects.filter(follower=user).values_list("followee_id", flat=True))


def _owners_blocking(user) -> list[int]:
    from shoploop.accounts.models import Block

    return list(Block.objects.filter(blocked=user).values_list("blocker_id", flat=True))


def _my_tag_weights(joined_ids) -> Counter:
    """How many of my communities carry each tag: the more, the stronger the interest."""
    rows = InterestTag.objects.filter(communities__pk__in=joined_ids).values_list("pk", "name")
    return Counter(rows)


def _followed_counts(*, followed, excluded_ids) -> dict[int, int]:
    if not followed:
        return {}
    rows = (
        Membership.objects.filter(user_id__in=followed, state=Membership.State.ACTIVE)
        .exclude(community_id__in=excluded_ids)
        .values("community_id")
        .annotate(n=Count("user_id", distinct=True))
    )
    return {row["community_id"]: row["n"] for row in rows}


def _tag_reason(community: Community, tag_weights: Counter) -> tuple[int, str | None]:
    shared = [
        (tag_weights[(t.pk, t.name)], t.name)
        for t in community.tags.all()
        if (t.pk, t.name) in tag_weights
    ]
    if not shared:
        return 0, None
    best = max(shared)[1]
    return len(shared), _("because you like #%(tag)s") % {"tag": best}


def communities_for_you(*, user, limit: int = 20) -> list[Suggestion]:
    """Communities ranked by shared interest tags and by people the user follows, then popular
    ones; each with the reason it is shown. Never ones the user is in, requested, or is banned
    from, nor ones whose owner blocked the user."""
    limit = max(1, min(int(limit), 100))
    if not _signed_in(user):
        return [_popular_suggestion(c) for c in popular_communities(limit=limit)]
    rows = list(Membership.objects.filter(user=user).values_list("community_id", "state"))
    excluded_ids = {cid for cid, _state in rows}
    joined_ids = [cid for cid, state in rows if state == Membership.State.ACTIVE]
    tag_weights = _my_tag_weights(joined_ids)
    followed_counts = _followed_counts(followed=_followed_user_ids(user), excluded_ids=excluded_ids)
    tag_ids = {pk for pk, _name in tag_weights}
    candidates = (
        discoverable_communities()
        .exclude(pk__in=excluded_ids)
        .exclude(owner_id__in=_owners_blocking(user))
        .filter(Q(tags__pk__in=tag_ids) | Q(pk__in=list(followed_counts)))
        .distinct()
    )
    suggestions = []
    for community in candidates:
        suggestion = _personal_suggestion(community, tag_weights, followed_counts)
        if suggestion:
            suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, -s.community.member_count, s.community.public_id))
    suggestions = suggestions[:limit]
    if len(suggestions) < limit:
        shown = excluded_ids | {s.community.pk for s in suggestions}
        blocked_by = set(_owners_blocking(user))
        for community in popular_communities(limit=limit, exclude_ids=shown):
            if community.owner_id in blocked_by or len(suggestions) >= limit:
                continue
            suggestions.append(_popular_suggestion(community))
    return suggestions


def _personal_suggestion(community, tag_weights, followed_counts) -> Suggestion | None:
    reasons = []
    followers_here = followed_counts.get(community.pk, 0)
    if followers_here:
        reasons.append(
            ngettext(
                "%(count)d person you follow is here",
                "%(count)d people you follow are here",
                followers_here,
            )
            % {"count": followers_here}
        )
    shared_tags, tag_reason = _tag_reason(community, tag_weights)
    if tag_reason:
        reasons.append(tag_reason)
    if not reasons:
        return None
    # A friend's presence is a stronger signal than a shared tag.
    score = followers_here * 2 + shared_tags
    kind = "followed" if followers_here else "tags"
    return Suggestion(
        community=community, reason=reasons[0], kind=kind, score=score, reasons=reasons
    )


def _popular_suggestion(community: Community) -> Suggestion:
    # The card already shows the member count; the reason says why it is listed at all.
    reason = str(_("One of the most joined communities"))
    return Suggestion(community=community, reason=reason, kind="popular", reasons=[reason])


# ---------------------------------------------------------------------------------------------
# Search


def search_communities(*, query: str, tag: str | None = None, limit: int = 20) -> list[Community]:
    """Discoverable communities whose name or description contains ``query``, optionally with
    the interest tag ``tag`` (by name, "#" and case ignored). Most members first."""
    limit = max(1, min(int(limit), 100))
    text = " ".join(str(query or "").split())[:SEARCH_QUERY_MAX_LENGTH]
    results = discoverable_communities()
    if text:
        results = results.filter(Q(name__icontains=text) | Q(description__icontains=text))
    tag_name = " ".join(str(tag or "").split()).lstrip("#＃").strip()[:SEARCH_QUERY_MAX_LENGTH]
    if tag_name:
        results = results.filter(tags__name__iexact=tag_name)
    return list(results.distinct().order_by("-member_count", "-created_at")[:limit])


def active_leaders(*, community: Community):
    """The community's current 团长, oldest first."""
    return (
        CommunityLeader.objects.filter(community=community, revoked_at__isnull=True)
        .select_related("user")
        .order_by("appointed_at", "id")
    )


def led_communities(*, user) -> list[Community]:
    """Active communities where ``user`` is a current 团长 and still an active member."""
    if not _signed_in(user):
        return []
    return list(
        Community.objects.filter(
            leaders__user=user,
            leaders__revoked_at__isnull=True,
            memberships__user=user,
            memberships__state=Membership.State.ACTIVE,
            state=Community.State.ACTIVE,
        )
        .distinct()
        .order_by("name")
    )


def is_leader(*, user, community: Community) -> bool:
    """A current 团长 of the community who is still an active member of it."""
    if not _signed_in(user):
        return False
    return CommunityLeader.objects.filter(
        community=community, user=user, revoked_at__isnull=True
    ).exists() and is_member(user=user, community=community)
