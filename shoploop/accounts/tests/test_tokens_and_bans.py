import pytest

from shoploop.accounts import selectors, services
from shoploop.accounts.auth import hash_token
from shoploop.accounts.models import ApiToken, User
from shoploop.core import errors
from shoploop.core.events import recorded_events


def test_a_token_is_returned_once_and_only_its_hash_is_stored(user):
    issued = services.issue_api_token(user=user, name="my phone")
    assert len(issued.raw) >= 40
    stored = ApiToken.objects.get()
    assert stored.token_hash == hash_token(issued.raw)
    assert issued.raw not in {stored.token_hash, stored.name, stored.public_id}
    assert list(selectors.api_tokens_of(user)) == [stored]


@pytest.mark.parametrize("name", ["n" * 61, "tab\x00", "x" * (10 * 1024 * 1024)])
def test_bad_token_names_change_nothing(user, name):
    with pytest.raises(errors.ValidationFailed):
        services.issue_api_token(user=user, name=name)
    assert not ApiToken.objects.exists()


def test_active_tokens_are_capped(user):
    for _ in range(services.MAX_ACTIVE_TOKENS):
        services.issue_api_token(user=user)
    with pytest.raises(errors.Conflict) as caught:
        services.issue_api_token(user=user)
    assert caught.value.code == "too_many_tokens"
    services.revoke_api_token(actor=user, token=ApiToken.objects.first())
    services.issue_api_token(user=user)


def test_revoking_my_token(user):
    issued = services.issue_api_token(user=user)
    services.revoke_api_token(actor=user, token=issued.token)
    assert ApiToken.objects.get().revoked_at is not None
    with pytest.raises(errors.Conflict) as caught:
        services.revoke_api_token(actor=user, token=issued.token)
    assert caught.value.code == "already_revoked"


def test_another_user_cannot_revoke_my_token(user, other_user):
    issued = services.issue_api_token(user=user)
    with pytest.raises(errors.PermissionDenied):
        services.revoke_api_token(actor=other_user, token=issued.token)
    assert ApiToken.objects.get().revoked_at is None


def test_sign_out_everywhere_ends_sessions_and_revokes_tokens(client, user, other_user):
    services.issue_api_token(user=user)
    services.issue_api_token(user=other_user)
    client.force_login(user)
    assert client.get("/accounts/profile/").status_code == 200
    assert services.sign_out_everywhere(user=user) == 1
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert ApiToken.objects.filter(user=other_user, revoked_at__isnull=True).exists()


def test_only_operators_ban(user, other_user):
    with pytest.raises(errors.PermissionDenied):
        services.ban_user(user=other_user, actor=user, reason="nope")
    assert User.objects.get(pk=other_user.pk).is_active


def test_banning_ends_everything_and_unbanning_restores(client, user, operator):
    services.issue_api_token(user=user)
    client.force_login(user)
    with recorded_events() as events:
        services.ban_user(user=user, actor=operator, reason="scam listings")
    assert [e.name for e in events] == ["accounts.user.banned"]
    user.refresh_from_db()
    assert not user.is_active and user.ban_reason == "scam listings" and user.banned_at
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    assert client.get("/accounts/profile/").status_code == 302
    with pytest.raises(errors.Conflict):
        services.ban_user(user=user, actor=operator)
    services.unban_user(user=user, actor=operator)
    user.refresh_from_db()
    assert user.is_active and not user.ban_reason
    with pytest.raises(errors.Conflict):
        services.unban_user(user=user, actor=operator)


def test_operators_cannot_ban_themselves(operator):
    with pytest.raises(errors.ValidationFailed):
        services.ban_user(user=operator, actor=operator)
    with pytest.raises(errors.ValidationFailed):
        services.ban_user(user=operator, actor=operator, reason="r" * 201)


def test_admin_ban_action_calls_the_service(client, operator, user, other_user):
    client.force_login(operator)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "ban_selected", "_selected_action": [user.pk, other_user.pk]},
    )
    assert response.status_code == 302
    assert set(User.objects.filter(is_active=False).values_list("pk", flat=True)) == {
        user.pk,
        other_user.pk,
    }
    client.post(
        "/admin/accounts/user/", {"action": "unban_selected", "_selected_action": [user.pk]}
    )
    assert User.objects.get(pk=user.pk).is_active


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=138",
        "/admin/accounts/apitoken/",
        "/admin/accounts/follow/",
        "/admin/accounts/block/",
        "/admin/accounts/onetimecode/",
        "/admin/accounts/otpthrottle/",
    ],
)
def test_admin_pages_render(client, operator, user, path):
    services.issue_api_token(user=user)
    client.force_login(operator)
    assert client.get(path).status_code == 200


def test_admin_user_change_page_renders(client, operator, user):
    client.force_login(operator)
    assert client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
