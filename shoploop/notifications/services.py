"""Every write of notifications: create one (once per recipient and event), mark read, set
preferences, record activity, and the SMS for important kinds under a daily cap.

``notify`` is what the event subscribers (``handlers.py``) call. It is safe to call twice for the
same event: the (recipient, key) unique constraint keeps one row and the repeat does nothing.
Live pushes and SMS happen after the commit, never for a rolled-back notification.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shoploop.accounts.sms import TemplateSMSProvider, get_provider
from shoploop.core import clock
from shoploop.core.errors import NotFound, ValidationFailed
from shoploop.notifications import kinds as kind_registry
from shoploop.notifications import live
from shoploop.notifications.models import Activity, Notification, Preference, SmsAllowance

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = ("zh-hans", "en")
ACTIVITY_WRITE_EVERY = timedelta(minutes=1)
SMS_TEMPLATE_PREFIX = "notify_"


# --- language ----------------------------------------------------------------------------------


def language_of(user) -> str:
    """The person's chosen language (their profile), else the site's default: what an SMS to
    them speaks, and what a live push renders in when the connection did not say."""
    locale = str(getattr(user, "locale", "") or "").strip().lower()
    return locale if locale in SUPPORTED_LANGUAGES else settings.LANGUAGE_CODE


# --- preferences -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: str
    in_app: bool
    sms: bool
    sms_available: bool


def _default(kind: str) -> Choice:
    important = kind_registry.KINDS[kind].important
    return Choice(kind=kind, in_app=True, sms=important, sms_available=important)


def preferences_of(user) -> list[Choice]:
    """One choice per kind, in the registry's order (stored ones override the defaults)."""
    stored = {row.kind: row for row in Preference.objects.filter(user=user)}
    choices = []
    for kind in kind_registry.KINDS:
        default = _default(kind)
        row = stored.get(kind)
        if row is None:
            choices.append(default)
        else:
            choices.append(
                Choice(kind, row.in_app, row.sms and default.sms_available, default.sms_available)
            )
    return choices


def preference_for(user, kind: str) -> Choice:
    row = Preference.objects.filter(user=user, kind=kind).first()
    default = _default(kind)
    if row is None:
        return default
    return Choice(kind, row.in_app, row.sms and default.sms_available, default.sms_available)


def set_preference(*, user, kind: str, in_app: bool, sms: bool) -> Choice:
    if kind not in kind_registry.KINDS:
        raise ValidationFailed(
            _("Unknown notification kind."),
            code="kind_unknown",
            fields={"kind": _("Not a notification kind.")},
        )
    if sms and not kind_registry.KINDS[kind].important:
        raise ValidationFailed(
            _("This kind of notification is not sent by SMS."),
            code="sms_not_available",
            fields={"sms": _("Not available for this kind.")},
        )
    with transaction.atomic():
        Preference.objects.update_or_create(
            user=user, kind=kind, defaults={"in_app": bool(in_app), "sms": bool(sms)}
        )
    return preference_for(user, kind)


# --- activity ----------------------------------------------------------------------------------


def _seen_key(user_id: int) -> str:
    return f"notifications:seen:{user_id}"


def touch_activity(*, user, now: datetime | None = None) -> None:
    """Record that ``user`` is here. Cheap: the cache lets through at most one database write a
    minute per person (per process), and the UPDATE itself skips a row written less than a minute
    ago, so several processes do not each write."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    if cache.get(_seen_key(user.pk)):
        return
    cache.set(_seen_key(user.pk), 1, int(ACTIVITY_WRITE_EVERY.total_seconds()))
    now = now or clock.now()
    rows = Activity.objects.filter(user_id=user.pk)
    if rows.filter(last_seen_at__lte=now - ACTIVITY_WRITE_EVERY).update(last_seen_at=now):
        return
    if rows.exists():
        return
    try:
        with transaction.atomic():
            Activity.objects.create(user_id=user.pk, last_seen_at=now)
    except IntegrityError:
        pass  # another request made it first


def away_after() -> timedelta:
    return timedelta(minutes=settings.NOTIFY_AWAY_MINUTES)


def is_away(user, *, now: datetime | None = None) -> bool:
    """No page, API call or live connection for ``NOTIFY_AWAY_MINUTES`` (never seen: away)."""
    now = now or clock.now()
    seen = Activity.objects.filter(user_id=user.pk).values_list("last_seen_at", flat=True).first()
    return seen is None or seen <= now - away_after()


# --- creating notifications --------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """One notification to make: for whom, the event's identity for them, what it says."""

    recipient: object
    key: str
    params: dict


