"""Content: community posts (with photos and cards), comments, likes, favourites, reports, mutes,
and buyers' reviews of received order lines.

Tables, constraints and field validation only; every rule lives in services.py.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

POST_MAX_LENGTH = 5000
COMMENT_MAX_LENGTH = 1000
REVIEW_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 200
MAX_PHOTOS = 9


class Moderated(models.TextChoices):
    """The life of a post or a comment."""

    VISIBLE = "visible", _("Visible")
    HIDDEN = "hidden", _("Hidden by a moderator")
    REMOVED = "removed", _("Removed by a moderator")
    DELETED = "deleted", _("Deleted by its author")


class Post(models.Model):
    class CardKind(models.TextChoices):
        PRODUCT = "product", _("Product")
        GROUP = "group", _("Group buy")
        BARGAIN = "bargain", _("Bargain")
        PROJECT = "project", _("Crowdfunding project")

    public_id = PublicIdField()
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.CASCADE,
        related_name="posts",
        verbose_name=_("community"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="posts",
        verbose_name=_("author"),
    )
    # The author's Markdown exactly as typed (never HTML); rendered and sanitised on output.
    body = models.TextField(_("text"), max_length=POST_MAX_LENGTH)
    # An optional card: the kind and the public id of a product, group, bargain or project, with
    # its title as it was when the post was written (the card links to the live page).
    card_kind = models.CharField(_("card"), max_length=10, choices=CardKind.choices, blank=True)
    card_public_id = models.CharField(_("card id"), max_length=12, blank=True)
    card_title = models.CharField(_("card title"), max_length=200, blank=True)
    # A shared review (晒单): the post links back to it.
    review = models.ForeignKey(
        "content.Review",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shares",
        verbose_name=_("shared review"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=Moderated.choices, default=Moderated.VISIBLE
    )
    moderation_reason = models.CharField(
        _("moderation reason"), max_length=REASON_MAX_LENGTH, blank=True
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    pinned_at = models.DateTimeField(_("pinned at"), null=True, blank=True)
    # Changed only by conditional F() updates in the transaction of the like or comment.
    like_count = models.PositiveIntegerField(_("likes"), default=0)
    comment_count = models.PositiveIntegerField(_("comments"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "community"],
                condition=Q(review__isnull=False),
                name="content_one_share_per_review_and_community",
            ),
            models.CheckConstraint(
                condition=Q(card_kind="") | ~Q(card_public_id=""), name="content_card_has_id"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "state", "-created_at"]),
            models.Index(fields=["author", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} by {self.author_id} in {self.community_id}"

    @property
    def is_visible(self) -> bool:
        return self.state == Moderated.VISIBLE


class PostPhoto(models.Model):
    """Checked, shrunk and re-encoded by ``core.images`` (EXIF and anything else stripped)."""

    public_id = PublicIdField()
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="posts/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("post photo")
        verbose_name_plural = _("post photos")
        ordering = ("position", "pk")

    def __str__(self) -> str:
        return f"{self.post_id} #{self.position}"


class Comment(models.Model):
    """Plain text (no Markdown); a reply's ``parent`` is a top-level comment (one level)."""

    public_id = PublicIdField()
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="post_comments",
        verbose_name=_("author"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("reply to"),
    )
    body = models.TextField(_("text"), max_length=COMMENT_MAX_LENGTH)
    state = models.CharField(
        _("state"), max_length=10, choices=Moderated.choices, default=Moderated.VISIBLE
    )
    moderation_reason = models.CharField(
        _("moderation reason"), max_length=REASON_MAX_LENGTH, blank=True
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["post", "created_at"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_visible(self) -> bool:
        return self.state == Moderated.VISIBLE


class PostLike(models.Model):
    """One like per person per post: the unique key makes a second (or raced) like fail."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="post_likes"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("like")
        verbose_name_plural = _("likes")
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="content_one_like")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Favourite(models.Model):
    """收藏: a saved post or product (exactly one of them)."""

    public_id = PublicIdField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="favourites"
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="favourites",
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [
            models.CheckConstraint(
                condition=(Q(post__isnull=False) & Q(product__isnull=True))
                | (Q(post__isnull=True) & Q(product__isnull=False)),
                name="content_favourite_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "post"],
                condition=Q(post__isnull=False),
                name="content_one_favourite_per_post",
            ),
            models.UniqueConstraint(
                fields=["user", "product"],
                condition=Q(product__isnull=False),
                name="content_one_favourite_per_product",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.post_id or self.product_id}"


class Mute(models.Model):
    """A member a moderator silenced in one community until ``until``: they read but cannot post
    or comment there."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, related_name="mutes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_mutes"
    )
    until = models.DateTimeField(_("muted until"))
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("mute")
        verbose_name_plural = _("mutes")
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], name="content_one_mute"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} muted in {self.community_id}"


