import pytest

from shoploop.communities import services
from shoploop.communities.models import Community, Membership
from shoploop.communities.tests.conftest import image_upload

pytestmark = pytest.mark.django_db


def test_create_and_detail(api, user):
    response = api.post(
        "/communities/",
        {"name": "<b>Bold</b>", "description": "hi", "tags": ["Hiking"], "visibility": "approval"},
        user=user,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "<b>Bold</b>"
    assert body["my_role"] == "owner" and body["member_count"] == 1
    assert body["tags"] == ["hiking"]
    assert body["owner"]["id"] == user.public_id
    public = api.get(f"/communities/{body['id']}").json()
    assert public["my_role"] is None and public["name"] == "<b>Bold</b>"


def test_create_needs_auth_and_valid_input(api, user):
    assert api.post("/communities/", {"name": "Hi", "tags": ["a"]}).status_code == 401
    response = api.post(
        "/communities/", {"name": "Hi", "tags": [str(i) for i in range(9)]}, user=user
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert "tags" in response.json()["error"]["fields"]
    big = api.post(
        "/communities/", {"name": "Hi", "tags": ["a"], "description": "x" * 10_000_000}, user=user
    )
    assert big.status_code == 422
    assert api.post("/communities/", {"name": 5}, user=user).status_code == 422
    assert not Community.objects.exists()


def test_unverified_user_gets_403(api, make_user):
    response = api.post(
        "/communities/", {"name": "Hi", "tags": ["a"]}, user=make_user(verified=False)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "phone_not_verified"


def test_unknown_community_404(api, user):
    assert api.get("/communities/doesnotexist").status_code == 404
    assert api.post("/communities/doesnotexist/join", user=user).status_code == 404


def test_join_twice_and_leave(api, community, other_user):
    path = f"/communities/{community.public_id}"
    assert api.post(f"{path}/join", user=other_user).json()["state"] == "active"
    again = api.post(f"{path}/join", user=other_user)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_member"
    assert api.get(path, user=other_user).json()["my_state"] == "active"
    assert api.post(f"{path}/leave", user=other_user).json()["state"] == "left"
    community.refresh_from_db()
    assert community.member_count == 1


def test_request_approve_flow(api, make_community, owner, other_user):
    community = make_community(owner=owner, visibility="approval")
    path = f"/communities/{community.public_id}"
    assert api.post(f"{path}/request", user=other_user).json()["state"] == "pending"
    listed = api.get(f"{path}/requests", user=owner).json()
    assert [r["user"]["id"] for r in listed["results"]] == [other_user.public_id]
    assert api.get(f"{path}/requests", user=other_user).status_code == 403
    denied = api.post(f"{path}/members/{other_user.public_id}/approve", user=other_user)
    assert denied.status_code == 403
    ok = api.post(f"{path}/members/{other_user.public_id}/approve", user=owner)
    assert ok.status_code == 200 and ok.json()["state"] == "active"


def test_members_cursor_pagination(api, community, make_user):
    for _ in range(5):
        services.join_community(actor=make_user(), community=community)
    first = api.get(f"/communities/{community.public_id}/members", page_size=4).json()
    assert len(first["results"]) == 4 and first["next"]
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    from urllib.parse import unquote

    second = api.get(
        f"/communities/{community.public_id}/members", page_size=4, cursor=unquote(cursor)
    ).json()
    ids = {m["user"]["id"] for m in first["results"] + second["results"]}
    assert len(ids) == 6


def test_private_member_list_for_members_only(api, make_community, owner, other_user, operator):
    secret = make_community(owner=owner, visibility="invite")
    path = f"/communities/{secret.public_id}/members"
    assert api.get(path).status_code == 403
    assert api.get(path, user=other_user).status_code == 403
    assert api.get(path, user=owner).status_code == 200
    assert api.get(path, user=operator).status_code == 200


def test_invites_via_api(api, make_community, owner, other_user):
    secret = make_community(owner=owner, visibility="invite")
    path = f"/communities/{secret.public_id}/invites"
    assert api.post(path, {"expires_in_hours": 24}, user=other_user).status_code == 403
    bad = api.post(path, {"expires_in_hours": -1}, user=owner)
    assert bad.status_code == 422
    created = api.post(path, {"expires_in_hours": 24, "max_uses": 3}, user=owner)
    assert created.status_code == 201
    invite = created.json()
    assert invite["usable"] and "/c/invite/" in invite["url"]
    listed = api.get(path, user=owner).json()["results"]
    assert [i["id"] for i in listed] == [invite["id"]]
    joined = api.post("/communities/join-by-invite", {"code": invite["code"]}, user=other_user)
    assert joined.status_code == 200
    revoked = api.delete(f"{path}/{invite['id']}", user=owner)
    assert revoked.json()["usable"] is False
    late = api.post("/communities/join-by-invite", {"code": invite["code"]}, user=owner)
    assert late.status_code == 409


def test_update_and_cover(api, community, owner, member, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    path = f"/communities/{community.public_id}"
    assert api.patch(path, {"name": "Nope"}, user=member).status_code == 403
    assert api.patch(path, {"name": "Renamed"}, user=owner).json()["name"] == "Renamed"
    from django.test import Client

    from shoploop.accounts.auth import hash_token
    from shoploop.accounts.models import ApiToken

    ApiToken.objects.create(user=owner, token_hash=hash_token("raw-cover-token"))
    client = Client()
    headers = {"Authorization": "Bearer raw-cover-token"}
    ok = client.post(f"/api/v1{path}/cover", {"cover": image_upload()}, headers=headers)
    assert ok.status_code == 200, ok.content
    assert ok.json()["cover_url"]
    bad = client.post(
        f"/api/v1{path}/cover", {"cover": image_upload("GIF", name="x.gif")}, headers=headers
    )
    assert bad.status_code == 422


def test_moderation_endpoints(api, community, owner, member, make_user):
    path = f"/communities/{community.public_id}"
    newbie = make_user()
    services.join_community(actor=newbie, community=community)
    assert api.post(f"{path}/members/{member.public_id}/promote", user=owner).json()["role"] == (
        "moderator"
    )
    assert api.post(f"{path}/members/{owner.public_id}/ban", user=member).status_code == 403
    assert api.post(f"{path}/members/{newbie.public_id}/ban", user=member).json()["state"] == (
        "banned"
    )
    assert api.post(f"{path}/join", user=newbie).json()["error"]["code"] == "banned"
    assert api.post(f"{path}/members/{newbie.public_id}/unban", user=member).status_code == 200
    assert api.post(f"{path}/members/{member.public_id}/demote", user=owner).status_code == 200
    assert api.post(f"{path}/members/nobody/remove", user=owner).status_code == 404
    moved = api.post(f"{path}/transfer", {"user_id": member.public_id}, user=owner).json()
    assert moved["owner"]["id"] == member.public_id and moved["my_role"] == "moderator"


@pytest.mark.parametrize(
    "who, archive_status",
    [
        ("anonymous", 401),
        ("other", 403),
        ("member", 403),
        ("moderator", 403),
        ("owner", 200),
        ("operator", 200),
    ],
)
def test_archive_authorization_matrix(
    api, community, owner, member, moderator, other_user, operator, who, archive_status
):
    actors = {
        "anonymous": None,
        "other": other_user,
        "member": member,
        "moderator": moderator,
        "owner": owner,
        "operator": operator,
    }
    response = api.post(f"/communities/{community.public_id}/archive", user=actors[who])
    assert response.status_code == archive_status
    community.refresh_from_db()
    assert community.state == ("archived" if archive_status == 200 else "active")


@pytest.mark.parametrize(
    "who, status",
    [("other", 403), ("member", 403), ("moderator", 403), ("operator", 403), ("owner", 200)],
)
def test_dissolve_authorization_matrix(
    api, community, owner, member, moderator, other_user, operator, who, status
):
    actors = {
        "other": other_user,
        "member": member,
        "moderator": moderator,
        "owner": owner,
        "operator": operator,
    }
    response = api.post(f"/communities/{community.public_id}/dissolve", user=actors[who])
    assert response.status_code == status


@pytest.mark.parametrize(
    "who, status",
    [("other", 403), ("member", 403), ("moderator", 200), ("owner", 200), ("operator", 403)],
)
def test_remove_authorization_matrix(
    api, community, owner, member, moderator, other_user, operator, make_user, who, status
):
    target = make_user()
    services.join_community(actor=target, community=community)
    actors = {
        "other": other_user,
        "member": member,
        "moderator": moderator,
        "owner": owner,
        "operator": operator,
    }
    response = api.post(
        f"/communities/{community.public_id}/members/{target.public_id}/remove", user=actors[who]
    )
    assert response.status_code == status
    expected = "removed" if status == 200 else "active"
    assert Membership.objects.get(user=target, community=community).state == expected


def test_list_search_and_for_you(api, make_community, user):
    make_community(name="Coffee club", tags=["coffee"])
    make_community(name="Secret", visibility="invite")
    listed = api.get("/communities/", q="coffee").json()
    assert [c["name"] for c in listed] == ["Coffee club"]
    assert api.get("/communities/", tag="coffee").json()[0]["name"] == "Coffee club"
    assert len(api.get("/communities/").json()) == 1
    anonymous = api.get("/communities/for-you").json()
    assert anonymous[0]["kind"] == "popular" and anonymous[0]["reason"]
    assert api.get("/communities/for-you", user=user).status_code == 200
    assert api.get("/communities/mine", user=user).json() == []
