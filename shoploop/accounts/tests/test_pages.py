import pytest
from django.conf import settings
from django.test import override_settings

from shoploop.accounts import services
from shoploop.accounts.models import ApiToken, Follow, User
from shoploop.accounts.selectors import latest_debug_code
from shoploop.accounts.tests.images import image_upload

PHONE = "+8613612345678"
SIGN_IN = "/accounts/sign-in/"


def _send(client, phone=PHONE, **extra):
    return client.post(SIGN_IN, {"action": "send", "phone": phone, **extra})


def _verify(client, code, phone=PHONE, **extra):
    return client.post(SIGN_IN, {"action": "verify", "phone": phone, "code": code, **extra})


def test_sign_in_page_renders_without_javascript(db, client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    assert b'name="phone"' in response.content and b'type="tel"' in response.content


def test_step_two_asks_for_the_code(db, client):
    response = _send(client, "136 1234 5678")
    assert response.status_code == 200
    assert b'name="code"' in response.content and PHONE.encode() in response.content
    assert b"data-debug-code" not in response.content  # DEBUG is off


def test_debug_shows_the_last_code_across_requests(db, client):
    with override_settings(DEBUG=True):
        _send(client)
        code = latest_debug_code(PHONE)
        response = _send(client)  # too soon: still shows the code sent by the first request
        assert response.status_code == 429
        response = client.post(SIGN_IN, {"action": "verify", "phone": PHONE, "code": "x"})
    assert code.encode() in response.content


def test_bad_phone_shows_the_message(db, client):
    response = _send(client, "+14155552671")
    assert response.status_code == 422
    assert b"+86" in response.content and b'class="error"' in response.content


def test_new_number_passes_the_first_time_step_then_is_signed_up(db, client):
    _send(client)
    code = latest_debug_code(PHONE)
    first_time = _verify(client, code)
    assert first_time.status_code == 200 and b'name="accept_terms"' in first_time.content
    assert not User.objects.filter(phone=PHONE).exists()
    response = _verify(client, code, step="welcome", accept_terms="on", display_name="小明")
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(phone=PHONE)
    assert user.phone_verified_at and user.display_name == "小明"
    assert user.terms_version == services.TERMS_VERSION and user.terms_accepted_at
    assert client.get("/accounts/profile/").status_code == 200


def test_sign_in_redirects_to_a_safe_next_and_sets_the_language(client, make_user):
    make_user(phone=PHONE, locale="en")
    _send(client, next="/u/someone/")
    response = _verify(client, latest_debug_code(PHONE), next="/u/someone/")
    assert response["Location"] == "/u/someone/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_sign_in_ignores_unsafe_next(client, make_user, target):
    make_user(phone=PHONE)
    _send(client)
    response = _verify(client, latest_debug_code(PHONE), next=target)
    assert response["Location"] == "/"


def test_wrong_code_shows_a_message_and_stays_on_step_two(db, client):
    _send(client)
    code = latest_debug_code(PHONE)
    response = _verify(client, "000000" if code != "000000" else "111111")
    assert response.status_code == 422
    assert b"tries left" in response.content and b'name="code"' in response.content
    assert "_auth_user_id" not in client.session


def test_banned_user_sees_why(client, make_user, operator):
    services.ban_user(user=make_user(phone=PHONE), actor=operator)
    _send(client)
    response = _verify(client, latest_debug_code(PHONE))
    assert response.status_code == 403 and b"suspended" in response.content


def test_sign_out_and_sign_out_everywhere(client, user, make_token):
    client.force_login(user)
    assert client.get("/accounts/sign-out/").status_code == 405
    make_token(user)
    response = client.post("/accounts/sign-out-everywhere/")
    assert response.status_code == 302
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    assert "_auth_user_id" not in client.session
    client.force_login(user)
    client.post("/accounts/sign-out/")
    assert "_auth_user_id" not in client.session


def test_profile_page_escapes_html_and_hides_the_phone(client, user, other_user):
    services.update_profile(actor=user, display_name="<script>alert(1)</script>", bio="<b>hi</b>")
    response = client.get(f"/u/{user.public_id}/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "&lt;b&gt;hi&lt;/b&gt;" in content
    assert user.phone not in content and user.phone[3:] not in content


def test_profile_of_unknown_or_banned_user_is_404(client, user, operator):
    assert client.get("/u/unknown/").status_code == 404
    services.ban_user(user=user, actor=operator)
    assert client.get(f"/u/{user.public_id}/").status_code == 404


def test_follow_buttons(client, user, other_user):
    client.force_login(user)
    page = client.get(f"/u/{other_user.public_id}/").content.decode()
    assert f"/u/{other_user.public_id}/follow/" in page
    client.post(f"/u/{other_user.public_id}/follow/")
    assert Follow.objects.filter(follower=user, followee=other_user).exists()
    again = client.post(f"/u/{other_user.public_id}/follow/", follow=True)
    assert "You already follow this person." in again.content.decode()
    assert Follow.objects.count() == 1
    client.post(f"/u/{other_user.public_id}/unfollow/")
    client.post(f"/u/{other_user.public_id}/block/")
    page = client.get(f"/u/{other_user.public_id}/").content.decode()
    assert f"/u/{other_user.public_id}/unblock/" in page
    client.post(f"/u/{other_user.public_id}/unblock/")
    assert not Follow.objects.exists()


def test_anonymous_follow_goes_to_sign_in(client, user):
    response = client.post(f"/u/{user.public_id}/follow/")
    assert response.status_code == 302 and response["Location"].startswith(SIGN_IN)
    assert not Follow.objects.exists()


def test_follower_and_following_pages_paginate(client, user, make_user):
    for _ in range(22):
        services.follow(follower=make_user(display_name="FanOfYours"), followee=user)
    first = client.get(f"/u/{user.public_id}/followers/")
    assert first.status_code == 200 and first.content.decode().count("FanOfYours") == 20
    second = client.get(f"/u/{user.public_id}/followers/?page=2")
    assert second.content.decode().count("FanOfYours") == 2
    assert client.get(f"/u/{user.public_id}/following/").status_code == 200


def test_edit_profile_page(client, user):
    assert client.get("/accounts/profile/").status_code == 302
    client.force_login(user)
    response = client.post(
        "/accounts/profile/", {"display_name": "New Name", "bio": "b", "locale": "en"}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).display_name == "New Name"
    bad = client.post("/accounts/profile/", {"display_name": "", "bio": "changed"})
    assert bad.status_code == 422 and User.objects.get(pk=user.pk).bio == "b"


def test_avatar_upload_page(client, user):
    client.force_login(user)
    ok = client.post("/accounts/profile/avatar/", {"avatar": image_upload()})
    assert ok.status_code == 302 and User.objects.get(pk=user.pk).avatar
    bad = client.post("/accounts/profile/avatar/", {"avatar": image_upload("GIF", size=(5, 5))})
    assert bad.status_code == 422 and b"JPEG, PNG or WebP" in bad.content


def test_tokens_page_shows_the_raw_token_once(client, user):
    client.force_login(user)
    created = client.post("/accounts/tokens/", {"name": "phone"})
    raw = created.context["issued"].raw
    assert raw in created.content.decode()
    assert raw not in client.get("/accounts/tokens/").content.decode()
    token = ApiToken.objects.get()
    client.post(f"/accounts/tokens/{token.public_id}/revoke/")
    assert ApiToken.objects.get().revoked_at


def test_another_user_cannot_revoke_my_token_from_the_page(client, user, other_user):
    token = services.issue_api_token(user=user).token
    client.force_login(other_user)
    assert client.post(f"/accounts/tokens/{token.public_id}/revoke/").status_code == 403
    assert ApiToken.objects.get().revoked_at is None
