"""Communities API, mounted at /api/v1/communities. Parse, call a service or selector, answer."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import CursorPagination, paginate

from shoploop.accounts.auth import optional_auth
from shoploop.communities import leader_services, selectors, services
from shoploop.communities.models import Community, Membership
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.core.schemas import InputSchema, PublicSchema

router = Router(tags=["communities"])


# ---------------------------------------------------------------------------------------------
# Schemas


class PersonOut(Schema):
    id: str
    display_name: str
    avatar_url: str | None = None


class CommunityOut(Schema):
    id: str
    name: str
    description: str
    cover_url: str | None = None
    tags: list[str]
    visibility: str
    state: str
    member_count: int
    owner: PersonOut
    created_at: datetime
    url: str
    my_role: str | None = None
    my_state: str | None = None


class CommunityIn(InputSchema):
    name: str
    description: str = ""
    tags: list[str]
    visibility: str = Community.Visibility.PUBLIC


class CommunityPatch(InputSchema):
    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    visibility: str | None = None
    remove_cover: bool = False


class CommunityMemberOut(Schema):
    user: PersonOut
    role: str
    state: str
    created_at: datetime

    @staticmethod
    def resolve_user(obj) -> dict:
        return _person(obj.user)


class MembershipOut(Schema):
    community_id: str
    role: str
    state: str


class InviteIn(InputSchema):
    expires_in_hours: int = services.INVITE_DEFAULT_HOURS
    max_uses: int | None = None


class InviteOut(PublicSchema):
    code: str
    url: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    max_uses: int | None = None
    use_count: int
    usable: bool

    @staticmethod
    def resolve_url(obj, context) -> str:
        path = reverse("communities:invite", args=[obj.code])
        return context["request"].build_absolute_uri(path)

    @staticmethod
    def resolve_usable(obj) -> bool:
        return selectors.invite_is_usable(obj)


class JoinByInviteIn(InputSchema):
    code: str


class TransferIn(InputSchema):
    user_id: str


class SuggestionOut(Schema):
    community: CommunityOut
    reason: str
    reasons: list[str]
    kind: str


# ---------------------------------------------------------------------------------------------
# Serialisers


def _person(user) -> dict:
    return {
        "id": user.public_id,
        "display_name": str(user),
        "avatar_url": user.avatar.url if user.avatar else None,
    }


def _community(community: Community, *, membership: Membership | None = None) -> dict:
    return {
        "id": community.public_id,
        "name": community.name,
        "description": community.description,
        "cover_url": community.cover.url if community.cover else None,
        "tags": [tag.name for tag in community.tags.all()],
        "visibility": community.visibility,
        "state": community.state,
        "member_count": community.member_count,
        "owner": _person(community.owner),
        "created_at": community.created_at,
        "url": reverse("communities:detail", args=[community.public_id]),
        "my_role": membership.role if membership else None,
        "my_state": membership.state if membership else None,
    }


def _community_for(request, community: Community) -> dict:
    community = selectors.get_community(public_id=community.public_id)
    return _community(
        community, membership=selectors.membership_of(user=request.user, community=community)
    )


def _membership(membership: Membership) -> dict:
    return {
        "community_id": membership.community.public_id,
        "role": membership.role,
        "state": membership.state,
    }


def _user(public_id: str):
    user = get_user_model().objects.filter(public_id=public_id).first()
    if user is None:
        raise NotFound(_("That person does not exist."), code="user_not_found")
    return user


def _get(public_id: str) -> Community:
    return selectors.get_community(public_id=public_id)


# ---------------------------------------------------------------------------------------------
# Listing and discovery


@router.get("/", response=list[CommunityOut], auth=optional_auth)
def list_communities(request, q: str = "", tag: str = "", limit: int = 20):
    """Search discoverable communities (everything popular when ``q`` and ``tag`` are empty)."""
    found = selectors.search_communities(query=q, tag=tag or None, limit=limit)
    return [_community(c) for c in found]


@router.get("/for-you", response=list[SuggestionOut], auth=optional_auth)
def for_you(request, limit: int = 20):
    items = selectors.communities_for_you(user=request.user, limit=limit)
    return [
        {
            "community": _community(s.community),
            "reason": s.reason,
            "reasons": s.reasons,
            "kind": s.kind,
        }
        for s in items
    ]


@router.get("/mine", response=list[CommunityOut])
def mine(request):
    return [_community(c) for c in selectors.my_communities(user=request.user)]


@router.post("/join-by-invite", response=MembershipOut)
def join_by_invite(request, body: JoinByInviteIn):
    return _membership(services.join_by_invite(actor=request.user, code=body.code))


# ---------------------------------------------------------------------------------------------
# One community


@router.post("/", response={201: CommunityOut})
def create(request, body: CommunityIn):
    community = services.create_community(
        actor=request.user,
        name=body.name,
        description=body.description,
        tags=body.tags,
        visibility=body.visibility,
    )
    return Status(201, _community_for(request, community))


@router.get("/{community_id}", response=CommunityOut, auth=optional_auth)
def detail(request, community_id: str):
    return _community_for(request, _get(community_id))


@router.patch("/{community_id}", response=CommunityOut)
def update(request, community_id: str, body: CommunityPatch):
    community = services.update_community(
        actor=request.user,
        community=_get(community_id),
        name=body.name,
        description=body.description,
        tags=body.tags,
        visibility=body.visibility,
        remove_cover=body.remove_cover,
    )
    return _community_for(request, community)


@router.post("/{community_id}/cover", response=CommunityOut)
def upload_cover(request, community_id: str, cover: File[UploadedFile]):
    community = services.update_community(
        actor=request.user, community=_get(community_id), cover=cover
    )
    return _community_for(request, community)


@router.post("/{community_id}/join", response=MembershipOut)
def join(request, community_id: str):
    return _membership(services.join_community(actor=request.user, community=_get(community_id)))


@router.post("/{community_id}/request", response=MembershipOut)
def request_to_join(request, community_id: str):
    community = _get(community_id)
    return _membership(services.request_to_join(actor=request.user, community=community))


@router.delete("/{community_id}/request", response={204: None})
def cancel_request(request, community_id: str):
    services.cancel_request(actor=request.user, community=_get(community_id))
    return Status(204, None)


@router.post("/{community_id}/leave", response=MembershipOut)
def leave(request, community_id: str):
    return _membership(services.leave_community(actor=request.user, community=_get(community_id)))


@router.get("/{community_id}/members", response=list[CommunityMemberOut], auth=optional_auth)
@paginate(CursorPagination, ordering=("-created_at",))
def members(request, community_id: str):
    community = _get(community_id)
    if not selectors.can_see_members(user=request.user, community=community):
        raise PermissionDenied(_("Only members can see who is in this community."))
    return selectors.active_members(community=community)


@router.get("/{community_id}/requests", response=list[CommunityMemberOut])
@paginate(CursorPagination, ordering=("-created_at",))
def requests(request, community_id: str):
    community = _get(community_id)
    if not selectors.is_moderator(user=request.user, community=community):
        raise PermissionDenied()
    return selectors.pending_requests(community=community)


# Moderation actions on one person: /{community_id}/members/{user_id}/{action}
_MEMBER_ACTIONS = {
    "approve": services.approve_request,
    "reject": services.reject_request,
    "remove": services.remove_member,
    "ban": services.ban_member,
    "unban": services.unban_member,
    "promote": services.promote_moderator,
    "demote": services.demote_moderator,
}


def _member_action(action: str):
    service = _MEMBER_ACTIONS[action]

    def handler(request, community_id: str, user_id: str):
        membership = service(actor=request.user, community=_get(community_id), user=_user(user_id))
        return Membership.objects.select_related("user").get(pk=membership.pk)

    handler.__name__ = f"member_{action}"
    return handler


for _action in _MEMBER_ACTIONS:
    router.post(
        f"/{{community_id}}/members/{{user_id}}/{_action}",
        response=CommunityMemberOut,
        operation_id=f"communities_member_{_action}",
    )(_member_action(_action))


@router.post("/{community_id}/transfer", response=CommunityOut)
def transfer(request, community_id: str, body: TransferIn):
    community = services.transfer_ownership(
        actor=request.user, community=_get(community_id), new_owner=_user(body.user_id)
    )
    return _community_for(request, community)


@router.post("/{community_id}/archive", response=CommunityOut)
def archive(request, community_id: str):
    community = services.archive_community(actor=request.user, community=_get(community_id))
    return _community_for(request, community)


@router.post("/{community_id}/unarchive", response=CommunityOut)
def unarchive(request, community_id: str):
    community = services.unarchive_community(actor=request.user, community=_get(community_id))
    return _community_for(request, community)


@router.post("/{community_id}/dissolve", response=CommunityOut)
def dissolve(request, community_id: str):
    community = services.dissolve_community(actor=request.user, community=_get(community_id))
    return _community_for(request, community)


# ---------------------------------------------------------------------------------------------
# Invite links


@router.get("/{community_id}/invites", response=list[InviteOut])
@paginate(CursorPagination, ordering=("-created_at",))
def invites(request, community_id: str):
    community = _get(community_id)
    if not selectors.is_moderator(user=request.user, community=community):
        raise PermissionDenied()
    return selectors.invites_of(community=community)


@router.post("/{community_id}/invites", response={201: InviteOut})
def create_invite(request, community_id: str, body: InviteIn):
    invite = services.create_invite(
        actor=request.user,
        community=_get(community_id),
        expires_in_hours=body.expires_in_hours,
        max_uses=body.max_uses,
    )
    return Status(201, invite)


@router.delete("/{community_id}/invites/{invite_id}", response=InviteOut)
def revoke_invite(request, community_id: str, invite_id: str):
    invite = selectors.get_invite(community=_get(community_id), public_id=invite_id)
    return services.revoke_invite(actor=request.user, invite=invite)


# ---------------------------------------------------------------------------------------------
# 团长 (group leaders)


class CommunityLeaderOut(Schema):
    id: str
    community_id: str
    leader: PersonOut
    appointed_at: datetime
    revoked_at: datetime | None


class AppointLeaderIn(InputSchema):
    user_id: str = Field(..., max_length=40)


def _leader(leadership) -> dict:
    return {
        "id": leadership.public_id,
        "community_id": leadership.community.public_id,
        "leader": _person(leadership.user),
        "appointed_at": leadership.appointed_at,
        "revoked_at": leadership.revoked_at,
    }


@router.get("/{community_id}/leaders", response=list[CommunityLeaderOut], auth=optional_auth)
def list_leaders(request, community_id: str):
    """The community's current 团长 (they run its pickup points); as visible as its members."""
    community = _get(community_id)
    if not selectors.can_see_members(user=request.user, community=community):
        raise PermissionDenied(_("Only members can see who leads this community."))
    return [_leader(leadership) for leadership in selectors.active_leaders(community=community)]


@router.post("/{community_id}/leaders", response={201: CommunityLeaderOut})
def appoint_leader(request, community_id: str, body: AppointLeaderIn):
    """The owner (or an operator) appoints themself or an active member as a 团长."""
    leadership = leader_services.appoint_leader(
        actor=request.user, community=_get(community_id), user=_user(body.user_id)
    )
    return Status(201, _leader(leadership))


@router.delete("/{community_id}/leaders/{user_id}", response=CommunityLeaderOut)
def revoke_leader(request, community_id: str, user_id: str):
    """The owner (or an operator) revokes a 团长; a 团长 may step down themself."""
    leadership = leader_services.revoke_leader(
        actor=request.user, community=_get(community_id), user=_user(user_id)
    )
    return _leader(leadership)
