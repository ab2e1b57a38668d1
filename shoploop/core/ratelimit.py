"""A small per-subject rate limiter on the cache (Redis when scaled out, so all processes share
the count): at most ``limit`` calls per fixed window of ``window_seconds``."""

import functools

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.errors import RateLimited

MONEY_WINDOW_SECONDS = 60
TOO_FAST = _("Too many requests in a short time; please wait a moment and try again.")


def hit(*, scope: str, subject: str, limit: int, window_seconds: int) -> None:
    """Count one call of ``subject`` in ``scope``; raise ``RateLimited`` past ``limit``."""
    window = int(clock.now().timestamp()) // window_seconds
    key = f"ratelimit:{scope}:{subject}:{window}"
    # add() then incr() are each atomic in the cache, so concurrent callers never lose a count.
    cache.add(key, 0, timeout=window_seconds * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=window_seconds * 2)
        count = 1
    if count > limit:
        raise RateLimited(TOO_FAST, code="rate_limited")


def limit_money_calls(user) -> None:
    # Keyed by the public id: database keys are reused after a rollback, public ids are not.
    hit(
        scope="money",
        subject=str(getattr(user, "public_id", "") or "anonymous"),
        limit=settings.MONEY_RATE_PER_MINUTE,
        window_seconds=MONEY_WINDOW_SECONDS,
    )


def money_endpoint(view):
    """For API handlers that move money (quotes, checkouts, cashier, withdrawals, deal buys,
    joins and pledges): each signed-in user gets ``MONEY_RATE_PER_MINUTE`` calls a minute."""

    @functools.wraps(view)
    def limited(request, *args, **kwargs):
        limit_money_calls(request.user)
        return view(request, *args, **kwargs)

    limited.money_endpoint = True
    return limited
