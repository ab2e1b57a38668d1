from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shoploop.accounts.models import Block
from shoploop.communities import selectors, services
from shoploop.communities.models import Community, CommunityInvite, InterestTag, Membership
from shoploop.communities.tests.conftest import image_upload
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import recorded_events

pytestmark = pytest.mark.django_db


def refreshed(community):
    community.refresh_from_db()
    return community


def state_of(user, community):
    return Membership.objects.get(user=user, community=community).state


# --- creating -------------------------------------------------------------------------------


def test_creator_becomes_owner_and_first_member(owner):
    with recorded_events() as events:
        community = services.create_community(
            actor=owner,
            name="  Coffee   lovers ",
            description="Pour-over",
            tags=["Coffee", "#Beans"],
        )
    assert community.name == "Coffee lovers"
    assert community.owner == owner
    assert community.member_count == 1
    assert selectors.is_moderator(user=owner, community=community)
    assert Membership.objects.get(community=community).role == Membership.Role.OWNER
    assert sorted(t.name for t in community.tags.all()) == ["beans", "coffee"]
    assert [e.name for e in events] == ["communities.community.created"]
    assert events[0].payload["community_public_id"] == community.public_id


def test_unverified_user_cannot_create(make_user):
    with pytest.raises(PermissionDenied) as exc:
        services.create_community(actor=make_user(verified=False), name="Nope", tags=["x"])
    assert exc.value.code == "phone_not_verified"
    assert not Community.objects.exists()


def test_anonymous_cannot_create():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        services.create_community(actor=AnonymousUser(), name="Nope", tags=["x"])


@pytest.mark.parametrize("name", ["", "a", " a ", "x" * 41])
def test_bad_names_change_nothing(owner, name):
    with pytest.raises(ValidationFailed) as exc:
        services.create_community(actor=owner, name=name, tags=["hiking"])
    assert "name" in exc.value.fields
    assert not Community.objects.exists()
    assert not InterestTag.objects.exists()


def test_ten_megabyte_description_is_rejected(owner):
    with pytest.raises(ValidationFailed) as exc:
        services.create_community(actor=owner, name="Big", description="x" * 10_000_000, tags=["a"])
    assert "description" in exc.value.fields
    assert not Community.objects.exists()


def test_description_of_exactly_2000_is_fine(owner):
    community = services.create_community(
        actor=owner, name="Big", description="字" * 2000, tags=["a"]
    )
    assert len(community.description) == 2000


@pytest.mark.parametrize("tags", [[], ["   "], [f"t{i}" for i in range(9)], ["x" * 31], "", ["#"]])
def test_bad_tags_change_nothing(owner, tags):
    with pytest.raises(ValidationFailed) as exc:
        services.create_community(actor=owner, name="Tags", tags=tags)
    assert "tags" in exc.value.fields
    assert not Community.objects.exists()
    assert not InterestTag.objects.exists()


def test_tags_are_normalised_and_shared_case_insensitively(owner, make_community):
    first = make_community(owner=owner, tags=["Hiking", "hiking ", "#HIKING", "Trail  Running"])
    second = make_community(owner=owner, name="Other", tags=["hIkInG"])
    assert sorted(t.name for t in first.tags.all()) == ["hiking", "trail running"]
    assert InterestTag.objects.count() == 2
    assert list(second.tags.all()) == [InterestTag.objects.get(name="hiking")]


def test_tags_from_typed_text(owner):
    tags = services.get_or_create_tags(names="hiking, #coffee 露营")
    assert [t.name for t in tags] == ["hiking", "coffee", "露营"]


def test_html_in_name_is_stored_as_given(owner):
    name = "<script>x</script>"
    community = services.create_community(actor=owner, name=name, tags=["a"])
    assert refreshed(community).name == name


def test_unknown_visibility_rejected(owner):
    with pytest.raises(ValidationFailed):
        services.create_community(actor=owner, name="Vis", tags=["a"], visibility="secret")
    assert not Community.objects.exists()


