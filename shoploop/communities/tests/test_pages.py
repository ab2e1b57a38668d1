import pytest
from django.urls import reverse

from shoploop.communities import services
from shoploop.communities.models import Community, Membership
from shoploop.communities.tests.conftest import image_upload

pytestmark = pytest.mark.django_db


def detail_url(community):
    return reverse("communities:detail", args=[community.public_id])


def test_index_anonymous_shows_popular(client, community):
    response = client.get(reverse("communities:list"))
    assert response.status_code == 200
    assert community.name in response.content.decode()
    assert "Popular" in response.content.decode() or "热门" in response.content.decode()


def test_index_signed_in_shows_mine_and_reasons(client, make_community, make_user):
    me = make_user()
    mine = make_community(name="Mine", tags=["hiking"])
    services.join_community(actor=me, community=mine)
    make_community(name="Hikers", tags=["hiking"])
    client.force_login(me)
    html = client.get(reverse("communities:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="my-communities"' in html and "Mine" in html
    assert "#hiking" in html and "Hikers" in html


def test_detail_escapes_user_text(client, owner):
    community = services.create_community(
        actor=owner,
        name="<script>alert(1)</script>",
        description="<img src=x onerror=1>",
        tags=["<b>"],
    )
    html = client.get(detail_url(community)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<b>" not in html.split("<main")[1]
    assert 'id="community-products"' in html


def test_join_and_leave_buttons(client, community, other_user):
    client.force_login(other_user)
    html = client.get(detail_url(community)).content.decode()
    assert reverse("communities:action", args=[community.public_id, "join"]) in html
    response = client.post(reverse("communities:action", args=[community.public_id, "join"]))
    assert response.status_code == 302
    html = client.get(detail_url(community)).content.decode()
    assert reverse("communities:action", args=[community.public_id, "leave"]) in html
    # Joining twice shows the service's message and changes nothing.
    client.post(reverse("communities:action", args=[community.public_id, "join"]))
    community.refresh_from_db()
    assert community.member_count == 2
    page = client.get(detail_url(community), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "flash-error" in page


def test_anonymous_actions_redirect_to_sign_in(client, community):
    response = client.post(reverse("communities:action", args=[community.public_id, "join"]))
    assert response.status_code == 302 and "sign-in" in response.url
    assert Community.objects.get(pk=community.pk).member_count == 1


def test_create_page(client, user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(user)
    assert client.get(reverse("communities:create")).status_code == 200
    response = client.post(
        reverse("communities:create"),
        {
            "name": "Runners",
            "description": "5k",
            "tags": "running, #morning",
            "visibility": "public",
            "cover": image_upload(),
        },
    )
    community = Community.objects.get()
    assert response.status_code == 302 and response.url == detail_url(community)
    assert community.cover


def test_create_page_shows_errors_and_saves_nothing(client, user):
    client.force_login(user)
    response = client.post(
        reverse("communities:create"),
        {"name": "R", "tags": "a", "visibility": "public"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    response = client.post(
        reverse("communities:create"),
        {
            "name": "Runners",
            "tags": "a",
            "visibility": "public",
            "cover": image_upload("GIF", name="x.gif"),
        },
    )
    assert response.status_code == 400
    assert not Community.objects.exists()


def test_members_page_paginated_with_roles(client, community, moderator, make_user):
    for _ in range(35):
        services.join_community(actor=make_user(), community=community)
    url = reverse("communities:members", args=[community.public_id])
    first = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Owner" in first and "Moderator" in first
    assert client.get(url, {"page": 2}).status_code == 200


def test_private_members_page(client, make_community, owner, other_user):
    secret = make_community(owner=owner, visibility="invite")
    url = reverse("communities:members", args=[secret.public_id])
    client.force_login(other_user)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "who, status", [("member", 403), ("moderator", 200), ("owner", 200), ("other", 403)]
)
def test_moderation_page_access(
    client, community, owner, member, moderator, other_user, who, status
):
    actors = {"member": member, "moderator": moderator, "owner": owner, "other": other_user}
    client.force_login(actors[who])
    response = client.get(reverse("communities:moderation", args=[community.public_id]))
    assert response.status_code == status


def test_moderation_actions_from_page(client, make_community, owner, other_user):
    approval = make_community(owner=owner, visibility="approval")
    services.request_to_join(actor=other_user, community=approval)
    client.force_login(owner)
    html = client.get(reverse("communities:moderation", args=[approval.public_id])).content
    assert other_user.display_name in html.decode()
    client.post(
        reverse(
            "communities:member_action", args=[approval.public_id, other_user.public_id, "approve"]
        )
    )
    assert Membership.objects.get(user=other_user, community=approval).state == "active"
    client.post(
        reverse("communities:invite_create", args=[approval.public_id]), {"expires_in_hours": 24}
    )
    assert approval.invites.count() == 1


def test_member_cannot_ban_from_page(client, community, member, moderator):
    client.force_login(member)
    client.post(
        reverse("communities:member_action", args=[community.public_id, moderator.public_id, "ban"])
    )
    assert Membership.objects.get(user=moderator, community=community).state == "active"


def test_invite_landing(client, make_community, owner, other_user):
    secret = make_community(owner=owner, visibility="invite")
    invite = services.create_invite(actor=owner, community=secret)
    url = reverse("communities:invite", args=[invite.code])
    client.force_login(other_user)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    services.revoke_invite(actor=owner, invite=invite)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "revoked" in response.content.decode()
    assert client.get(reverse("communities:invite", args=["nope"])).status_code == 404


def test_edit_page(client, community, owner, member):
    url = reverse("communities:edit", args=[community.public_id])
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    response = client.post(url, {"name": "New", "tags": "hiking", "visibility": "public"})
    assert response.status_code == 302
    community.refresh_from_db()
    assert community.name == "New"


def test_dissolved_community_page(client, community, owner):
    services.dissolve_community(actor=owner, community=community)
    assert client.get(detail_url(community)).status_code == 200
    assert community.name not in client.get(reverse("communities:list")).content.decode()


def test_admin_archive_action(client, community, operator):
    client.force_login(operator)
    response = client.post(
        reverse("admin:communities_community_changelist"),
        {"action": "archive", "_selected_action": [community.pk]},
    )
    assert response.status_code == 302
    community.refresh_from_db()
    assert community.state == "archived"
    for name in ("community", "membership", "interesttag", "communityinvite"):
        assert client.get(reverse(f"admin:communities_{name}_changelist")).status_code == 200
