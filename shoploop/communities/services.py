"""Every write to communities: one transaction each, rules enforced here, events after commit."""

import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shoploop.communities import selectors
from shoploop.communities.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_TAGS,
    MIN_TAGS,
    NAME_MAX_LENGTH,
    NAME_MIN_LENGTH,
    TAG_MAX_LENGTH,
    Community,
    CommunityInvite,
    InterestTag,
    Membership,
)
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image

Role = Membership.Role
MState = Membership.State

# States from which a person may (re)become an active member.
REJOINABLE_STATES = (MState.LEFT, MState.REMOVED, MState.REJECTED)
INVITE_MIN_HOURS = 1
INVITE_MAX_HOURS = 30 * 24
INVITE_DEFAULT_HOURS = 7 * 24
INVITE_MAX_USES = 10_000

_WHITESPACE = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# Guards


def _require_signed_in(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _require_verified(actor) -> None:
    _require_signed_in(actor)
    if actor.phone_verified_at is None:
        raise PermissionDenied(
            _("Verify your phone number before creating a community."), code="phone_not_verified"
        )


def _require_not_dissolved(community: Community) -> None:
    if community.state == Community.State.DISSOLVED:
        raise Conflict(_("This community has been dissolved."), code="community_dissolved")


def _require_active(community: Community) -> None:
    _require_not_dissolved(community)
    if community.state == Community.State.ARCHIVED:
        raise Conflict(_("This community is archived and read-only."), code="community_archived")


def _actor_membership(actor, community: Community) -> Membership | None:
    _require_signed_in(actor)
    return selectors.membership_of(user=actor, community=community)


def _require_moderator(actor, community: Community) -> Membership:
    membership = _actor_membership(actor, community)
    if (
        membership is None
        or membership.state != MState.ACTIVE
        or membership.role not in (Role.OWNER, Role.MODERATOR)
    ):
        raise PermissionDenied(_("Only the owner and moderators can do that."))
    return membership


def _require_owner(actor, community: Community) -> Membership:
    membership = _actor_membership(actor, community)
    if membership is None or membership.state != MState.ACTIVE or membership.role != Role.OWNER:
        raise PermissionDenied(_("Only the owner can do that."))
    return membership


def _require_owner_or_operator(actor, community: Community) -> None:
    _require_signed_in(actor)
    if actor.is_staff:
        return
    _require_owner(actor, community)


def _require_may_join(user, community: Community) -> None:
    if selectors.is_blocked_by_owner(community=community, user=user):
        raise PermissionDenied(_("You cannot join this community."), code="blocked")


def _locked(community: Community) -> Community:
    """Re-read the community under a row lock so state checks and writes agree."""
    return Community.objects.select_for_update().get(pk=community.pk)


# ---------------------------------------------------------------------------------------------
# Input validation


def _clean_name(name) -> str:
    cleaned = _WHITESPACE.sub(" ", str(name or "")).strip()
    if len(cleaned) < NAME_MIN_LENGTH or len(cleaned) > NAME_MAX_LENGTH:
        message = _("The name must be between %(min)d and %(max)d characters.") % {
            "min": NAME_MIN_LENGTH,
            "max": NAME_MAX_LENGTH,
        }
        raise ValidationFailed(message, fields={"name": message})
    return cleaned


def _clean_description(description) -> str:
    cleaned = str(description or "").strip()
    if len(cleaned) > DESCRIPTION_MAX_LENGTH:
        message = _("The description must be at most %(max)d characters.") % {
            "max": DESCRIPTION_MAX_LENGTH
        }
        raise ValidationFailed(message, fields={"description": message})
    return cleaned


def _clean_visibility(visibility) -> str:
    if visibility not in Community.Visibility.values:
        message = _("Choose public, approval required or invite only.")
        raise ValidationFailed(message, fields={"visibility": message})
    return visibility


def normalize_tag_name(raw) -> str:
    """``"  #Hiking  Trips "`` → ``"hiking trips"``: one spelling per interest."""
    cleaned = _WHITESPACE.sub(" ", str(raw or "")).strip().lstrip("#＃").strip().lower()
    if not cleaned:
        message = _("A tag cannot be empty.")
        raise ValidationFailed(message, fields={"tags": message})
    if len(cleaned) > TAG_MAX_LENGTH:
        message = _("A tag must be at most %(max)d characters.") % {"max": TAG_MAX_LENGTH}
        raise ValidationFailed(message, fields={"tags": message})
    return cleaned


def split_tag_text(text: str) -> list[str]:
    """What a person typed in a tags box ("hiking, #coffee 露营") → separate raw tags."""
    return [part for part in re.split(r"[,，、;；#＃\s]+", str(text or "")) if part.strip()]


def clean_tag_names(names, *, minimum: int = MIN_TAGS, maximum: int = MAX_TAGS) -> list[str]:
    if isinstance(names, str) or names is None:
        names = split_tag_text(names or "")
    # Bound the work before normalising: a list of a million tags is rejected outright.
    names = list(names)[: maximum * 4 + 1]
    unique = list(dict.fromkeys(normalize_tag_name(name) for name in names))
    if len(unique) < minimum or len(unique) > maximum:
        message = _("Choose between %(min)d and %(max)d tags.") % {"min": minimum, "max": maximum}
        raise ValidationFailed(message, fields={"tags": message})
    return unique


def get_or_create_tags(*, names, minimum: int = MIN_TAGS, maximum: int = MAX_TAGS):
    """Normalise ``names`` and return their InterestTags, creating missing ones.

    Safe under concurrency: the case-insensitive unique constraint decides, a loser re-reads.
    """
    cleaned = clean_tag_names(names, minimum=minimum, maximum=maximum)
    with transaction.atomic():
        return [_get_or_create_tag(name) for name in cleaned]


def _get_or_create_tag(name: str) -> InterestTag:
    existing = InterestTag.objects.filter(name__iexact=name).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return InterestTag.objects.create(name=name)
    except IntegrityError:
        return InterestTag.objects.get(name__iexact=name)


# ---------------------------------------------------------------------------------------------
# Member count: only conditional F() updates, always inside the membership change's transaction


def _count_join(community: Community) -> None:
    updated = Community.objects.filter(pk=community.pk, state=Community.State.ACTIVE).update(
        member_count=F("member_count") + 1
    )
    if not updated:
        raise Conflict(_("This community is not open for joining."), code="community_not_active")


def _count_departure(community: Community) -> None:
    updated = Community.objects.filter(pk=community.pk, member_count__gte=1).update(
        member_count=F("member_count") - 1
    )
    if not updated:
        raise Conflict(_("The member count is already zero."), code="member_count_zero")


def _set_state(membership: Membership, *, allowed_from, to_state, role=None) -> bool:
    """Move a membership between states with one conditional UPDATE; False if someone else won."""
    changes = {"state": to_state, "updated_at": clock.now()}
    if role is not None:
        changes["role"] = role
    updated = Membership.objects.filter(pk=membership.pk, state__in=allowed_from).update(**changes)
    if updated:
        membership.state = to_state
        if role is not None:
            membership.role = role
    return bool(updated)


def _explain_existing(membership: Membership):
    """The error for a person whose row exists in a state that blocks this request."""
    if membership.state == MState.ACTIVE:
        return Conflict(_("You are already a member of this community."), code="already_member")
    if membership.state == MState.BANNED:
        return PermissionDenied(_("You are banned from this community."), code="banned")
    if membership.state == MState.PENDING:
        return Conflict(
            _("Your request to join is waiting for approval."), code="already_requested"
        )
    return Conflict(_("Your membership changed meanwhile; please try again."), code="conflict")


def _enter(*, community: Community, user, to_state: str, allowed_from) -> Membership:
    """Insert the person's row, or move the existing one; the unique constraint is the guard."""
    membership = Membership.objects.filter(community=community, user=user).first()
    if membership is None:
        now = clock.now()
        try:
            with transaction.atomic():
                return Membership.objects.create(
                    community=community,
                    user=user,
                    role=Role.MEMBER,
                    state=to_state,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            membership = Membership.objects.get(community=community, user=user)
    if membership.state not in allowed_from:
        raise _explain_existing(membership)
    if not _set_state(membership, allowed_from=allowed_from, to_state=to_state, role=Role.MEMBER):
        membership.refresh_from_db()
        raise _explain_existing(membership)
    return membership


def _publish_joined(community: Community, user, *, via: str) -> None:
    publish(
        "communities.community.member_joined",
        community_public_id=community.public_id,
        user_public_id=user.public_id,
        via=via,
    )


# ---------------------------------------------------------------------------------------------
# Create and edit


def create_community(
    *, actor, name, description="", tags, visibility=Community.Visibility.PUBLIC, cover=None
) -> Community:
    _require_verified(actor)
    cleaned_name = _clean_name(name)
    cleaned_description = _clean_description(description)
    cleaned_visibility = _clean_visibility(visibility)
    tag_names = clean_tag_names(tags)
    cover_file = _prepared_cover(cover) if cover else None
    with transaction.atomic():
        now = clock.now()
        community = Community.objects.create(
            name=cleaned_name,
            description=cleaned_description,
            visibility=cleaned_visibility,
            owner=actor,
            member_count=0,
            created_at=now,
        )
        if cover_file:
            community.cover.save(cover_file.name, cover_file, save=True)
        community.tags.set(get_or_create_tags(names=tag_names))
        Membership.objects.create(
            community=community,
            user=actor,
            role=Role.OWNER,
            state=MState.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        _count_join(community)
        community.refresh_from_db(fields=["member_count"])
        publish(
            "communities.community.created",
            community_public_id=community.public_id,
            owner_public_id=actor.public_id,
        )
    return community


def update_community(
    *,
    actor,
    community: Community,
    name=None,
    description=None,
    tags=None,
    visibility=None,
    cover=None,
    remove_cover: bool = False,
) -> Community:
    """Owner and moderators edit the about page; ``None`` leaves a field as it is."""
    _require_moderator(actor, community)
    _require_active(community)
    changes = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if description is not None:
        changes["description"] = _clean_description(description)
    if visibility is not None:
        changes["visibility"] = _clean_visibility(visibility)
    tag_names = clean_tag_names(tags) if tags is not None else None
    cover_file = _prepared_cover(cover) if cover else None
    with transaction.atomic():
        community = _locked(community)
        _require_active(community)
        for field, value in changes.items():
            setattr(community, field, value)
        if cover_file:
            community.cover.save(cover_file.name, cover_file, save=False)
        elif remove_cover:
            community.cover = ""
        community.save()
        if tag_names is not None:
            community.tags.set(get_or_create_tags(names=tag_names))
    return community


# ---------------------------------------------------------------------------------------------
# Joining and leaving


def join_community(*, actor, community: Community) -> Membership:
    """Join a public community at once."""
    _require_signed_in(actor)
    _require_active(community)
    if community.visibility == Community.Visibility.APPROVAL:
        raise Conflict(
            _("This community needs approval; send a request to join."), code="approval_required"
        )
    if community.visibility == Community.Visibility.INVITE:
        raise PermissionDenied(_("This community is invite only."), code="invite_only")
    _require_may_join(actor, community)
    with transaction.atomic():
        membership = _enter(
            community=community, user=actor, to_state=MState.ACTIVE, allowed_from=REJOINABLE_STATES
        )
        _count_join(community)
        _publish_joined(community, actor, via="join")
    return membership


def request_to_join(*, actor, community: Community) -> Membership:
    """Ask to join an approval-required community; the owner or a moderator decides."""
    _require_signed_in(actor)
    _require_active(community)
    if community.visibility == Community.Visibility.PUBLIC:
        raise Conflict(_("This community is public; join it directly."), code="join_directly")
    if community.visibility == Community.Visibility.INVITE:
        raise PermissionDenied(_("This community is invite only."), code="invite_only")
    _require_may_join(actor, community)
    with transaction.atomic():
        # Checked inside the transaction so a concurrent request cannot slip past it.
        if not Community.objects.filter(pk=community.pk, state=Community.State.ACTIVE).exists():
            raise Conflict(
                _("This community is not open for joining."), code="community_not_active"
            )
        return _enter(
            community=community, user=actor, to_state=MState.PENDING, allowed_from=REJOINABLE_STATES
        )


def cancel_request(*, actor, community: Community) -> None:
    _require_signed_in(actor)
    with transaction.atomic():
        membership = selectors.membership_of(user=actor, community=community)
        if membership is None or not _set_state(
            membership, allowed_from=(MState.PENDING,), to_state=MState.LEFT
        ):
            raise Conflict(_("There is no pending request to cancel."), code="no_request")


def _target_membership(community: Community, user) -> Membership:
    membership = selectors.membership_of(user=user, community=community)
    if membership is None:
        raise NotFound(_("That person is not in this community."), code="not_in_community")
    return membership


def approve_request(*, actor, community: Community, user) -> Membership:
    _require_moderator(actor, community)
    _require_active(community)
    with transaction.atomic():
        membership = _target_membership(community, user)
        if not _set_state(membership, allowed_from=(MState.PENDING,), to_state=MState.ACTIVE):
            raise Conflict(_("There is no pending request from that person."), code="no_request")
        _count_join(community)
        _publish_joined(community, user, via="approval")
    return membership


def reject_request(*, actor, community: Community, user) -> Membership:
    _require_moderator(actor, community)
    _require_not_dissolved(community)
    with transaction.atomic():
        membership = _target_membership(community, user)
        if not _set_state(membership, allowed_from=(MState.PENDING,), to_state=MState.REJECTED):
            raise Conflict(_("There is no pending request from that person."), code="no_request")
    return membership


def _publish_left(community: Community, user, *, reason: str) -> None:
    publish(
        "communities.community.member_left",
        community_public_id=community.public_id,
        user_public_id=user.public_id,
        reason=reason,
    )


def leave_community(*, actor, community: Community) -> Membership:
    _require_signed_in(actor)
    _require_not_dissolved(community)
    with transaction.atomic():
        membership = selectors.membership_of(user=actor, community=community)
        if membership is None or membership.state != MState.ACTIVE:
            raise Conflict(_("You are not a member of this community."), code="not_member")
        if membership.role == Role.OWNER:
            raise Conflict(
                _("Transfer ownership to another member before leaving."),
                code="owner_must_transfer",
            )
        if not _set_state(
            membership, allowed_from=(MState.ACTIVE,), to_state=MState.LEFT, role=Role.MEMBER
        ):
            raise Conflict(_("You are not a member of this community."), code="not_member")
        _count_departure(community)
        _publish_left(community, actor, reason="left")
    return membership


# ---------------------------------------------------------------------------------------------
# Moderation


def _require_may_moderate_target(actor_membership: Membership, target: Membership) -> None:
    """Moderators act on members; only the owner acts on moderators; nobody acts on the owner."""
    if target.user_id == actor_membership.user_id:
        raise PermissionDenied(_("You cannot do that to yourself."), code="self")
    if target.role == Role.OWNER:
        raise PermissionDenied(_("Nobody can remove or ban the owner."))
    if target.role == Role.MODERATOR and actor_membership.role != Role.OWNER:
        raise PermissionDenied(_("Only the owner can remove or ban a moderator."))


def remove_member(*, actor, community: Community, user) -> Membership:
    actor_membership = _require_moderator(actor, community)
    _require_not_dissolved(community)
    with transaction.atomic():
        target = _target_membership(community, user)
        _require_may_moderate_target(actor_membership, target)
        if not _set_state(
            target, allowed_from=(MState.ACTIVE,), to_state=MState.REMOVED, role=Role.MEMBER
        ):
            raise Conflict(_("That person is not an active member."), code="not_member")
        _count_departure(community)
        _publish_left(community, user, reason="removed")
    return target


def ban_member(*, actor, community: Community, user) -> Membership:
    """Ban a member, a requester, or anyone at all (pre-emptively)."""
    actor_membership = _require_moderator(actor, community)
    _require_not_dissolved(community)
    with transaction.atomic():
        target = selectors.membership_of(user=user, community=community)
        if target is None:
            now = clock.now()
            try:
                with transaction.atomic():
                    return Membership.objects.create(
                        community=community,
                        user=user,
                        role=Role.MEMBER,
                        state=MState.BANNED,
                        created_at=now,
                        updated_at=now,
                    )
            except IntegrityError:
                target = Membership.objects.get(community=community, user=user)
        _require_may_moderate_target(actor_membership, target)
        was_active = target.state == MState.ACTIVE
        bannable = tuple(state for state in MState.values if state != MState.BANNED)
        if not _set_state(target, allowed_from=bannable, to_state=MState.BANNED, role=Role.MEMBER):
            raise Conflict(_("That person is already banned."), code="already_banned")
        if was_active:
            _count_departure(community)
            _publish_left(community, user, reason="banned")
    return target


def unban_member(*, actor, community: Community, user) -> Membership:
    """Lift a ban; the person may then join again like anyone else."""
    _require_moderator(actor, community)
    _require_not_dissolved(community)
    with transaction.atomic():
        target = _target_membership(community, user)
        if not _set_state(target, allowed_from=(MState.BANNED,), to_state=MState.REMOVED):
            raise Conflict(_("That person is not banned."), code="not_banned")
    return target


def _change_role(*, community: Community, user, from_role: str, to_role: str, error) -> Membership:
    updated = Membership.objects.filter(
        community=community, user=user, state=MState.ACTIVE, role=from_role
    ).update(role=to_role, updated_at=clock.now())
    if not updated:
        raise error
    return Membership.objects.get(community=community, user=user)


def promote_moderator(*, actor, community: Community, user) -> Membership:
    _require_owner(actor, community)
    _require_active(community)
    with transaction.atomic():
        return _change_role(
            community=community,
            user=user,
            from_role=Role.MEMBER,
            to_role=Role.MODERATOR,
            error=Conflict(_("Only an active member can be promoted."), code="not_promotable"),
        )


def demote_moderator(*, actor, community: Community, user) -> Membership:
    _require_owner(actor, community)
    _require_not_dissolved(community)
    with transaction.atomic():
        return _change_role(
            community=community,
            user=user,
            from_role=Role.MODERATOR,
            to_role=Role.MEMBER,
            error=Conflict(_("That person is not a moderator."), code="not_moderator"),
        )


def transfer_ownership(*, actor, community: Community, new_owner) -> Community:
    """Hand the community to an active member; the old owner stays on as a moderator."""
    _require_owner(actor, community)
    _require_not_dissolved(community)
    if new_owner.pk == actor.pk:
        raise Conflict(_("You already own this community."), code="already_owner")
    with transaction.atomic():
        community = _locked(community)
        if community.owner_id != actor.pk:
            raise PermissionDenied(_("Only the owner can do that."))
        promoted = (
            Membership.objects.filter(community=community, user=new_owner, state=MState.ACTIVE)
            .exclude(role=Role.OWNER)
            .update(role=Role.OWNER, updated_at=clock.now())
        )
        if not promoted:
            raise Conflict(_("Ownership can only go to an active member."), code="not_member")
        Membership.objects.filter(community=community, user=actor, role=Role.OWNER).update(
            role=Role.MODERATOR, updated_at=clock.now()
        )
        Community.objects.filter(pk=community.pk, owner=actor).update(owner=new_owner)
        community.refresh_from_db()
    return community


# ---------------------------------------------------------------------------------------------
# Invite links


def create_invite(
    *, actor, community: Community, expires_in_hours: int = INVITE_DEFAULT_HOURS, max_uses=None
) -> CommunityInvite:
    _require_moderator(actor, community)
    _require_active(community)
    if (
        not isinstance(expires_in_hours, int)
        or isinstance(expires_in_hours, bool)
        or not INVITE_MIN_HOURS <= expires_in_hours <= INVITE_MAX_HOURS
    ):
        message = _("An invite link lasts between 1 hour and 30 days.")
        raise ValidationFailed(message, fields={"expires_in_hours": message})
    if max_uses is not None and (
        not isinstance(max_uses, int)
        or isinstance(max_uses, bool)
        or not 1 <= max_uses <= INVITE_MAX_USES
    ):
        message = _("The number of uses must be between 1 and %(max)d.") % {"max": INVITE_MAX_USES}
        raise ValidationFailed(message, fields={"max_uses": message})
    with transaction.atomic():
        now = clock.now()
        return CommunityInvite.objects.create(
            community=community,
            code=secrets.token_urlsafe(18),
            created_by=actor,
            created_at=now,
            expires_at=now + timedelta(hours=expires_in_hours),
            max_uses=max_uses,
        )


def revoke_invite(*, actor, invite: CommunityInvite) -> CommunityInvite:
    _require_moderator(actor, invite.community)
    with transaction.atomic():
        updated = CommunityInvite.objects.filter(pk=invite.pk, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        if not updated:
            raise Conflict(_("This invite link is already revoked."), code="invite_revoked")
        invite.refresh_from_db()
    return invite


def _invite_error(invite: CommunityInvite):
    if invite.revoked_at is not None:
        return Conflict(_("This invite link has been revoked."), code="invite_revoked")
    if invite.expires_at <= clock.now():
        return Conflict(_("This invite link has expired."), code="invite_expired")
    return Conflict(_("This invite link has been used up."), code="invite_used_up")


def join_by_invite(*, actor, code: str) -> Membership:
    """Join through a valid invite link (works for every visibility, and turns a request active)."""
    _require_signed_in(actor)
    invite = selectors.invite_by_code(code=code)
    community = invite.community
    _require_active(community)
    _require_may_join(actor, community)
    with transaction.atomic():
        membership = _enter(
            community=community,
            user=actor,
            to_state=MState.ACTIVE,
            allowed_from=(*REJOINABLE_STATES, MState.PENDING),
        )
        # One conditional UPDATE both checks validity and counts the use.
        used = (
            CommunityInvite.objects.filter(
                pk=invite.pk, revoked_at__isnull=True, expires_at__gt=clock.now()
            )
            .filter(Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")))
            .update(use_count=F("use_count") + 1)
        )
        if not used:
            invite.refresh_from_db()
            raise _invite_error(invite)
        _count_join(community)
        _publish_joined(community, actor, via="invite")
    return membership


# ---------------------------------------------------------------------------------------------
# Lifecycle


def archive_community(*, actor, community: Community) -> Community:
    """Owner or operator: read-only from now on (no joins, no new invites); content stays."""
    _require_owner_or_operator(actor, community)
    with transaction.atomic():
        updated = Community.objects.filter(pk=community.pk, state=Community.State.ACTIVE).update(
            state=Community.State.ARCHIVED, archived_at=clock.now()
        )
        if not updated:
            raise Conflict(_("Only an active community can be archived."), code="not_active")
        community.refresh_from_db()
        publish(
            "communities.community.archived",
            community_public_id=community.public_id,
            actor_public_id=actor.public_id,
        )
    return community


def unarchive_community(*, actor, community: Community) -> Community:
    _require_owner_or_operator(actor, community)
    with transaction.atomic():
        updated = Community.objects.filter(pk=community.pk, state=Community.State.ARCHIVED).update(
            state=Community.State.ACTIVE, archived_at=None
        )
        if not updated:
            raise Conflict(_("Only an archived community can be unarchived."), code="not_archived")
        community.refresh_from_db()
    return community


def dissolve_community(*, actor, community: Community) -> Community:
    """Owner only. Members are told through the event; posts stay with their authors."""
    _require_owner(actor, community)
    with transaction.atomic():
        updated = Community.objects.filter(
            pk=community.pk,
            state__in=(Community.State.ACTIVE, Community.State.ARCHIVED),
        ).update(state=Community.State.DISSOLVED, dissolved_at=clock.now())
        if not updated:
            raise Conflict(_("This community has been dissolved."), code="community_dissolved")
        # Pending requests can never be answered now; close them.
        Membership.objects.filter(community=community, state=MState.PENDING).update(
            state=MState.REJECTED, updated_at=clock.now()
        )
        CommunityInvite.objects.filter(community=community, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        member_public_ids = list(
            Membership.objects.filter(community=community, state=MState.ACTIVE)
            .order_by("pk")
            .values_list("user__public_id", flat=True)
        )
        community.refresh_from_db()
        publish(
            "communities.community.dissolved",
            community_public_id=community.public_id,
            member_public_ids=member_public_ids,
        )
    return community


COVER_MAX_WIDTH = 1600


def _prepared_cover(upload):
    return prepared_image(upload, max_width=COVER_MAX_WIDTH, field="cover").file