# --- cover images ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_cover_is_reencoded(owner, fmt, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    community = services.create_community(
        actor=owner, name="Pics", tags=["a"], cover=image_upload(fmt, size=(2000, 1000))
    )
    with Image.open(community.cover.path) as stored:
        assert stored.format == "JPEG"  # opaque pictures are re-encoded, whatever they came as
        assert stored.size == (1600, 800)


def test_small_cover_keeps_its_size(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    community = services.create_community(
        actor=owner, name="Pics", tags=["a"], cover=image_upload("PNG", size=(300, 200))
    )
    with Image.open(community.cover.path) as stored:
        assert stored.size == (300, 200)


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png"),
        SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, content_type="image/png"),
        SimpleUploadedFile("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ],
)
def test_non_image_cover_rejected(owner, upload):
    with pytest.raises(ValidationFailed) as exc:
        services.create_community(actor=owner, name="Pics", tags=["a"], cover=upload)
    assert "cover" in exc.value.fields
    assert not Community.objects.exists()


def test_gif_cover_rejected(owner):
    with pytest.raises(ValidationFailed):
        services.create_community(
            actor=owner, name="Pics", tags=["a"], cover=image_upload("GIF", name="x.gif")
        )
    assert not Community.objects.exists()


def test_cover_over_5mb_rejected(owner):
    big = SimpleUploadedFile("big.png", b"\0" * (5 * 1024 * 1024 + 1), content_type="image/png")
    with pytest.raises(ValidationFailed) as exc:
        services.create_community(actor=owner, name="Pics", tags=["a"], cover=big)
    assert "5 MB" in str(exc.value.message)


# --- joining --------------------------------------------------------------------------------


def test_join_public(community, other_user):
    with recorded_events() as events:
        services.join_community(actor=other_user, community=community)
    assert selectors.is_member(user=other_user, community=community)
    assert refreshed(community).member_count == 2
    assert [e.name for e in events] == ["communities.community.member_joined"]


def test_joining_twice_is_a_clear_error_and_changes_nothing(community, other_user):
    services.join_community(actor=other_user, community=community)
    with pytest.raises(Conflict) as exc:
        services.join_community(actor=other_user, community=community)
    assert exc.value.code == "already_member"
    assert refreshed(community).member_count == 2
    assert Membership.objects.filter(community=community).count() == 2


def test_owner_joining_own_community_is_already_member(community, owner):
    with pytest.raises(Conflict) as exc:
        services.join_community(actor=owner, community=community)
    assert exc.value.code == "already_member"


def test_cannot_join_approval_or_invite_directly(make_community, other_user):
    approval = make_community(visibility="approval")
    invite_only = make_community(visibility="invite")
    with pytest.raises(Conflict) as exc:
        services.join_community(actor=other_user, community=approval)
    assert exc.value.code == "approval_required"
    with pytest.raises(PermissionDenied) as exc:
        services.join_community(actor=other_user, community=invite_only)
    assert exc.value.code == "invite_only"
    assert refreshed(approval).member_count == 1


@pytest.mark.parametrize("action", ["archive", "dissolve"])
def test_cannot_join_archived_or_dissolved(community, owner, other_user, action):
    getattr(services, f"{action}_community")(actor=owner, community=community)
    with pytest.raises(Conflict) as exc:
        services.join_community(actor=other_user, community=refreshed(community))
    assert exc.value.code in {"community_archived", "community_dissolved"}
    assert not selectors.is_member(user=other_user, community=community)
    assert refreshed(community).member_count == 1


def test_stale_community_object_still_cannot_be_joined(community, owner, other_user):
    stale = Community.objects.get(pk=community.pk)
    services.archive_community(actor=owner, community=community)
    with pytest.raises(Conflict):
        services.join_community(actor=other_user, community=stale)
    assert not Membership.objects.filter(user=other_user).exists()


def test_leave_and_rejoin(community, member):
    services.leave_community(actor=member, community=community)
    assert refreshed(community).member_count == 1
    assert state_of(member, community) == "left"
    services.join_community(actor=member, community=community)
    assert refreshed(community).member_count == 2


def test_leave_emits_event(community, member):
    with recorded_events() as events:
        services.leave_community(actor=member, community=community)
    assert [(e.name, e.payload["reason"]) for e in events] == [
        ("communities.community.member_left", "left")
    ]


