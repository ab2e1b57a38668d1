import pytest
from django.test import override_settings

from shoploop.accounts import services
from shoploop.accounts.models import ApiToken, Follow, User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.accounts.tests.images import image_upload

PHONE = "+8613712345678"


def _error(response):
    return response.json()["error"]


def test_sign_in_by_code_returns_a_working_bearer_token(api, client):
    sent = api.post("/accounts/otp/send", {"phone": "137 1234 5678"})
    assert sent.status_code == 202 and sent.json()["phone"] == PHONE
    code = latest_debug_code(PHONE)
    verified = api.post(
        "/accounts/otp/verify",
        {"phone": PHONE, "code": code, "token_name": "iPhone", "accept_terms": True},
    )
    assert verified.status_code == 200
    body = verified.json()
    assert body["signed_up"] is True and body["user"]["phone"] == PHONE
    assert body["user"]["terms_version"] == services.TERMS_VERSION
    assert body["user"]["terms_accepted_at"]
    assert ApiToken.objects.get().name == "iPhone"
    me = client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["id"] == User.objects.get().public_id


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("12345", "phone_invalid"),
        ("+14155552671", "phone_region_unsupported"),
        ("010 12345678", "phone_not_mobile"),
    ],
)
def test_otp_send_bad_numbers(api, phone, code):
    response = api.post("/accounts/otp/send", {"phone": phone})
    assert response.status_code == 422 and _error(response)["code"] == code


def test_otp_send_huge_or_missing_body(api):
    assert api.post("/accounts/otp/send", {"phone": "1" * 100_000}).status_code == 422
    assert api.post("/accounts/otp/send", {}).status_code == 422


def test_otp_resend_too_soon_is_429(api):
    api.post("/accounts/otp/send", {"phone": PHONE})
    response = api.post("/accounts/otp/send", {"phone": PHONE})
    assert response.status_code == 429 and _error(response)["code"] == "rate_limited"


@override_settings(OTP_SENDS_PER_IP_PER_HOUR=1)
def test_otp_per_ip_limit_is_429(api):
    api.post("/accounts/otp/send", {"phone": PHONE})
    response = api.post("/accounts/otp/send", {"phone": "+8613700000000"})
    assert response.status_code == 429 and _error(response)["code"] == "rate_limited"


def test_otp_verify_wrong_code(api):
    api.post("/accounts/otp/send", {"phone": PHONE})
    code = latest_debug_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    response = api.post("/accounts/otp/verify", {"phone": PHONE, "code": wrong})
    assert response.status_code == 422 and _error(response)["code"] == "code_wrong"
    assert not User.objects.exists() and not ApiToken.objects.exists()


def test_me_needs_authentication(api):
    response = api.get("/accounts/me")
    assert response.status_code == 401 and _error(response)["code"] == "not_authenticated"


