"""API authentication: bearer tokens for the apps, the session for the web pages' own calls."""

import hashlib

from ninja.security import HttpBearer, django_auth

from shoploop.accounts.models import ApiToken
from shoploop.core import clock


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        found = (
            ApiToken.objects.select_related("user")
            .filter(
                token_hash=hash_token(token),
                revoked_at__isnull=True,
                # A token works for API_TOKEN_TTL_DAYS after it was issued; rotate for a new one.
                created_at__gt=clock.now() - ApiToken.lifetime(),
                user__is_active=True,
            )
            .first()
        )
        if found is None:
            return None
        # Written at most once a minute per token, so reads do not each cost a write.
        now = clock.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        request.api_token = found
        return found.user


class OptionalAuth:
    """For public endpoints that read better when they know who asks (e.g. 'joined' flags)."""

    def __call__(self, request):
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            user = BearerToken().authenticate(request, auth[7:].strip())
            return user or None
        if request.user.is_authenticated:
            return request.user
        return AnonymousMarker


class _Anonymous:
    """Truthy so ninja lets the request through; handlers read ``request.user``."""

    is_authenticated = False


AnonymousMarker = _Anonymous()

api_auth = [BearerToken(), django_auth]
optional_auth = [OptionalAuth()]
