"""The feed: bounded per-reader timelines and the sources too big to fan out.

Tables only; fan-out lives in services.py, reading and ranking in selectors.py and ranking.py.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shoploop.core import clock


class Kind(models.TextChoices):
    """What a timeline entry points at (``item_id`` is that table's database key)."""

    POST = "post", pgettext_lazy("share target", "Post")
    REVIEW = "review", _("Review")
    GROUP = "group", _("Group buy")
    BARGAIN = "bargain", _("Bargain")
    PROJECT = "project", _("Crowdfunding project")
    PRODUCT = "product", _("Product")


class Reason(models.TextChoices):
    """Why the item reached this reader (rendered per reader by ``feed.reasons``)."""

    FOLLOWED_PERSON = "followed_person", _("By someone you follow")
    COMMUNITY = "community", _("In a community you joined")
    FOLLOWED_SHOP = "followed_shop", _("New from a shop you follow")
    FRIEND_OPENED = "friend_opened", _("Someone you follow opened this group")
    FRIEND_JOINED = "friend_joined", _("Someone you follow joined this group")
    FRIEND_BOUGHT = "friend_bought", _("Someone you follow bought this")
    FRIEND_BARGAINING = "friend_bargaining", _("Someone you follow is bargaining for this")
    FRIEND_BACKED = "friend_backed", _("Someone you follow backed this project")


class TimelineEntry(models.Model):
    """One item in one reader's home timeline. One row per (reader, kind, item): a second
    reason for the same item (another friend joined the group) updates the row instead of
    adding one, so a page never shows an item twice. At most ``FEED_TIMELINE_SIZE`` rows per
    reader are kept (``services.trim``)."""

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="timeline_entries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    item_id = models.BigIntegerField()
    reason = models.CharField(max_length=24, choices=Reason.choices)
    # Who did it (the author, the friend who joined or bought) and where, for the reason's text.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # When the thing happened (the post was written, the friend joined): the timeline's order.
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        constraints = [
            models.UniqueConstraint(
                fields=["reader", "kind", "item_id"], name="feed_one_entry_per_item"
            ),
        ]
        indexes = [models.Index(fields=["reader", "-created_at"], name="feed_reader_time")]

    def __str__(self) -> str:
        return f"{self.reader_id}: {self.kind} {self.item_id} ({self.reason})"


class BigSource(models.Model):
    """A community, shop or person whose audience passed ``FEED_BIG_SOURCE_THRESHOLD``: their
    items are not fanned out but merged into each reader's page when it is read."""

    class SourceKind(models.TextChoices):
        COMMUNITY = "community", _("Community")
        SHOP = "shop", _("Shop")
        PERSON = "person", _("Person")

    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    source_id = models.BigIntegerField()
    audience = models.PositiveIntegerField(default=0)
    marked_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("big source")
        verbose_name_plural = _("big sources")
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "source_id"], name="feed_one_big_source")
        ]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.source_id} ({self.audience})"
