"""Insights' tables: rollups of the outbox events and the few projections the rollup needs.

Nothing here is read from another app's tables: every row is derived from ``core.OutboxEvent``
by ``services.roll_up`` (see docs/insights.md). Scopes are strings: ``platform``,
``shop:<public id>``, ``community:<public id>``.
"""

from django.db import models

SCOPE_LENGTH = 40
ID_LENGTH = 24
KEY_LENGTH = 60


class Cursor(models.Model):
    """The last outbox event id a rollup consumed. Its row lock serialises rollup workers."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_event_id}"


class Tally(models.Model):
    """A counter per hour (``grain`` h) or local day (d): events, or an amount such as fen."""

    class Grain(models.TextChoices):
        HOUR = "h", "hour"
        DAY = "d", "day"

    grain = models.CharField(max_length=1, choices=Grain.choices)
    start = models.DateTimeField()
    scope = models.CharField(max_length=SCOPE_LENGTH)
    metric = models.CharField(max_length=KEY_LENGTH)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # start before metric: a page reads one scope's days in a range, every metric.
            models.UniqueConstraint(
                fields=["grain", "scope", "start", "metric"], name="insights_tally_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.metric} {self.start:%Y-%m-%d %H}h = {self.value}"


class WeeklyPerson(models.Model):
    """One person did ``key`` in ``scope`` in the (local, Monday) ``week``: distinct counting.
    Bounded: one row per person, key, scope and week; weeks older than
    ``INSIGHTS_PERSON_WEEKS`` are pruned (their counts stay in ``WeeklyDistinct``)."""

    week = models.DateField()
    scope = models.CharField(max_length=SCOPE_LENGTH)
    key = models.CharField(max_length=KEY_LENGTH)
    person = models.CharField(max_length=ID_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "week", "key", "person"], name="insights_weekly_person_key"
            )
        ]
        indexes = [models.Index(fields=["week"], name="insights_weekly_person_week")]

    def __str__(self) -> str:
        return f"{self.scope} {self.week} {self.key} {self.person}"


class WeeklyDistinct(models.Model):
    """How many distinct people did ``key`` in ``scope`` in ``week`` (kept with WeeklyPerson)."""

    week = models.DateField()
    scope = models.CharField(max_length=SCOPE_LENGTH)
    key = models.CharField(max_length=KEY_LENGTH)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "week", "key"], name="insights_distinct_key")
        ]
        # "Where next": one key (a category) in every community, over a range of weeks.
        indexes = [models.Index(fields=["key", "week"], name="insights_distinct_by_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.week} {self.key} = {self.value}"


class FirstPurchase(models.Model):
    """A buyer's first paid order in a scope: cohorts, repeat buyers, new buyers brought."""

    scope = models.CharField(max_length=SCOPE_LENGTH)
    person = models.CharField(max_length=ID_LENGTH)
    week = models.DateField()
    order = models.CharField(max_length=ID_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "person"], name="insights_first_purchase_key")
        ]
        indexes = [models.Index(fields=["person", "order"], name="insights_first_order")]

    def __str__(self) -> str:
        return f"{self.scope} {self.person} first {self.week}"


class Member(models.Model):
    """Who is in which community (from joined / left events): a purchase counts in the
    buyer's communities."""

    community = models.CharField(max_length=ID_LENGTH)
    person = models.CharField(max_length=ID_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "community"], name="insights_member_key")
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.community}"


class KnownProduct(models.Model):
    """A published product's shop and category (from ``catalog.product.published``)."""

    public_id = models.CharField(max_length=ID_LENGTH, primary_key=True)
    shop = models.CharField(max_length=ID_LENGTH)
    category = models.CharField(max_length=20, default="other")

    def __str__(self) -> str:
        return f"{self.public_id} ({self.category})"


class KnownLink(models.Model):
    """A share link's sharer, community and (for a product) shop."""

    code = models.CharField(max_length=ID_LENGTH, primary_key=True)
    sharer = models.CharField(max_length=ID_LENGTH)
    community = models.CharField(max_length=ID_LENGTH, blank=True, default="")
    shop = models.CharField(max_length=ID_LENGTH, blank=True, default="")
    product = models.CharField(max_length=ID_LENGTH, blank=True, default="")

    def __str__(self) -> str:
        return self.code


class LinkVisit(models.Model):
    """A signed-in visit through a product link, kept for the attribution window so that a
    purchase of that product by the visitor counts as a purchase the link brought."""

    visitor = models.CharField(max_length=ID_LENGTH)
    product = models.CharField(max_length=ID_LENGTH)
    link = models.CharField(max_length=ID_LENGTH)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["visitor", "product", "at"], name="insights_visit_key")]

    def __str__(self) -> str:
        return f"{self.visitor} → {self.product} via {self.link}"