def test_patch_me(api, user):
    response = api.patch(
        "/accounts/me", {"display_name": "<i>Ann</i>", "bio": "hello", "locale": "en"}, user=user
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "<i>Ann</i>"
    user.refresh_from_db()
    assert (user.bio, user.locale) == ("hello", "en")


def test_patch_me_bad_input_changes_nothing(api, user):
    response = api.patch("/accounts/me", {"display_name": "x" * 41, "bio": "new"}, user=user)
    assert response.status_code == 422 and _error(response)["code"] == "display_name_too_long"
    assert User.objects.get(pk=user.pk).bio == ""
    assert api.patch("/accounts/me", {"bio": "b" * 100_000}, user=user).status_code == 422


def test_avatar_upload_through_the_api(client, user, make_token):
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    ok = client.post("/api/v1/accounts/me/avatar", {"avatar": image_upload()}, headers=headers)
    assert ok.status_code == 200 and ok.json()["avatar_url"].endswith(".jpg")
    bad = client.post(
        "/api/v1/accounts/me/avatar", {"avatar": image_upload("GIF", size=(5, 5))}, headers=headers
    )
    assert bad.status_code == 422 and _error(bad)["code"] == "avatar_not_image"


def test_public_profile_never_shows_the_phone(api, user, other_user):
    response = api.get(f"/accounts/users/{user.public_id}")
    assert response.status_code == 200
    assert user.phone not in response.content.decode()
    assert user.phone[3:] not in response.content.decode()
    assert response.json()["id"] == user.public_id
    assert api.get("/accounts/users/nope").status_code == 404
    assert api.get(f"/accounts/users/{user.pk}").status_code == 404


def test_follow_unfollow_block_through_the_api(api, user, other_user):
    path = f"/accounts/users/{other_user.public_id}"
    assert api.post(f"{path}/follow", user=user).json()["following"] is True
    twice = api.post(f"{path}/follow", user=user)
    assert twice.status_code == 409 and _error(twice)["code"] == "already_following"
    assert Follow.objects.count() == 1
    assert api.delete(f"{path}/follow", user=user).json()["following"] is False
    assert api.post(f"{path}/block", user=user).json()["blocked"] is True
    back = api.post(f"/accounts/users/{user.public_id}/follow", user=other_user)
    assert back.status_code == 403 and _error(back)["code"] == "blocked"
    assert api.delete(f"{path}/block", user=user).json()["blocked"] is False
    self_follow = api.post(f"/accounts/users/{user.public_id}/follow", user=user)
    assert self_follow.status_code == 422
    assert api.post(f"{path}/follow").status_code == 401


def test_follower_lists_are_cursor_paginated(api, client, user, make_user):
    fans = [make_user() for _ in range(3)]
    for fan in fans:
        services.follow(follower=fan, followee=user)
    first = api.get(f"/accounts/users/{user.public_id}/followers", page_size=2).json()
    assert len(first["results"]) == 2 and first["next"]
    rest = client.get(first["next"]).json()  # "next" is the full link to the next page
    seen = {row["user"]["id"] for row in first["results"] + rest["results"]}
    assert seen == {fan.public_id for fan in fans}
    following = api.get(f"/accounts/users/{fans[0].public_id}/following").json()
    assert [row["user"]["id"] for row in following["results"]] == [user.public_id]


def test_token_endpoints(api, user, make_token):
    created = api.post("/accounts/tokens", {"name": "laptop"}, user=user)
    assert created.status_code == 201
    raw, token_id = created.json()["token"], created.json()["id"]
    listed = api.get("/accounts/tokens", user=user)
    body = listed.content.decode()
    assert raw not in body and "token_hash" not in body
    assert token_id in {row["id"] for row in listed.json()["results"]}
    assert api.delete(f"/accounts/tokens/{token_id}", user=user).json()["revoked_at"]
    again = api.delete(f"/accounts/tokens/{token_id}", user=user)
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["anonymous", "other_user", "operator"])
def test_nobody_else_can_revoke_my_token(api, user, other_user, operator, who):
    token = services.issue_api_token(user=user, name="mine").token
    caller = {"anonymous": None, "other_user": other_user, "operator": operator}[who]
    response = api.delete(f"/accounts/tokens/{token.public_id}", user=caller)
    assert response.status_code in {401, 403, 404}
    assert response.status_code == (401 if caller is None else 403)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_unknown_token_is_404(api, user):
    assert api.delete("/accounts/tokens/doesnotexist", user=user).status_code == 404


def test_sign_out_everywhere_kills_every_token(api, client, user, make_token):
    raw = make_token(user)
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.post("/api/v1/accounts/sign-out-everywhere", headers=headers)
    assert response.status_code == 200 and response.json()["revoked_tokens"] == 1
    assert client.get("/api/v1/accounts/me", headers=headers).status_code == 401


def test_session_auth_needs_csrf_for_writes(user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/v1/accounts/me").status_code == 200
    response = browser.patch("/api/v1/accounts/me", {"bio": "x"}, content_type="application/json")
    assert response.status_code in {401, 403}
    assert User.objects.get(pk=user.pk).bio == ""