def test_owner_must_transfer_before_leaving(community, owner):
    with pytest.raises(Conflict) as exc:
        services.leave_community(actor=owner, community=community)
    assert exc.value.code == "owner_must_transfer"
    assert refreshed(community).member_count == 1


def test_non_member_cannot_leave(community, other_user):
    with pytest.raises(Conflict) as exc:
        services.leave_community(actor=other_user, community=community)
    assert exc.value.code == "not_member"


def test_blocked_by_owner_cannot_join(community, owner, other_user):
    Block.objects.create(blocker=owner, blocked=other_user)
    with pytest.raises(PermissionDenied) as exc:
        services.join_community(actor=other_user, community=community)
    assert exc.value.code == "blocked"
    assert refreshed(community).member_count == 1


# --- requests -------------------------------------------------------------------------------


@pytest.fixture
def approval_community(make_community, owner):
    return make_community(owner=owner, name="Quiet readers", visibility="approval")


def test_request_then_approve(approval_community, owner, other_user):
    services.request_to_join(actor=other_user, community=approval_community)
    assert state_of(other_user, approval_community) == "pending"
    assert refreshed(approval_community).member_count == 1
    with pytest.raises(Conflict) as exc:
        services.request_to_join(actor=other_user, community=approval_community)
    assert exc.value.code == "already_requested"
    services.approve_request(actor=owner, community=approval_community, user=other_user)
    assert selectors.is_member(user=other_user, community=approval_community)
    assert refreshed(approval_community).member_count == 2
    with pytest.raises(Conflict):
        services.approve_request(actor=owner, community=approval_community, user=other_user)
    assert refreshed(approval_community).member_count == 2


def test_request_then_reject_then_request_again(approval_community, owner, other_user):
    services.request_to_join(actor=other_user, community=approval_community)
    services.reject_request(actor=owner, community=approval_community, user=other_user)
    assert state_of(other_user, approval_community) == "rejected"
    services.request_to_join(actor=other_user, community=approval_community)
    assert state_of(other_user, approval_community) == "pending"


def test_cancel_request(approval_community, other_user):
    services.request_to_join(actor=other_user, community=approval_community)
    services.cancel_request(actor=other_user, community=approval_community)
    assert state_of(other_user, approval_community) == "left"
    with pytest.raises(Conflict):
        services.cancel_request(actor=other_user, community=approval_community)


def test_request_to_public_community_says_join_directly(community, other_user):
    with pytest.raises(Conflict) as exc:
        services.request_to_join(actor=other_user, community=community)
    assert exc.value.code == "join_directly"


def test_plain_member_cannot_approve(approval_community, make_user, other_user):
    plain = make_user()
    services.request_to_join(actor=other_user, community=approval_community)
    services.request_to_join(actor=plain, community=approval_community)
    services.approve_request(
        actor=approval_community.owner, community=approval_community, user=plain
    )
    with pytest.raises(PermissionDenied):
        services.approve_request(actor=plain, community=approval_community, user=other_user)
    assert state_of(other_user, approval_community) == "pending"


def test_moderator_approves(approval_community, owner, make_user, other_user):
    mod = make_user()
    services.request_to_join(actor=mod, community=approval_community)
    services.approve_request(actor=owner, community=approval_community, user=mod)
    services.promote_moderator(actor=owner, community=approval_community, user=mod)
    services.request_to_join(actor=other_user, community=approval_community)
    services.approve_request(actor=mod, community=approval_community, user=other_user)
    assert refreshed(approval_community).member_count == 3


# --- roles and moderation -------------------------------------------------------------------


def test_moderator_removes_and_bans_members(community, moderator, member, make_user):
    services.remove_member(actor=moderator, community=community, user=member)
    assert state_of(member, community) == "removed"
    assert refreshed(community).member_count == 2
    another = make_user()
    services.join_community(actor=another, community=community)
    with recorded_events() as events:
        services.ban_member(actor=moderator, community=community, user=another)
    assert [e.payload["reason"] for e in events] == ["banned"]
    assert state_of(another, community) == "banned"
    assert refreshed(community).member_count == 2


