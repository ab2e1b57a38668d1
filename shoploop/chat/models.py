"""Conversations, who takes part in them, their messages and reports about messages.

Three kinds of conversation:

- ``shop``: one buyer and one shop (answered by the shop's staff from a shared inbox); its
  ``topic_*`` fields are the card it was last started from (a product, an order, an after-sale);
- ``room``: the chat room of a community, one per community, for its active members;
- ``direct``: two people who follow each other (``direct_key`` keeps one per pair).

Messages are numbered per conversation (``seq`` 1, 2, 3…) under a lock of the conversation row, so
the numbers are committed in order: a client that has seen up to ``seq`` N asks for "after N" and
misses nothing, and sees nothing twice.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

TEXT_MAX_LENGTH = 2000
REPORT_REASON_MAX_LENGTH = 200


class Conversation(models.Model):
    class Kind(models.TextChoices):
        SHOP = "shop", _("Shop")
        ROOM = "room", _("Community room")
        DIRECT = "direct", _("Private")

    class Topic(models.TextChoices):
        NONE = "", _("None")
        PRODUCT = "product", _("Product")
        ORDER = "order", _("Order")
        AFTER_SALE = "after_sale", _("After-sale")

    public_id = PublicIdField()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    shop = models.ForeignKey(
        "catalog.Shop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("shop"),
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="shop_conversations",
        verbose_name=_("buyer"),
    )
    community = models.OneToOneField(
        "communities.Community",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_room",
        verbose_name=_("community"),
    )
    direct_key = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    # The card the conversation was (last) started from: what the buyer is asking about.
    topic_kind = models.CharField(
        _("about"), max_length=12, choices=Topic.choices, blank=True, default=""
    )
    topic_public_id = models.CharField(max_length=12, blank=True, default="")
    topic_title = models.CharField(max_length=120, blank=True, default="")
    # Changed only under the row lock taken by the send service.
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # For the shop inbox: the buyer spoke last and nobody from the shop answered yet.
    awaiting_shop = models.BooleanField(default=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "buyer"],
                condition=models.Q(kind="shop"),
                name="one_conversation_per_shop_and_buyer",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="shop", shop__isnull=False, buyer__isnull=False)
                    | models.Q(kind="room", community__isnull=False)
                    | models.Q(kind="direct", direct_key__isnull=False)
                ),
                name="conversation_kind_has_its_keys",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-awaiting_shop", "-last_message_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.public_id}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Participant(models.Model):
    """A person's place in a conversation: read state, and (in rooms) whether they are muted.

    Shop and private conversations get their rows when they start. In a room a member gets a row
    the first time they open it, so members who never come cost nothing.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_participations"
    )
    # The shop's side of a shop conversation (staff), as opposed to the buyer.
    for_shop = models.BooleanField(default=False)
    last_read_seq = models.PositiveBigIntegerField(default=0)
    muted_at = models.DateTimeField(_("muted at"), null=True, blank=True)
    joined_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_participant_row"),
        ]
        indexes = [models.Index(fields=["user", "conversation"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class Message(models.Model):
    public_id = PublicIdField()
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_messages",
        verbose_name=_("sender"),
    )
    sent_for_shop = models.BooleanField(default=False)
    text = models.TextField(_("text"), max_length=TEXT_MAX_LENGTH, blank=True)
    image = models.ImageField(_("image"), upload_to="chat/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("sent at"), default=clock.now)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class MessageReport(models.Model):
    """Someone reported a message: the room's moderators and the operators see it."""

    public_id = PublicIdField()
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reports", verbose_name=_("message")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_reports",
        verbose_name=_("reporter"),
    )
    reason = models.CharField(_("reason"), max_length=REPORT_REASON_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("reported at"), default=clock.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message report")
        verbose_name_plural = _("message reports")
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="one_report_per_person"),
        ]

    def __str__(self) -> str:
        return f"report {self.public_id}"