def notify(*, recipient, kind: str, key: str, params: dict) -> Notification | None:
    """Make the notification ``kind`` for ``recipient`` once per ``key`` (the event's identity
    for this person). Returns it, or None when it already existed or the person turned both
    channels off. Pushed live and, for an important kind while the person is away, sent by SMS
    (within the daily cap), both after the commit."""
    made = notify_all(kind=kind, notes=[Note(recipient, key, params)])
    return made[0] if made else None


def notify_all(*, kind: str, notes) -> list[Notification]:
    """``notify`` for several people at once (every member of a group hears of the same event):
    one preference read and one INSERT for all of them, whatever their number. Returns the
    notifications made; a repeated delivery makes none."""
    if kind not in kind_registry.KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notes = [note for note in notes if note.recipient is not None and note.recipient.is_active]
    if not notes:
        return []
    choices = _choices_of([note.recipient for note in notes], kind)
    now = clock.now()
    wanted = [
        (note.recipient, choice, _unsaved(note, kind, choice, now))
        for note in notes
        if (choice := choices[note.recipient.pk]).in_app or choice.sms
    ]
    if not wanted:
        return []
    # No savepoint: nothing here is expected to fail; a conflict on (recipient, key), the
    # repeated delivery, is skipped by the INSERT itself.
    with transaction.atomic(savepoint=False):
        saved = _insert_new([notification for *_, notification in wanted])
        made = [(r, c, n) for r, c, n in wanted if n.public_id in saved]
        away = _away_among([r for r, c, _n in made if c.sms and r.phone], now=now)
        pushes = []
        for recipient, choice, notification in made:
            notification.pk = saved[notification.public_id]
            notification._state.adding = False
            if recipient.pk in away:
                _queue_sms(recipient, notification, now)
            if choice.in_app:
                pushes.append((recipient.public_id, notification.public_id))
        if pushes:
            transaction.on_commit(lambda: live.push_new_many(pushes))
    return [notification for *_, notification in made]


def _choices_of(recipients, kind: str) -> dict[int, Choice]:
    """Each recipient's choice for ``kind``, in one read."""
    default = _default(kind)
    choices = {recipient.pk: default for recipient in recipients}
    stored = Preference.objects.filter(user_id__in=list(choices), kind=kind)
    for row in stored:
        sms = row.sms and default.sms_available
        choices[row.user_id] = Choice(kind, row.in_app, sms, default.sms_available)
    return choices


def _unsaved(note: Note, kind: str, choice: Choice, now: datetime) -> Notification:
    return Notification(
        recipient=note.recipient,
        kind=kind,
        key=note.key[:200],
        params=note.params,
        in_app=choice.in_app,
        created_at=now,
    )