def test_moderator_cannot_touch_owner_or_other_moderators(community, owner, moderator, make_user):
    other_mod = make_user()
    services.join_community(actor=other_mod, community=community)
    services.promote_moderator(actor=owner, community=community, user=other_mod)
    for target in (owner, other_mod):
        for action in (services.remove_member, services.ban_member):
            with pytest.raises(PermissionDenied):
                action(actor=moderator, community=community, user=target)
    assert refreshed(community).member_count == 3


def test_owner_can_remove_a_moderator(community, owner, moderator):
    services.remove_member(actor=owner, community=community, user=moderator)
    membership = Membership.objects.get(user=moderator, community=community)
    assert (membership.state, membership.role) == ("removed", "member")


def test_member_cannot_moderate(community, member, make_user):
    victim = make_user()
    services.join_community(actor=victim, community=community)
    for action in (services.remove_member, services.ban_member, services.promote_moderator):
        with pytest.raises(PermissionDenied):
            action(actor=member, community=community, user=victim)
    assert state_of(victim, community) == "active"


def test_outsider_cannot_moderate(community, member, other_user):
    with pytest.raises(PermissionDenied):
        services.remove_member(actor=other_user, community=community, user=member)
    with pytest.raises(PermissionDenied):
        services.create_invite(actor=other_user, community=community)


def test_operator_is_not_a_moderator(community, member, operator):
    with pytest.raises(PermissionDenied):
        services.remove_member(actor=operator, community=community, user=member)


def test_banned_user_cannot_join_request_invite_or_act(community, owner, member, moderator):
    services.ban_member(actor=owner, community=community, user=moderator)
    invite = services.create_invite(actor=owner, community=community)
    with pytest.raises(PermissionDenied) as exc:
        services.join_community(actor=moderator, community=community)
    assert exc.value.code == "banned"
    with pytest.raises(PermissionDenied):
        services.join_by_invite(actor=moderator, code=invite.code)
    with pytest.raises(PermissionDenied):
        services.remove_member(actor=moderator, community=community, user=member)
    assert not selectors.is_member(user=moderator, community=community)
    assert refreshed(invite.community).member_count == 2
    invite.refresh_from_db()
    assert invite.use_count == 0


def test_preemptive_ban_and_unban(community, owner, other_user):
    services.ban_member(actor=owner, community=community, user=other_user)
    assert refreshed(community).member_count == 1
    with pytest.raises(Conflict) as exc:
        services.ban_member(actor=owner, community=community, user=other_user)
    assert exc.value.code == "already_banned"
    services.unban_member(actor=owner, community=community, user=other_user)
    services.join_community(actor=other_user, community=community)
    assert refreshed(community).member_count == 2
    with pytest.raises(Conflict):
        services.unban_member(actor=owner, community=community, user=other_user)


def test_banned_requester_cannot_request(make_community, owner, other_user):
    approval = make_community(owner=owner, visibility="approval")
    services.ban_member(actor=owner, community=approval, user=other_user)
    with pytest.raises(PermissionDenied):
        services.request_to_join(actor=other_user, community=approval)


def test_cannot_ban_yourself(community, owner):
    with pytest.raises(PermissionDenied):
        services.ban_member(actor=owner, community=community, user=owner)


def test_promote_and_demote_owner_only(community, owner, moderator, member):
    with pytest.raises(PermissionDenied):
        services.promote_moderator(actor=moderator, community=community, user=member)
    with pytest.raises(PermissionDenied):
        services.demote_moderator(actor=moderator, community=community, user=moderator)
    services.demote_moderator(actor=owner, community=community, user=moderator)
    assert not selectors.is_moderator(user=moderator, community=community)
    with pytest.raises(Conflict):
        services.demote_moderator(actor=owner, community=community, user=moderator)


def test_cannot_promote_non_member(community, owner, other_user):
    with pytest.raises(Conflict):
        services.promote_moderator(actor=owner, community=community, user=other_user)


