"""Communities: interest tags, communities, memberships and invite links.

Tables and field validation only; every rule lives in services.py.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 40
DESCRIPTION_MAX_LENGTH = 2000
TAG_MAX_LENGTH = 30
MIN_TAGS = 1
MAX_TAGS = 8


class InterestTag(models.Model):
    """A normalised interest ("hiking", "手冲咖啡"); shared by communities and products."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=TAG_MAX_LENGTH)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("interest tag")
        verbose_name_plural = _("interest tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="unique_interest_tag_name_ci"),
        ]

    def __str__(self) -> str:
        return f"#{self.name}"


class Community(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        APPROVAL = "approval", _("Approval required")
        INVITE = "invite", _("Invite only")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        DISSOLVED = "dissolved", _("Dissolved")

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    cover = models.ImageField(_("cover image"), upload_to="communities/covers/%Y/%m/", blank=True)
    tags = models.ManyToManyField(InterestTag, related_name="communities", verbose_name=_("tags"))
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_communities",
        verbose_name=_("owner"),
    )
    # Changed only by conditional F() updates, in the transaction of the membership change.
    member_count = models.PositiveIntegerField(_("members"), default=0)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    dissolved_at = models.DateTimeField(_("dissolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(member_count__gte=0), name="community_member_count_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "visibility", "-member_count"]),
            models.Index(fields=["-created_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MODERATOR = "moderator", _("Moderator")
        MEMBER = "member", _("Member")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        PENDING = "pending", _("Requested")
        REJECTED = "rejected", _("Rejected")
        LEFT = "left", _("Left")
        REMOVED = "removed", _("Removed")
        BANNED = "banned", _("Banned")

    public_id = PublicIdField()
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("community")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="community_memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], name="unique_membership"),
        ]
        indexes = [
            models.Index(fields=["community", "state", "-created_at"]),
            models.Index(fields=["user", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.community} ({self.role}, {self.state})"


class CommunityInvite(models.Model):
    """An invite link: the secret ``code`` is in the URL; ``public_id`` names it in the API."""

    public_id = PublicIdField()
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="invites", verbose_name=_("community")
    )
    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="community_invites",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("maximum uses"), null=True, blank=True)
    # Contended: only changed by a conditional F() update.
    use_count = models.PositiveIntegerField(_("uses"), default=0)

    class Meta:
        verbose_name = _("invite link")
        verbose_name_plural = _("invite links")
        indexes = [models.Index(fields=["community", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.community} invite {self.public_id}"


class CommunityLeader(models.Model):
    """A 团长 (group leader) of a community: the owner themself or an active member the owner
    appointed. A leader runs pickup points (``orders.PickupPoint``). Revoking keeps the row
    (``revoked_at``) so past orders still name who ran the point; a community may have several
    leaders, each at most once at a time."""

    public_id = PublicIdField()
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="leaders", verbose_name=_("community")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="community_leaderships",
        verbose_name=_("leader"),
    )
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("appointed by"),
    )
    appointed_at = models.DateTimeField(_("appointed at"), default=clock.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group leader")
        verbose_name_plural = _("group leaders")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "user"],
                condition=models.Q(revoked_at__isnull=True),
                name="communities_one_active_leadership",
            ),
        ]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.user} leads {self.community}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
