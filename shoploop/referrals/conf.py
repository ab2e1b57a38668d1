"""Settings of the sharing app, each with its default (docs/sharing.md)."""

from django.conf import settings


def attribution_days() -> int:
    """A purchase is attributed to the last share link the buyer opened this many days before."""
    return int(getattr(settings, "REFERRALS_ATTRIBUTION_DAYS", 7))


def binding_days() -> int | None:
    """How long a binding (who brought a user) lasts; None or 0 = for ever."""
    days = getattr(settings, "REFERRALS_BINDING_DAYS", None)
    return int(days) if days else None


def max_total_bps() -> int:
    """Level 1 + level 2 commission rates may not exceed this (basis points; 3000 = 30 %)."""
    return int(getattr(settings, "REFERRALS_MAX_COMMISSION_BPS", 3000))


def ip_hash_hours() -> int:
    """How long a visit keeps its truncated, hashed IP (for abuse checks); then it is erased."""
    return int(getattr(settings, "REFERRALS_IP_HASH_HOURS", 72))


def daily_cap_fen() -> int:
    """The most commission one promoter can accrue per day (fen); beyond it, nothing accrues."""
    return int(getattr(settings, "REFERRALS_DAILY_CAP_FEN", 500_00))


def cluster_minutes() -> int:
    return int(getattr(settings, "REFERRALS_CLUSTER_MINUTES", 10))


def cluster_size() -> int:
    return int(getattr(settings, "REFERRALS_CLUSTER_SIZE", 3))


def share_rate_per_minute() -> int:
    """How many new share links one person may make a minute (finding one again is free)."""
    return int(getattr(settings, "REFERRALS_SHARE_RATE_PER_MINUTE", 20))