def test_transfer_ownership(community, owner, member):
    services.transfer_ownership(actor=owner, community=community, new_owner=member)
    community = refreshed(community)
    assert community.owner == member
    assert Membership.objects.get(user=member, community=community).role == "owner"
    assert Membership.objects.get(user=owner, community=community).role == "moderator"
    assert community.member_count == 2
    services.leave_community(actor=owner, community=community)
    with pytest.raises(PermissionDenied):
        services.transfer_ownership(actor=owner, community=community, new_owner=member)


def test_transfer_only_to_active_member(community, owner, other_user, moderator):
    with pytest.raises(Conflict):
        services.transfer_ownership(actor=owner, community=community, new_owner=other_user)
    with pytest.raises(PermissionDenied):
        services.transfer_ownership(actor=moderator, community=community, new_owner=moderator)
    assert refreshed(community).owner == owner


# --- invites --------------------------------------------------------------------------------


@pytest.fixture
def invite_only(make_community, owner):
    return make_community(owner=owner, name="Secret garden", visibility="invite")


def test_invite_link_joins_invite_only(invite_only, owner, other_user):
    invite = services.create_invite(actor=owner, community=invite_only, max_uses=2)
    services.join_by_invite(actor=other_user, code=invite.code)
    invite.refresh_from_db()
    assert invite.use_count == 1
    assert refreshed(invite_only).member_count == 2
    with pytest.raises(Conflict) as exc:
        services.join_by_invite(actor=other_user, code=invite.code)
    assert exc.value.code == "already_member"
    invite.refresh_from_db()
    assert invite.use_count == 1


def test_invite_turns_pending_request_into_membership(make_community, owner, other_user):
    approval = make_community(owner=owner, visibility="approval")
    services.request_to_join(actor=other_user, community=approval)
    invite = services.create_invite(actor=owner, community=approval)
    services.join_by_invite(actor=other_user, code=invite.code)
    assert state_of(other_user, approval) == "active"
    assert refreshed(approval).member_count == 2


def test_expired_invite(invite_only, owner, other_user):
    invite = services.create_invite(actor=owner, community=invite_only, expires_in_hours=1)
    with clock.frozen_at(clock.now() + timedelta(hours=2)), pytest.raises(Conflict) as exc:
        services.join_by_invite(actor=other_user, code=invite.code)
    assert exc.value.code == "invite_expired"
    assert "expired" in str(exc.value.message)
    assert not Membership.objects.filter(user=other_user).exists()


def test_revoked_invite(invite_only, owner, other_user):
    invite = services.create_invite(actor=owner, community=invite_only)
    services.revoke_invite(actor=owner, invite=invite)
    with pytest.raises(Conflict) as exc:
        services.join_by_invite(actor=other_user, code=invite.code)
    assert exc.value.code == "invite_revoked"
    assert not Membership.objects.filter(user=other_user).exists()
    with pytest.raises(Conflict):
        services.revoke_invite(actor=owner, invite=invite)


def test_used_up_invite(invite_only, owner, make_user):
    invite = services.create_invite(actor=owner, community=invite_only, max_uses=1)
    services.join_by_invite(actor=make_user(), code=invite.code)
    late = make_user()
    with pytest.raises(Conflict) as exc:
        services.join_by_invite(actor=late, code=invite.code)
    assert exc.value.code == "invite_used_up"
    assert not Membership.objects.filter(user=late).exists()
    assert refreshed(invite_only).member_count == 2


def test_unknown_invite_code(other_user):
    with pytest.raises(NotFound):
        services.join_by_invite(actor=other_user, code="nope")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expires_in_hours": 0},
        {"expires_in_hours": 10**9},
        {"expires_in_hours": -5},
        {"max_uses": 0},
        {"max_uses": -1},
        {"max_uses": 10**12},
        {"expires_in_hours": "3"},
    ],
)
def test_bad_invite_settings(community, owner, kwargs):
    with pytest.raises(ValidationFailed):
        services.create_invite(actor=owner, community=community, **kwargs)
    assert not CommunityInvite.objects.exists()