class Review(models.Model):
    """A buyer's review of one received order line: once per line (the unique key)."""

    class State(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HIDDEN = "hidden", _("Hidden by an operator")

    public_id = PublicIdField()
    order_line = models.OneToOneField(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="review",
        verbose_name=_("order line"),
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    stars = models.PositiveSmallIntegerField(_("stars"))
    body = models.TextField(_("text"), max_length=REVIEW_MAX_LENGTH, blank=True)
    # How many photos it has: reviews with photos are listed first.
    photo_count = models.PositiveSmallIntegerField(_("photos"), default=0)
    follow_up_body = models.TextField(_("follow-up"), max_length=REVIEW_MAX_LENGTH, blank=True)
    follow_up_at = models.DateTimeField(_("follow-up at"), null=True, blank=True)
    reply_body = models.TextField(_("shop's reply"), max_length=REVIEW_MAX_LENGTH, blank=True)
    reply_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.VISIBLE
    )
    hidden_reason = models.CharField(_("why hidden"), max_length=REASON_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="content_stars_1_to_5"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "state", "-photo_count", "-created_at"]),
            # A shop's rating, and its newest visible reviews (the feed merges a big shop's).
            models.Index(fields=["shop", "state", "-created_at"]),
            models.Index(fields=["author", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.stars}★)"

    @property
    def is_refunded(self) -> bool:
        """The reviewed line was (partly) refunded: shown as a mark beside the review."""
        return self.order_line.refunded_quantity > 0


class ReviewPhoto(models.Model):
    public_id = PublicIdField()
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="reviews/%Y/%m/")
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("review photo")
        verbose_name_plural = _("review photos")
        ordering = ("position", "pk")

    def __str__(self) -> str:
        return f"{self.review_id} #{self.position}"


class Report(models.Model):
    """Anyone's report of a post, a comment or a review. Posts and comments queue for their
    community's moderators and the operators; reviews for the operators."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACTED = "acted", _("Acted on")
        DISMISSED = "dismissed", _("Dismissed")

    public_id = PublicIdField()
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="content_reports"
    )
    community = models.ForeignKey(
        "communities.Community",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="content_reports",
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(post__isnull=False, comment__isnull=True, review__isnull=True)
                    | Q(post__isnull=True, comment__isnull=False, review__isnull=True)
                    | Q(post__isnull=True, comment__isnull=True, review__isnull=False)
                ),
                name="content_report_one_target",
            ),
            # One open report per person per thing: repeating it adds nothing to the queue.
            models.UniqueConstraint(
                fields=["reporter", "post"],
                condition=Q(state="open", post__isnull=False),
                name="content_one_open_post_report",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(state="open", comment__isnull=False),
                name="content_one_open_comment_report",
            ),
            models.UniqueConstraint(
                fields=["reporter", "review"],
                condition=Q(state="open", review__isnull=False),
                name="content_one_open_review_report",
            ),
        ]
        indexes = [models.Index(fields=["community", "state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.state})"

    @property
    def target(self):
        return self.post or self.comment or self.review
