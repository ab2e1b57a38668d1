from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.ids import PublicIdField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **extra):
        if not phone:
            raise ValueError("phone is required")
        user = self.model(phone=phone, **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, known by a verified phone number in E.164 form (+8613812345678)."""

    public_id = PublicIdField()
    phone = models.CharField(_("phone"), max_length=20, unique=True)
    display_name = models.CharField(_("display name"), max_length=40, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    bio = models.CharField(_("bio"), max_length=280, blank=True)
    locale = models.CharField(_("language"), max_length=10, blank=True)
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=clock.now)
    # Bumped by "sign out everywhere" and by a ban: every session signed with an older value dies.
    session_version = models.PositiveIntegerField(default=0, editable=False)
    banned_at = models.DateTimeField(_("banned at"), null=True, blank=True)
    ban_reason = models.CharField(_("ban reason"), max_length=200, blank=True)
    # Consent at sign-up (required by PIPL and the e-commerce law): when, and to which version of
    # the terms of service and privacy policy. Blank for accounts made by trusted scripts.
    terms_accepted_at = models.DateTimeField(_("terms accepted at"), null=True, blank=True)
    terms_version = models.CharField(_("terms version"), max_length=20, blank=True)
    # Privacy: whether followers' feeds may show what this person bought and which deals they
    # opened or joined. Off until they turn it on.
    share_activity_with_followers = models.BooleanField(
        _("show my purchases and deals to my followers"), default=False
    )

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.masked_phone

    @property
    def masked_phone(self) -> str:
        """+8613812345678 → 138****5678: what other people may see of a number."""
        digits = self.phone.removeprefix("+86")
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"

    @property
    def name(self) -> str:
        return str(self)

    def _get_session_auth_hash(self, secret=None):
        """Django checks this hash on every request; mixing in ``session_version`` lets one
        UPDATE end every session of this user without touching the session store."""
        key_salt = "shoploop.accounts.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_version}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class ApiToken(models.Model):
    """A bearer token for the mobile apps. Only a SHA-256 of the token is stored."""

    public_id = PublicIdField()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=60, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.public_id})"

    @staticmethod
    def lifetime() -> timedelta:
        return timedelta(days=settings.API_TOKEN_TTL_DAYS)

    @property
    def expires_at(self):
        return self.created_at + self.lifetime()

    @property
    def is_expired(self) -> bool:
        return clock.now() >= self.expires_at


class Follow(models.Model):
    """``follower`` follows ``followee``. Uniqueness is the database's job."""

    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_links")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_links")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="unique_follow"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="no_self_follow"
            ),
        ]
        indexes = [models.Index(fields=["followee", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.followee_id}"


class Block(models.Model):
    """``blocker`` blocks ``blocked``: no following, messaging or seeing the blocker's content."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_links")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_links")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="unique_block"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="no_self_block"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} ⊘ {self.blocked_id}"


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS. Only an HMAC of the code is stored.

    The rows double as the send log: hourly limits per number and per IP are counted here, so they
    hold across processes.
    """

    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(max_length=64, editable=False)
    sent_to_ip = models.GenericIPAddressField(_("requested from IP"), null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(_("expires at"))
    wrong_tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [
            models.Index(fields=["phone", "-created_at"]),
            models.Index(fields=["sent_to_ip", "-created_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.phone} @ {self.created_at:%Y-%m-%d %H:%M}"


class OtpThrottle(models.Model):
    """One row per phone number and per IP that asked for a code: the row sends lock so that
    concurrent requests count the send log one after another (limits hold under races)."""

    scope = models.CharField(max_length=10)
    key = models.CharField(max_length=64)
    last_seen_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("code throttle")
        verbose_name_plural = _("code throttles")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="unique_otp_throttle"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class PermissionGroup(Group):
    """Django's auth ``Group`` under a name that cannot be mistaken for a buying group (拼团's
    团): in the admin it is a "permission group" (权限组), e.g. "Platform operators"."""

    class Meta:
        proxy = True
        verbose_name = _("permission group")
        verbose_name_plural = _("permission groups")