def test_member_cannot_create_or_revoke_invites(community, owner, member):
    with pytest.raises(PermissionDenied):
        services.create_invite(actor=member, community=community)
    invite = services.create_invite(actor=owner, community=community)
    with pytest.raises(PermissionDenied):
        services.revoke_invite(actor=member, invite=invite)


def test_moderator_creates_invites(community, moderator):
    assert services.create_invite(actor=moderator, community=community).code


def test_blocked_user_cannot_use_invite(invite_only, owner, other_user):
    Block.objects.create(blocker=owner, blocked=other_user)
    invite = services.create_invite(actor=owner, community=invite_only)
    with pytest.raises(PermissionDenied):
        services.join_by_invite(actor=other_user, code=invite.code)


# --- archive and dissolve -------------------------------------------------------------------


def test_archive_is_read_only(community, owner, member, other_user):
    invite = services.create_invite(actor=owner, community=community)
    with recorded_events() as events:
        services.archive_community(actor=owner, community=community)
    assert [e.name for e in events] == ["communities.community.archived"]
    community = refreshed(community)
    with pytest.raises(Conflict):
        services.create_invite(actor=owner, community=community)
    with pytest.raises(Conflict):
        services.join_by_invite(actor=other_user, code=invite.code)
    with pytest.raises(Conflict):
        services.update_community(actor=owner, community=community, name="New name")
    # Leaving stays possible: nobody is kept in a community against their will.
    services.leave_community(actor=member, community=community)
    services.unarchive_community(actor=owner, community=community)
    services.join_community(actor=other_user, community=refreshed(community))


def test_operator_archives_and_unarchives(community, operator):
    services.archive_community(actor=operator, community=community)
    assert refreshed(community).state == "archived"
    services.unarchive_community(actor=operator, community=community)
    assert refreshed(community).state == "active"


def test_member_and_moderator_cannot_archive(community, member, moderator):
    for actor in (member, moderator):
        with pytest.raises(PermissionDenied):
            services.archive_community(actor=actor, community=community)
    assert refreshed(community).state == "active"


def test_archive_twice(community, owner):
    services.archive_community(actor=owner, community=community)
    with pytest.raises(Conflict):
        services.archive_community(actor=owner, community=community)


def test_dissolve_notifies_members(community, owner, member, moderator):
    with recorded_events() as events:
        services.dissolve_community(actor=owner, community=community)
    (event,) = events
    assert event.name == "communities.community.dissolved"
    assert sorted(event.payload["member_public_ids"]) == sorted(
        [owner.public_id, member.public_id, moderator.public_id]
    )
    assert refreshed(community).state == "dissolved"
    assert community not in selectors.search_communities(query="")
    with pytest.raises(Conflict):
        services.dissolve_community(actor=owner, community=community)


def test_only_owner_dissolves(community, moderator, operator):
    for actor in (moderator, operator):
        with pytest.raises(PermissionDenied):
            services.dissolve_community(actor=actor, community=community)
    assert refreshed(community).state == "active"


def test_dissolve_revokes_invites_and_closes_requests(make_community, owner, other_user):
    approval = make_community(owner=owner, visibility="approval")
    services.request_to_join(actor=other_user, community=approval)
    invite = services.create_invite(actor=owner, community=approval)
    services.dissolve_community(actor=owner, community=approval)
    invite.refresh_from_db()
    assert invite.revoked_at is not None
    assert state_of(other_user, approval) == "rejected"


# --- editing --------------------------------------------------------------------------------


def test_moderator_edits(community, moderator):
    services.update_community(
        actor=moderator, community=community, description="New", tags=["camping", "hiking"]
    )
    community = refreshed(community)
    assert community.description == "New"
    assert sorted(t.name for t in community.tags.all()) == ["camping", "hiking"]


def test_member_cannot_edit(community, member):
    with pytest.raises(PermissionDenied):
        services.update_community(actor=member, community=community, name="Hacked")
    assert refreshed(community).name == "Weekend hikers"


def test_bad_edit_changes_nothing(community, owner):
    with pytest.raises(ValidationFailed):
        services.update_community(actor=owner, community=community, name="Ok", tags=[])
    assert refreshed(community).name == "Weekend hikers"
