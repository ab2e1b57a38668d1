"""Co-creation (众创): ideas that members and followers propose to a shop, their votes, comments
and status history; wanted products (想要) and the wants people add to them at a price band.

Tables, constraints and field validation only; every rule lives in services.py.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

TITLE_MAX_LENGTH = 120
BODY_MAX_LENGTH = 5000
COMMENT_MAX_LENGTH = 1000
REASON_MAX_LENGTH = 500
MAX_PHOTOS = 4


class Idea(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        UNDER_REVIEW = "under_review", _("Under review")
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        SHIPPED = "shipped", _("Shipped")
        DECLINED = "declined", _("Declined")

    OPEN_STATUSES = (Status.PROPOSED, Status.UNDER_REVIEW, Status.PLANNED, Status.IN_PROGRESS)
    CLOSED_STATUSES = (Status.SHIPPED, Status.DECLINED)

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop", on_delete=models.CASCADE, related_name="ideas", verbose_name=_("shop")
    )
    # Where it was proposed; empty for an idea a follower sent to the shop directly.
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ideas",
        verbose_name=_("community"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="ideas",
        verbose_name=_("author"),
    )
    # An improvement names the existing product it improves; a new-product idea names none.
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="improvement_ideas",
        verbose_name=_("product to improve"),
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    # Plain text as typed; escaped on output.
    body = models.TextField(_("text"), max_length=BODY_MAX_LENGTH)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PROPOSED
    )
    # The merchant's latest answer (a declined idea's reason).
    answer = models.CharField(_("answer"), max_length=REASON_MAX_LENGTH, blank=True)
    # The product that answers a shipped idea.
    shipped_product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipped_ideas",
        verbose_name=_("shipped as"),
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    # Changed only by conditional F() updates in the transaction of the vote or comment.
    vote_count = models.PositiveIntegerField(_("votes"), default=0)
    comment_count = models.PositiveIntegerField(_("comments"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="shipped") | Q(shipped_at__isnull=False),
                name="ideas_shipped_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-vote_count"]),
            models.Index(fields=["shop", "-created_at"]),
            models.Index(fields=["community", "-vote_count"]),
            models.Index(fields=["community", "-created_at"]),
            models.Index(fields=["shop", "status", "-shipped_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class IdeaPhoto(models.Model):
    """Checked, shrunk and re-encoded by ``core.images`` (EXIF and anything else stripped)."""

    public_id = PublicIdField()
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="ideas/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("idea photo")
        verbose_name_plural = _("idea photos")
        ordering = ("position", "pk")

    def __str__(self) -> str:
        return f"{self.idea_id} #{self.position}"


class IdeaVote(models.Model):
    """One vote per person per idea: the unique key makes a second (or raced) vote fail."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idea_votes"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [models.UniqueConstraint(fields=["idea", "user"], name="ideas_one_vote")]

    def __str__(self) -> str:
        return f"{self.user_id} votes {self.idea_id}"


class IdeaComment(models.Model):
    """Plain text; ``from_shop`` marks the merchant's own comments."""

    public_id = PublicIdField()
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idea_comments",
        verbose_name=_("author"),
    )
    body = models.TextField(_("text"), max_length=COMMENT_MAX_LENGTH)
    from_shop = models.BooleanField(_("from the shop"), default=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("idea comment")
        verbose_name_plural = _("idea comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["idea", "created_at"])]

    def __str__(self) -> str:
        return self.public_id


class IdeaStatusChange(models.Model):
    """One row per answer of the merchant: the idea's status history."""

    public_id = PublicIdField()
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="status_changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_status = models.CharField(_("from"), max_length=12, choices=Idea.Status.choices)
    to_status = models.CharField(_("to"), max_length=12, choices=Idea.Status.choices)
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("idea status change")
        verbose_name_plural = _("idea status changes")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.idea_id}: {self.from_status} → {self.to_status}"


class PriceBand(models.TextChoices):
    """What a person would pay for a wanted product (yuan, inclusive lower bound)."""

    UNDER_50 = "under_50", _("Under ¥50")
    FROM_50 = "50_100", _("¥50 to ¥100")
    FROM_100 = "100_200", _("¥100 to ¥200")
    FROM_200 = "200_500", _("¥200 to ¥500")
    FROM_500 = "500_up", _("¥500 or more")


# A typical price in each band (fen): the pre-sale's suggested tier price.
BAND_TYPICAL_FEN = {
    PriceBand.UNDER_50: 3900,
    PriceBand.FROM_50: 7900,
    PriceBand.FROM_100: 14900,
    PriceBand.FROM_200: 29900,
    PriceBand.FROM_500: 59900,
}


class WantedProduct(models.Model):
    """想要: a product that does not exist yet, proposed to a shop; people add their want."""

    class State(models.TextChoices):
        OPEN = "open", _("Collecting wants")
        PRESALE = "presale", _("Pre-sale started")

    public_id = PublicIdField()
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.CASCADE,
        related_name="wanted_products",
        verbose_name=_("shop"),
    )
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="wanted_products",
        verbose_name=_("community"),
    )
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="proposed_wanted_products",
        verbose_name=_("proposed by"),
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("description"), max_length=BODY_MAX_LENGTH, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    # Changed only by conditional F() updates guarded by state=open.
    want_count = models.PositiveIntegerField(_("wants"), default=0)
    project = models.OneToOneField(
        "deals_crowdfunding.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="wanted_product",
        verbose_name=_("pre-sale"),
    )
    presale_started_at = models.DateTimeField(_("pre-sale started at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("wanted product")
        verbose_name_plural = _("wanted products")
        ordering = ["-want_count", "-created_at", "-pk"]
        indexes = [models.Index(fields=["shop", "state", "-want_count"])]

    def __str__(self) -> str:
        return self.title


class Want(models.Model):
    """One person would buy ``wanted_product`` at ``price_band``; once per person."""

    public_id = PublicIdField()
    wanted_product = models.ForeignKey(
        WantedProduct, on_delete=models.CASCADE, related_name="wants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wants"
    )
    price_band = models.CharField(_("price band"), max_length=8, choices=PriceBand.choices)
    # The community page the want was added from (the wanter's own community), if any.
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("community"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("want")
        verbose_name_plural = _("wants")
        constraints = [
            models.UniqueConstraint(fields=["wanted_product", "user"], name="ideas_one_want"),
            models.CheckConstraint(
                condition=Q(price_band__in=[band.value for band in PriceBand]),
                name="ideas_want_has_band",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} wants {self.wanted_product_id} at {self.price_band}"
