"""API tokens expire after API_TOKEN_TTL_DAYS and can be rotated (API and page)."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings

from shoploop.accounts import services
from shoploop.accounts.models import ApiToken
from shoploop.core import clock

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def _me(client, raw: str) -> int:
    return client.get("/api/v1/accounts/me", headers=_bearer(raw)).status_code


@override_settings(API_TOKEN_TTL_DAYS=30)
def test_a_token_stops_working_when_it_expires(client, user):
    issued = services.issue_api_token(user=user, name="phone")
    assert _me(client, issued.raw) == 200
    assert issued.token.expires_at == issued.token.created_at + timedelta(days=30)
    with clock.frozen_at(issued.token.created_at + timedelta(days=30, seconds=-1)):
        assert _me(client, issued.raw) == 200
    with clock.frozen_at(issued.token.created_at + timedelta(days=30)):
        answer = client.get("/api/v1/accounts/me", headers=_bearer(issued.raw))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


@override_settings(API_TOKEN_TTL_DAYS=1)
def test_the_lifetime_is_a_setting(client, user):
    issued = services.issue_api_token(user=user)
    with clock.frozen_at(issued.token.created_at + timedelta(days=1, seconds=1)):
        assert _me(Client(), issued.raw) == 401  # a fresh client: no session to fall back on


def test_expired_tokens_do_not_count_against_the_live_limit(user):
    for _ in range(services.MAX_ACTIVE_TOKENS):
        services.issue_api_token(user=user)
    later = clock.now() + ApiToken.lifetime() + timedelta(seconds=1)
    with clock.frozen_at(later):
        assert services.issue_api_token(user=user).token.user == user


def test_rotating_through_the_api_replaces_the_token(client, user, english):
    old = services.issue_api_token(user=user, name="tablet")
    answer = client.post(
        f"/api/v1/accounts/tokens/{old.token.public_id}/rotate", headers=_bearer(old.raw)
    )
    assert answer.status_code == 201
    fresh = answer.json()
    assert fresh["name"] == "tablet" and fresh["id"] != old.token.public_id
    assert fresh["expires_at"] and fresh["token"] != old.raw
    assert _me(client, old.raw) == 401
    assert _me(client, fresh["token"]) == 200
    again = client.post(
        f"/api/v1/accounts/tokens/{old.token.public_id}/rotate", headers=_bearer(fresh["token"])
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_revoked"


def test_nobody_rotates_someone_elses_token(api, user, other_user):
    theirs = services.issue_api_token(user=other_user)
    answer = api.post(f"/accounts/tokens/{theirs.token.public_id}/rotate", user=user)
    assert answer.status_code == 403
    assert _me(Client(), theirs.raw) == 200


def test_the_tokens_page_rotates_with_a_button(client, user, english):
    issued = services.issue_api_token(user=user, name="laptop")
    client.force_login(user)
    page = client.get("/accounts/tokens/").content.decode()
    assert f"/accounts/tokens/{issued.token.public_id}/rotate/" in page
    answer = client.post(f"/accounts/tokens/{issued.token.public_id}/rotate/")
    assert answer.status_code == 200
    fresh = ApiToken.objects.get(user=user, revoked_at__isnull=True)
    assert fresh.name == "laptop" and fresh.pk != issued.token.pk
    assert "Copy it now" in answer.content.decode()
    assert _me(Client(), issued.raw) == 401  # a fresh client: no session to fall back on
