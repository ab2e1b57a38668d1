"""Every write of the accounts app: sign-in codes, sign-up, profiles, follows, blocks, tokens, bans.

Each service owns one ``transaction.atomic()``, checks who may do what, raises ``DomainError``s with
stable codes and publishes events after commit.
"""

import hashlib
import hmac
import logging
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shoploop.accounts.auth import hash_token
from shoploop.accounts.models import ApiToken, Block, Follow, OneTimeCode, OtpThrottle, User
from shoploop.accounts.phones import normalize_phone
from shoploop.accounts.sms import get_provider
from shoploop.core import clock
from shoploop.core.errors import (
    Conflict,
    DomainError,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_WRONG_TRIES = 5
CODE_RESEND_AFTER = timedelta(seconds=60)
SEND_LIMIT_WINDOW = timedelta(hours=1)
EXPIRED_CODES_KEPT_FOR = timedelta(days=1)
PURGE_BATCH_SIZE = 500

DISPLAY_NAME_MAX = 40
BIO_MAX = 280
SUPPORTED_LOCALES = ("zh-hans", "en")
AVATAR_MAX_SIDE = 512
# Far above any real photo; stops decompression bombs before Pillow allocates the pixels.

TOKEN_NAME_MAX = 60
MAX_ACTIVE_TOKENS = 20
BAN_REASON_MAX = 200


# The version of the terms of service and privacy policy a new account accepts; bump it (a date)
# when either text changes in substance, and the pages say which version is current.
TERMS_VERSION = "2026-11-30"

OPERATORS_GROUP = "Platform operators"
# What the operators' permission group may do in the admin: look at everything of Shoploop's own
# apps and run the admin actions (which call services). View only: a change permission would let
# the admin write rows directly, past the services (and edit a superuser's sign-in phone).
OPERATOR_PERMISSION_ACTIONS = ("view",)


class SMSUnavailable(DomainError):
    code = "sms_unavailable"
    status = 503


class ResendTooSoon(RateLimited):
    """A code went to this number less than a minute ago; it is still the one to type."""

    def __init__(self, message, *, wait_seconds: int):
        super().__init__(message)
        self.wait_seconds = wait_seconds


class TermsNotAccepted(ValidationFailed):
    code = "terms_required"


# --- small validators ------------------------------------------------------------------------


def _has_control_characters(text: str, *, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _clean_display_name(value) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationFailed(
            _("Enter a display name."),
            code="display_name_required",
            fields={"display_name": _("Required.")},
        )
    if len(name) > DISPLAY_NAME_MAX:
        raise ValidationFailed(
            _("The display name can have at most %(max)d characters.") % {"max": DISPLAY_NAME_MAX},
            code="display_name_too_long",
            fields={"display_name": _("Too long.")},
        )
    if _has_control_characters(name):
        raise ValidationFailed(
            _("The display name cannot contain control characters."),
            code="display_name_invalid",
            fields={"display_name": _("Invalid characters.")},
        )
    return name


def _clean_bio(value) -> str:
    bio = str(value or "").strip()
    if len(bio) > BIO_MAX:
        raise ValidationFailed(
            _("The bio can have at most %(max)d characters.") % {"max": BIO_MAX},
            code="bio_too_long",
            fields={"bio": _("Too long.")},
        )
    if _has_control_characters(bio, allowed="\n\r\t"):
        raise ValidationFailed(
            _("The bio cannot contain control characters."),
            code="bio_invalid",
            fields={"bio": _("Invalid characters.")},
        )
    return bio


def _clean_locale(value) -> str:
    locale = str(value or "").strip().lower()
    if locale and locale not in SUPPORTED_LOCALES:
        raise ValidationFailed(
            _("Choose a supported language."),
            code="locale_invalid",
            fields={"locale": _("Not supported.")},
        )
    return locale


def _clean_code(value) -> str:
    code = str(value or "").strip()
    if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
        raise ValidationFailed(
            _("Enter the 6-digit code from the SMS."),
            code="code_malformed",
            fields={"code": _("Six digits.")},
        )
    return code


# --- one-time codes ----------------------------------------------------------------------------


def hash_code(*, phone: str, code: str) -> str:
    """Keyed with SECRET_KEY and bound to the number, so a leaked table reveals no codes."""
    message = f"{phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _lock_throttles(*, phone: str, ip: str | None, now: datetime) -> None:
    """Serialise concurrent sends for the same number or IP so the counts below are exact."""
    keys = [("phone", phone)] + ([("ip", ip)] if ip else [])
    ids = [OtpThrottle.objects.get_or_create(scope=scope, key=key)[0].pk for scope, key in keys]
    locked = OtpThrottle.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    OtpThrottle.objects.filter(pk__in=[row.pk for row in locked]).update(last_seen_at=now)


def _check_send_limits(*, phone: str, ip: str | None, now: datetime) -> None:
    last_sent = (
        OneTimeCode.objects.filter(phone=phone)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last_sent and now - last_sent < CODE_RESEND_AFTER:
        wait = math.ceil((CODE_RESEND_AFTER - (now - last_sent)).total_seconds())
        raise ResendTooSoon(
            ngettext(
                "A code was just sent. Please wait %(seconds)d second before asking again.",
                "A code was just sent. Please wait %(seconds)d seconds before asking again.",
                wait,
            )
            % {"seconds": wait},
            wait_seconds=wait,
        )
    window_start = now - SEND_LIMIT_WINDOW
    sent_to_phone = OneTimeCode.objects.filter(phone=phone, created_at__gt=window_start).count()
    if sent_to_phone >= settings.OTP_SENDS_PER_PHONE_PER_HOUR:
        raise RateLimited(
            _("Too many codes were sent to this number in the last hour. Please try again later.")
        )
    if ip:
        sent_from_ip = OneTimeCode.objects.filter(
            sent_to_ip=ip, created_at__gt=window_start
        ).count()
        if sent_from_ip >= settings.OTP_SENDS_PER_IP_PER_HOUR:
            raise RateLimited(
                _(
                    "Too many codes were requested from your network in the last hour. "
                    "Please try again later."
                )
            )


def _sms_locale(*, phone: str, fallback: str) -> str:
    """The SMS speaks the recipient's chosen language; a new number gets the language of the
    request that asked for the code (``fallback``), else the site's default."""
    stored = User.objects.filter(phone=phone).values_list("locale", flat=True).first()
    for candidate in (stored, fallback):
        locale = str(candidate or "").strip().lower()
        if locale in SUPPORTED_LOCALES:
            return locale
    return settings.LANGUAGE_CODE


def send_code(*, phone: str, ip: str | None = None, locale: str | None = None) -> OneTimeCode:
    """Send a fresh sign-in code to ``phone``; the returned row never holds the raw code.

    ``locale`` is the language of the request that asked, used when the number has no stored
    language; by default the active language (the request's, set by LocaleMiddleware)."""
    phone = normalize_phone(phone)
    if locale is None:
        locale = translation.get_language() or ""
    now = clock.now()
    code = _new_code()
    with transaction.atomic():
        _lock_throttles(phone=phone, ip=ip, now=now)
        _check_send_limits(phone=phone, ip=ip, now=now)
        otp = OneTimeCode.objects.create(
            phone=phone,
            code_hash=hash_code(phone=phone, code=code),
            sent_to_ip=ip,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    # Sent after commit so a slow provider never holds the database's write lock.
    try:
        with translation.override(_sms_locale(phone=phone, fallback=locale)):
            get_provider().send_code(phone=phone, code=code)
    except Exception:
        logger.exception("SMS provider failed for a sign-in code")
        # An undelivered code must not use up the person's hourly allowance.
        OneTimeCode.objects.filter(pk=otp.pk).delete()
        raise SMSUnavailable(
            _("We could not send the SMS. Please try again in a moment.")
        ) from None
    return otp


def _latest_code(phone: str) -> OneTimeCode:
    otp = OneTimeCode.objects.filter(phone=phone).order_by("-created_at").first()
    if otp is None:
        raise ValidationFailed(
            _("No code was sent to this number. Ask for a code first."),
            code="code_not_requested",
            fields={"code": _("Ask for a code first.")},
        )
    return otp


def _exhausted() -> ValidationFailed:
    return ValidationFailed(
        _("Too many wrong tries for this code. Ask for a new code."),
        code="code_exhausted",
        fields={"code": _("Ask for a new code.")},
    )


def _ensure_code_usable(otp: OneTimeCode, now: datetime) -> None:
    if otp.used_at is not None:
        raise ValidationFailed(
            _("This code was already used. Ask for a new code."),
            code="code_used",
            fields={"code": _("Ask for a new code.")},
        )
    if otp.wrong_tries >= CODE_MAX_WRONG_TRIES:
        raise _exhausted()
    if otp.expires_at <= now:
        raise ValidationFailed(
            _("This code has expired (codes last 5 minutes). Ask for a new code."),
            code="code_expired",
            fields={"code": _("Expired.")},
        )


def _count_wrong_try(otp: OneTimeCode) -> ValidationFailed:
    """One conditional UPDATE: concurrent wrong guesses can never add up to more than the limit."""
    with transaction.atomic():
        counted = OneTimeCode.objects.filter(
            pk=otp.pk, used_at__isnull=True, wrong_tries__lt=CODE_MAX_WRONG_TRIES
        ).update(wrong_tries=F("wrong_tries") + 1)
    if not counted:
        return _exhausted()
    tries_left = CODE_MAX_WRONG_TRIES - (
        OneTimeCode.objects.filter(pk=otp.pk).values_list("wrong_tries", flat=True).get()
    )
    if tries_left <= 0:
        return ValidationFailed(
            _("That code is not right, and it cannot be used any more. Ask for a new code."),
            code="code_wrong",
            fields={"code": _("Wrong code.")},
        )
    return ValidationFailed(
        ngettext(
            "That code is not right. %(left)d try left.",
            "That code is not right. %(left)d tries left.",
            tries_left,
        )
        % {"left": tries_left},
        code="code_wrong",
        fields={"code": _("Wrong code.")},
    )


def _account_suspended() -> PermissionDenied:
    return PermissionDenied(
        _("This account has been suspended. Contact support if you think this is a mistake."),
        code="account_suspended",
    )


def _terms_not_accepted() -> TermsNotAccepted:
    return TermsNotAccepted(
        _("To create your account, accept the terms of service and the privacy policy."),
        fields={"accept_terms": _("Required.")},
    )


def _sign_up_or_find(
    *, phone: str, now: datetime, consent: bool = True, **new_account
) -> tuple[User, bool]:
    """The account of ``phone``, made now if there is none. A person signing up must have
    accepted the terms (``consent``); trusted callers pass their own ``new_account`` fields."""
    existing = User.objects.select_for_update().filter(phone=phone).first()
    if existing is None:
        if not consent:
            raise _terms_not_accepted()
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    phone, phone_verified_at=now, date_joined=now, **new_account
                )
        except IntegrityError:
            # Someone verified the same number a moment ago: that is now a sign-in.
            existing = User.objects.select_for_update().get(phone=phone)
        else:
            publish("accounts.user.signed_up", user_public_id=user.public_id)
            return user, True
    if not existing.is_active:
        raise _account_suspended()
    if existing.phone_verified_at is None:
        existing.phone_verified_at = now
        existing.save(update_fields=["phone_verified_at"])
    return existing, False


@dataclass(frozen=True)
class VerifiedPhone:
    user: User
    signed_up: bool


def verify_code(
    *, phone: str, code: str, accept_terms: bool = False, display_name: str = ""
) -> VerifiedPhone:
    """Check a code: a new number signs up, a known one signs in. A wrong code costs one try of
    that code only; the account and other numbers are never locked.

    A new number signs up only with ``accept_terms`` (consent is recorded with the terms'
    version); without it ``terms_required`` is raised and the code stays unused, so the same
    code works once the person has accepted. ``display_name`` names a new account."""
    phone = normalize_phone(phone)
    code = _clean_code(code)
    new_account = {}
    if accept_terms:
        new_account = {"terms_version": TERMS_VERSION}
        if str(display_name or "").strip():
            new_account["display_name"] = _clean_display_name(display_name)
    now = clock.now()
    otp = _latest_code(phone)
    _ensure_code_usable(otp, now)
    if User.objects.filter(phone=phone, is_active=False).exists():
        raise _account_suspended()
    if not hmac.compare_digest(otp.code_hash, hash_code(phone=phone, code=code)):
        # The wrong try is committed before the error is raised: that is its whole point.
        raise _count_wrong_try(otp)
    with transaction.atomic():
        consumed = OneTimeCode.objects.filter(
            pk=otp.pk,
            used_at__isnull=True,
            wrong_tries__lt=CODE_MAX_WRONG_TRIES,
            expires_at__gt=now,
        ).update(used_at=now)
        if not consumed:
            otp.refresh_from_db()
            _ensure_code_usable(otp, now)
            raise _exhausted()
        if accept_terms:
            new_account["terms_accepted_at"] = now
        # Raising here (a new number without consent) also rolls back the code's use.
        user, signed_up = _sign_up_or_find(
            phone=phone, now=now, consent=accept_terms, **new_account
        )
    return VerifiedPhone(user=user, signed_up=signed_up)


def register_verified_user(*, phone: str, display_name: str = "", locale: str = "") -> User:
    """Sign up a number whose ownership was proven outside the OTP flow.

    For trusted callers only (the demo world, operator scripts); no page or API endpoint reaches
    it. The same phone rules, profile rules and sign-up event apply as for a code sign-up.
    """
    phone = normalize_phone(phone)
    profile = {}
    if display_name:
        profile["display_name"] = _clean_display_name(display_name)
    if locale:
        profile["locale"] = _clean_locale(locale)
    with transaction.atomic():
        user, signed_up = _sign_up_or_find(phone=phone, now=clock.now())
        if not signed_up:
            raise Conflict(_("This phone number already has an account."), code="phone_taken")
        if profile:
            User.objects.filter(pk=user.pk).update(**profile)
            for field, value in profile.items():
                setattr(user, field, value)
    return user


def _operators_group():
    """The "Platform operators" permission group: view on Shoploop's own models.
    Made on first use (get_or_create on the unique name is safe under a race)."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=OPERATORS_GROUP)
    if created:
        codename_prefixes = Q()
        for action in OPERATOR_PERMISSION_ACTIONS:
            codename_prefixes |= Q(codename__startswith=f"{action}_")
        group.permissions.set(
            Permission.objects.filter(content_type__app_label__in=_shoploop_app_labels())
            .filter(codename_prefixes)
            # Rights are a superuser's to give: operators cannot edit permission groups.
            .exclude(content_type__model="permissiongroup")
        )
    return group


def _shoploop_app_labels() -> list[str]:
    from django.apps import apps

    return [config.label for config in apps.get_app_configs() if config.name.startswith("shoploop")]


def create_operator(*, phone: str, display_name: str) -> User:
    """Bootstrap a platform operator (staff: admin access, shop approvals, bans).

    Operators sign in to the admin with their phone and a one-time code, like everyone else. They
    are staff in the "Platform operators" permission group (view and change, never superuser).
    ``manage.py createoperator``, deployment tooling and the demo world call this; operators
    appointed later can be made by a superuser in the admin.
    """
    with transaction.atomic():
        user = register_verified_user(phone=phone, display_name=display_name)
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.groups.add(_operators_group())
    user.is_staff = True
    return user


def purge_expired_codes(now: datetime) -> int:
    """Deadline handler: delete codes expired for more than a day, in small locked batches."""
    cutoff = now - EXPIRED_CODES_KEPT_FOR
    purged = 0
    while True:
        with transaction.atomic():
            batch = list(
                OneTimeCode.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lt=cutoff)
                .values_list("pk", flat=True)[:PURGE_BATCH_SIZE]
            )
            if not batch:
                break
            purged += OneTimeCode.objects.filter(pk__in=batch).delete()[0]
    with transaction.atomic():
        OtpThrottle.objects.filter(last_seen_at__lt=cutoff).delete()
    return purged


# --- profile -----------------------------------------------------------------------------------


def update_profile(
    *,
    actor: User,
    display_name=None,
    bio=None,
    locale=None,
    share_activity_with_followers: bool | None = None,
) -> User:
    """Change the signed-in person's own profile; fields left as None stay as they are.

    ``share_activity_with_followers`` is the privacy choice: may followers' feeds show what this
    person bought and which deals they opened or joined (off until they turn it on)."""
    changes = {}
    if share_activity_with_followers is not None:
        changes["share_activity_with_followers"] = bool(share_activity_with_followers)
    if display_name is not None:
        changes["display_name"] = _clean_display_name(display_name)
    if bio is not None:
        changes["bio"] = _clean_bio(bio)
    if locale is not None:
        changes["locale"] = _clean_locale(locale)
    with transaction.atomic():
        if changes:
            User.objects.filter(pk=actor.pk).update(**changes)
    for field, value in changes.items():
        setattr(actor, field, value)
    return actor


def set_avatar(*, actor: User, upload) -> User:
    prepared = prepared_image(
        upload, max_width=AVATAR_MAX_SIDE, max_height=AVATAR_MAX_SIDE, field="avatar"
    )
    previous = actor.avatar.name if actor.avatar else ""
    actor.avatar.save(prepared.file.name, prepared.file, save=False)
    with transaction.atomic():
        User.objects.filter(pk=actor.pk).update(avatar=actor.avatar.name)
    if previous and previous != actor.avatar.name:
        actor.avatar.storage.delete(previous)
    return actor


# --- follows and blocks ------------------------------------------------------------------------


def _lock_pair(a: User, b: User) -> None:
    """Follow and block of the same two people are serialised (primary-key order: no deadlock),
    so a follow can never slip in beside a concurrent block. SQLite has no row locks (its
    IMMEDIATE transactions already serialise writers), so there the query would be waste."""
    if connection.features.has_select_for_update:
        list(User.objects.select_for_update().filter(pk__in=[a.pk, b.pk]).order_by("pk"))


def _blocked_either_way(a: User, b: User) -> bool:
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def follow(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise ValidationFailed(_("You cannot follow yourself."), code="cannot_follow_self")
    if not followee.is_active:
        raise ValidationFailed(_("This account is not available."), code="user_unavailable")
    with transaction.atomic():
        _lock_pair(follower, followee)
        if _blocked_either_way(follower, followee):
            raise PermissionDenied(_("You cannot follow this person."), code="blocked")
        try:
            with transaction.atomic():
                link = Follow.objects.create(
                    follower=follower, followee=followee, created_at=clock.now()
                )
        except IntegrityError:
            raise Conflict(_("You already follow this person."), code="already_following") from None
        publish(
            "accounts.user.followed",
            follower_public_id=follower.public_id,
            followee_public_id=followee.public_id,
        )
    return link


def unfollow(*, follower: User, followee: User) -> None:
    with transaction.atomic():
        deleted, _rows = Follow.objects.filter(follower=follower, followee=followee).delete()
        if not deleted:
            raise Conflict(_("You do not follow this person."), code="not_following")


def block(*, blocker: User, blocked: User) -> Block:
    """Block someone: they can no longer follow you, and follows both ways are removed."""
    if blocker.pk == blocked.pk:
        raise ValidationFailed(_("You cannot block yourself."), code="cannot_block_self")
    with transaction.atomic():
        _lock_pair(blocker, blocked)
        try:
            with transaction.atomic():
                link = Block.objects.create(
                    blocker=blocker, blocked=blocked, created_at=clock.now()
                )
        except IntegrityError:
            raise Conflict(_("You already blocked this person."), code="already_blocked") from None
        Follow.objects.filter(
            Q(follower=blocker, followee=blocked) | Q(follower=blocked, followee=blocker)
        ).delete()
        publish(
            "accounts.user.blocked",
            blocker_public_id=blocker.public_id,
            blocked_public_id=blocked.public_id,
        )
    return link


def unblock(*, blocker: User, blocked: User) -> None:
    with transaction.atomic():
        deleted, _rows = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
        if not deleted:
            raise Conflict(_("You have not blocked this person."), code="not_blocked")


# --- API tokens and sessions -------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


def _clean_token_name(value) -> str:
    name = str(value or "").strip()
    if len(name) > TOKEN_NAME_MAX or _has_control_characters(name):
        raise ValidationFailed(
            _("A token name has at most %(max)d ordinary characters.") % {"max": TOKEN_NAME_MAX},
            code="token_name_invalid",
            fields={"name": _("Invalid name.")},
        )
    return name


def issue_api_token(*, user: User, name: str = "") -> IssuedToken:
    name = _clean_token_name(name)
    if not user.is_active:
        raise _account_suspended()
    with transaction.atomic():
        # The user row lock makes the "at most N live tokens" count exact under concurrency.
        User.objects.select_for_update().filter(pk=user.pk).first()
        live = _live_tokens(user).count()
        if live >= MAX_ACTIVE_TOKENS:
            raise Conflict(
                _("You have too many active tokens. Revoke one you no longer use."),
                code="too_many_tokens",
            )
        raw = secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user, name=name, token_hash=hash_token(raw), created_at=clock.now()
        )
    return IssuedToken(token=token, raw=raw)


def _live_tokens(user: User):
    """Not revoked and not expired: the tokens that still open the API."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, created_at__gt=clock.now() - ApiToken.lifetime()
    )


def rotate_api_token(*, actor: User, token: ApiToken) -> IssuedToken:
    """Replace ``token`` by a fresh one with the same name (and a full lifetime); the old one
    stops working in the same transaction, so there is never a moment with neither or both."""
    if token.user_id != actor.pk:
        raise PermissionDenied(_("This token is not yours."))
    if not actor.is_active:
        raise _account_suspended()
    now = clock.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not revoked:
            raise Conflict(_("This token was already revoked."), code="already_revoked")
        raw = secrets.token_urlsafe(32)
        fresh = ApiToken.objects.create(
            user=actor, name=token.name, token_hash=hash_token(raw), created_at=now
        )
    return IssuedToken(token=fresh, raw=raw)


def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        raise PermissionDenied(_("This token is not yours."))
    now = clock.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not revoked:
            raise Conflict(_("This token was already revoked."), code="already_revoked")
    token.revoked_at = now
    return token


def _end_sessions_and_tokens(user: User, now: datetime) -> int:
    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)


def sign_out_everywhere(*, user: User) -> int:
    """End every session of ``user`` (all browsers) and revoke all API tokens; returns how many
    tokens were revoked."""
    with transaction.atomic():
        revoked = _end_sessions_and_tokens(user, clock.now())
    user.refresh_from_db(fields=["session_version"])
    return revoked


# --- operators ---------------------------------------------------------------------------------


def _require_operator(actor: User) -> None:
    if not (actor and actor.is_active and actor.is_staff):
        raise PermissionDenied(_("Only platform operators can do that."))


def ban_user(*, user: User, actor: User, reason: str = "") -> User:
    _require_operator(actor)
    if user.pk == actor.pk:
        raise ValidationFailed(_("You cannot ban yourself."), code="cannot_ban_self")
    reason = str(reason or "").strip()
    if len(reason) > BAN_REASON_MAX:
        raise ValidationFailed(
            _("The reason can have at most %(max)d characters.") % {"max": BAN_REASON_MAX},
            code="reason_too_long",
        )
    now = clock.now()
    with transaction.atomic():
        banned = User.objects.filter(pk=user.pk, is_active=True).update(
            is_active=False, banned_at=now, ban_reason=reason
        )
        if not banned:
            raise Conflict(_("This user is already banned."), code="already_banned")
        _end_sessions_and_tokens(user, now)
        publish(
            "accounts.user.banned",
            user_public_id=user.public_id,
            actor_public_id=actor.public_id,
            reason=reason,
        )
    user.refresh_from_db()
    return user


def unban_user(*, user: User, actor: User) -> User:
    _require_operator(actor)
    with transaction.atomic():
        restored = User.objects.filter(pk=user.pk, is_active=False).update(
            is_active=True, banned_at=None, ban_reason=""
        )
        if not restored:
            raise Conflict(_("This user is not banned."), code="not_banned")
    user.refresh_from_db()
    return user