def _insert_new(notifications: list[Notification]) -> dict[str, int]:
    """Insert those not made before (the unique (recipient, key) skips a repeat); returns the
    database ids of the new ones by public id (the public ids are fresh, so only the rows this
    call inserted have them)."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    public_ids = [notification.public_id for notification in notifications]
    rows = Notification.objects.filter(public_id__in=public_ids).values_list("public_id", "pk")
    return dict(rows)


def _away_among(recipients, *, now: datetime) -> set[int]:
    """Which of ``recipients`` are away (``is_away``), in one read."""
    if not recipients:
        return set()
    ids = {recipient.pk for recipient in recipients}
    here = Activity.objects.filter(user_id__in=ids, last_seen_at__gt=now - away_after())
    return ids - set(here.values_list("user_id", flat=True))


def _queue_sms(recipient, notification: Notification, now: datetime) -> None:
    state = Notification.Sms.QUEUED if _reserve_sms(recipient, now) else Notification.Sms.CAPPED
    Notification.objects.filter(pk=notification.pk).update(sms=state)
    notification.sms = state
    if state == Notification.Sms.QUEUED:
        transaction.on_commit(lambda: send_sms(notification_id=notification.pk))


def sms_day(now: datetime):
    """The local calendar day the daily cap counts in (the deployment's time zone)."""
    return timezone.localdate(now)


def _reserve_sms(recipient, now: datetime) -> bool:
    """Take one of today's SMS for ``recipient``: one conditional UPDATE below the cap, so two
    notifications racing for the last one cannot both have it."""
    day = sms_day(now)
    cap = settings.NOTIFY_SMS_PER_DAY
    if cap <= 0:
        return False
    SmsAllowance.objects.get_or_create(user=recipient, day=day)
    taken = SmsAllowance.objects.filter(user=recipient, day=day, sent__lt=cap).update(
        sent=F("sent") + 1
    )
    return taken == 1


def sms_text(notification: Notification) -> str:
    return _("[Shoploop] %(text)s") % {
        "text": kind_registry.render(notification.kind, notification.params)
    }


def send_sms(*, notification_id: int) -> str:
    """Send a queued notification's SMS through the configured provider, in the recipient's
    language. A template provider (Chinese SMS services) sends the template
    ``notify_<kind>`` from ``SMS_TEMPLATES`` with the kind's parameters. A failed send gives
    the day's allowance back."""
    notification = (
        Notification.objects.select_related("recipient")
        .filter(pk=notification_id, sms=Notification.Sms.QUEUED)
        .first()
    )
    if notification is None:
        return ""
    user = notification.recipient
    kind = kind_registry.KINDS[notification.kind]
    try:
        with translation.override(language_of(user)):
            provider = get_provider()
            if isinstance(provider, TemplateSMSProvider):
                provider.send_template(
                    phone=user.phone,
                    kind=SMS_TEMPLATE_PREFIX + notification.kind,
                    params=[str(value) for value in kind.sms_params(notification.params)],
                )
            else:
                provider.send(phone=user.phone, text=sms_text(notification))
    except Exception:
        logger.exception("SMS for notification %s failed", notification.public_id)
        Notification.objects.filter(pk=notification.pk, sms=Notification.Sms.QUEUED).update(
            sms=Notification.Sms.FAILED
        )
        SmsAllowance.objects.filter(
            user=user, day=sms_day(notification.created_at), sent__gt=0
        ).update(sent=F("sent") - 1)
        return Notification.Sms.FAILED
    Notification.objects.filter(pk=notification.pk, sms=Notification.Sms.QUEUED).update(
        sms=Notification.Sms.SENT
    )
    return Notification.Sms.SENT


# --- reading -----------------------------------------------------------------------------------


def mark_read(*, user, public_id: str) -> Notification:
    """Mark one of the user's notifications read (again: nothing changes)."""
    with transaction.atomic():
        notification = Notification.objects.filter(
            recipient=user, public_id=public_id, in_app=True
        ).first()
        if notification is None:
            raise NotFound(_("This notification does not exist."), code="notification_not_found")
        if notification.read_at is None:
            now = clock.now()
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=now
            )
            notification.read_at = now
            transaction.on_commit(lambda: live.push_unread(user_public_id=user.public_id))
    return notification


def mark_all_read(*, user) -> int:
    with transaction.atomic():
        changed = Notification.objects.filter(
            recipient=user, in_app=True, read_at__isnull=True
        ).update(read_at=clock.now())
        if changed:
            transaction.on_commit(lambda: live.push_unread(user_public_id=user.public_id))
    return changed
