"""The one ranking formula (docs/feed.md), the same for every reader, never paid.

    score = closeness × (1 + ln(1 + engagement)) × 2^(−age / half_life)

- closeness: 3 when the reader follows the person or shop, 2 when the item is in a community the
  reader belongs to, 1.5 when someone the reader follows follows its author (friend of a
  friend), 1 otherwise; judged when the page is read.
- engagement: a post's likes + 2 × its comments (a shared review's post too), a group's seats
  taken; reviews and products 0. The logarithm dampens it: 1,000 likes do not bury a friend's
  post of an hour ago.
- age: hours since the item happened; half_life: ``FEED_HALF_LIFE_HOURS`` (12).

Since age = now − t, ``log2(score) = log2(closeness) + log2(1 + ln(1 + engagement)) + t/half_life
− now/half_life``; the last term is the same for every item of a page, so the order is that of
``rank_key`` below, which does not change as time passes. That is what lets the ranked feed be
paged by a keyset cursor (rank, item) without duplicates or gaps.
"""

import math
from datetime import datetime

from django.conf import settings

FOLLOW = 3.0
COMMUNITY = 2.0
FRIEND_OF_FRIEND = 1.5
OTHER = 1.0
COMMENT_WEIGHT = 2


def engagement(*, likes: int = 0, comments: int = 0, seats: int = 0) -> int:
    return likes + COMMENT_WEIGHT * comments + seats


def rank_key(*, closeness: float, engagement: int, at: datetime) -> float:
    hours = at.timestamp() / 3600.0
    half_life = settings.FEED_HALF_LIFE_HOURS
    return (
        math.log2(closeness)
        + math.log2(1.0 + math.log(1.0 + max(engagement, 0)))
        + hours / half_life
    )


def score(*, closeness: float, engagement: int, age_hours: float) -> float:
    """The formula itself, for the docs and the tests: same order as ``rank_key``."""
    half_life = settings.FEED_HALF_LIFE_HOURS
    return closeness * (1.0 + math.log(1.0 + engagement)) * 2.0 ** (-age_hours / half_life)
