"""Every write of the chat app: starting conversations, sending, reading, moderating, reporting.

A message is stored first (in the transaction that numbers it), then pushed to connected clients
and published as ``chat.message.sent`` after the commit. Bad input raises a ``DomainError`` before
anything is written.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shoploop.accounts.models import Block, Follow
from shoploop.chat import realtime, selectors
from shoploop.chat.models import (
    REPORT_REASON_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    Conversation,
    Message,
    MessageReport,
    Participant,
)
from shoploop.core import clock, ratelimit
from shoploop.core.errors import (
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from shoploop.core.events import publish
from shoploop.core.images import prepared_image, save_with_image
from shoploop.core.text import clean_text

IMAGE_MAX_SIDE = 1280
RATE_WINDOW_SECONDS = 60


def _require_signed_in(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def _blocked_either_way(a_id: int, b_id: int) -> bool:
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def _blocked_error() -> PermissionDenied:
    return PermissionDenied(_("You cannot message this person."), code="blocked")


def _join(conversation: Conversation, user, *, for_shop: bool = False) -> Participant:
    participant, _created = Participant.objects.get_or_create(
        conversation=conversation, user=user, defaults={"for_shop": for_shop}
    )
    return participant


# --- starting conversations -------------------------------------------------------------------


def _topic(*, buyer, shop, product=None, order=None, after_sale=None) -> tuple[str, str, str]:
    """The card a shop conversation shows; the buyer must be entitled to what they name."""
    if after_sale is not None:
        order = after_sale.order
        if order.buyer_id != buyer.pk or order.shop_id != shop.pk:
            raise PermissionDenied(_("This is not your after-sale request."), code="not_your_order")
        return Conversation.Topic.AFTER_SALE, after_sale.public_id, f"#{order.public_id}"
    if order is not None:
        if order.buyer_id != buyer.pk or order.shop_id != shop.pk:
            raise PermissionDenied(_("This is not your order."), code="not_your_order")
        first = order.lines.order_by("pk").first()
        return Conversation.Topic.ORDER, order.public_id, (first.title if first else "")[:120]
    if product is not None:
        if product.shop_id != shop.pk:
            raise ValidationFailed(
                _("This product is not from this shop."), code="product_not_in_shop"
            )
        return Conversation.Topic.PRODUCT, product.public_id, product.title[:120]
    return "", "", ""


def start_shop_conversation(
    *, buyer, shop, product=None, order=None, after_sale=None
) -> Conversation:
    """The buyer's conversation with ``shop`` (one per buyer and shop), showing the card of what
    they start it from. Starting again from something else changes the card."""
    _require_signed_in(buyer)
    from shoploop.catalog.models import Shop

    if shop.status != Shop.Status.APPROVED:
        raise Conflict(_("This shop is not open."), code="shop_not_open")
    if buyer.pk in selectors.shop_staff_ids(shop):
        raise ValidationFailed(_("You cannot message your own shop."), code="own_shop")
    if _blocked_either_way(buyer.pk, shop.owner_id):
        raise _blocked_error()
    kind, topic_id, title = _topic(
        buyer=buyer, shop=shop, product=product, order=order, after_sale=after_sale
    )
    with transaction.atomic():
        conversation = Conversation.objects.filter(
            kind=Conversation.Kind.SHOP, shop=shop, buyer=buyer
        ).first()
        if conversation is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(
                        kind=Conversation.Kind.SHOP, shop=shop, buyer=buyer
                    )
            except IntegrityError:  # started at the same moment by another request
                conversation = Conversation.objects.get(
                    kind=Conversation.Kind.SHOP, shop=shop, buyer=buyer
                )
        if kind:
            Conversation.objects.filter(pk=conversation.pk).update(
                topic_kind=kind, topic_public_id=topic_id, topic_title=title
            )
            conversation.topic_kind, conversation.topic_public_id = kind, topic_id
            conversation.topic_title = title
        _join(conversation, buyer)
        for staff_id in selectors.shop_staff_ids(shop):
            Participant.objects.get_or_create(
                conversation=conversation, user_id=staff_id, defaults={"for_shop": True}
            )
    return conversation


def _direct_key(a_id: int, b_id: int) -> str:
    low, high = sorted((a_id, b_id))
    return f"{low}:{high}"


def start_direct_conversation(*, actor, other) -> Conversation:
    """Private messages between two people who follow each other."""
    _require_signed_in(actor)
    if other.pk == actor.pk:
        raise ValidationFailed(_("You cannot message yourself."), code="self_message")
    if not other.is_active:
        raise PermissionDenied(_("You cannot message this person."), code="blocked")
    if _blocked_either_way(actor.pk, other.pk):
        raise _blocked_error()
    mutual = Follow.objects.filter(
        Q(follower=actor, followee=other) | Q(follower=other, followee=actor)
    ).count()
    if mutual < 2:
        raise PermissionDenied(
            _("You can message people who follow you and whom you follow."),
            code="not_mutual_followers",
        )
    key = _direct_key(actor.pk, other.pk)
    with transaction.atomic():
        conversation = Conversation.objects.filter(direct_key=key).first()
        if conversation is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(
                        kind=Conversation.Kind.DIRECT, direct_key=key
                    )
            except IntegrityError:
                conversation = Conversation.objects.get(direct_key=key)
        _join(conversation, actor)
        _join(conversation, other)
    return conversation


def open_room(*, actor, community) -> Conversation:
    """The community's room, made on first use; the member gets their read state in it."""
    _require_signed_in(actor)
    from shoploop.communities import selectors as communities

    if not communities.is_member(user=actor, community=community):
        raise PermissionDenied(_("Join the community to talk in its room."), code="not_a_member")
    with transaction.atomic():
        conversation = Conversation.objects.filter(community=community).first()
        if conversation is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(
                        kind=Conversation.Kind.ROOM, community=community
                    )
            except IntegrityError:
                conversation = Conversation.objects.get(community=community)
        _join(conversation, actor)
    return conversation


# --- sending ----------------------------------------------------------------------------------


def _limit_rate(actor) -> None:
    """Bursts are limited for everyone, and more tightly for accounts younger than a day."""
    subject = str(actor.public_id)
    ratelimit.hit(
        scope="chat",
        subject=subject,
        limit=settings.CHAT_MESSAGES_PER_MINUTE,
        window_seconds=RATE_WINDOW_SECONDS,
    )
    new_for = timedelta(hours=settings.CHAT_NEW_ACCOUNT_HOURS)
    if actor.date_joined and clock.now() - actor.date_joined < new_for:
        ratelimit.hit(
            scope="chat-new",
            subject=subject,
            limit=settings.CHAT_NEW_ACCOUNT_MESSAGES_PER_MINUTE,
            window_seconds=RATE_WINDOW_SECONDS,
        )


def _closed() -> Conflict:
    return Conflict(_("This conversation is closed."), code="conversation_closed")


def _check_may_send(*, actor, conversation: Conversation, access: selectors.Access) -> None:
    if conversation.is_closed:
        raise _closed()
    if conversation.kind == Conversation.Kind.SHOP:
        if _blocked_either_way(conversation.buyer_id, conversation.shop.owner_id):
            raise _blocked_error()
    elif conversation.kind == Conversation.Kind.DIRECT:
        others = Participant.objects.filter(conversation=conversation).exclude(user=actor)
        for other_id in others.values_list("user_id", flat=True):
            if _blocked_either_way(actor.pk, other_id):
                raise _blocked_error()
    elif conversation.kind == Conversation.Kind.ROOM:
        if not conversation.community.is_active:
            raise _closed()
        muted = Participant.objects.filter(
            conversation=conversation, user=actor, muted_at__isnull=False
        ).exists()
        if muted:
            raise PermissionDenied(_("A moderator muted you in this room."), code="muted")


def _recipients(conversation: Conversation, sender) -> list[str]:
    """Who ``chat.message.sent`` is for: the participants other than the sender. A community
    room's messages are for nobody in particular (rooms do not notify), so the list is empty."""
    if conversation.kind == Conversation.Kind.ROOM:
        return []
    return list(
        Participant.objects.filter(conversation=conversation)
        .exclude(user=sender)
        .values_list("user__public_id", flat=True)
        .order_by("user__public_id")
    )


def _owner_public_ids(conversation: Conversation) -> dict[str, str]:
    """Whose conversation it is, for insights: a shop conversation's shop, a room's community
    (a private conversation belongs to neither). The callers load both with the conversation."""
    if conversation.shop_id is not None:
        return {"shop_public_id": conversation.shop.public_id}
    if conversation.community_id is not None:
        return {"community_public_id": conversation.community.public_id}
    return {}


def send_message(*, actor, conversation: Conversation, text="", image=None) -> Message:
    """Store a message (text, an image, or both) and push it to whoever is connected."""
    _require_signed_in(actor)
    access = selectors.access(user=actor, conversation=conversation)
    text = clean_text(text, field="text", max_length=TEXT_MAX_LENGTH)
    if not text and image is None:
        raise ValidationFailed(
            _("Write a message or add a picture."),
            code="empty_message",
            fields={"text": "required"},
        )
    _check_may_send(actor=actor, conversation=conversation, access=access)
    prepared = None
    if image is not None:
        prepared = prepared_image(
            image, max_width=IMAGE_MAX_SIDE, max_height=IMAGE_MAX_SIDE, field="image"
        )
    _limit_rate(actor)
    with transaction.atomic():
        # The row lock numbers the conversation's messages in commit order (see models.py).
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.closed_at is not None:
            raise _closed()
        now = clock.now()
        seq = locked.last_seq + 1
        message = Message(
            conversation=locked,
            seq=seq,
            sender=actor,
            sent_for_shop=access.for_shop,
            text=text,
            created_at=now,
        )
        if prepared is not None:
            message.width, message.height = prepared.width, prepared.height
            save_with_image(message, prepared.file)
        else:
            message.save()
        changes = {"last_seq": seq, "last_message_at": now}
        if locked.kind == Conversation.Kind.SHOP:
            changes["awaiting_shop"] = not access.for_shop
        Conversation.objects.filter(pk=locked.pk).update(**changes)
        participant = _join(locked, actor, for_shop=access.for_shop)
        Participant.objects.filter(pk=participant.pk).update(last_read_seq=seq)
        message.conversation = conversation
        conversation.last_seq, conversation.last_message_at = seq, now
        publish(
            "chat.message.sent",
            conversation_public_id=conversation.public_id,
            message_public_id=message.public_id,
            sender_public_id=actor.public_id,
            recipient_public_ids=_recipients(conversation, actor),
            conversation_kind=conversation.kind,
            **_owner_public_ids(conversation),
        )
        transaction.on_commit(lambda: realtime.push_message(message))
    return message


def mark_read(*, actor, conversation: Conversation, seq: int) -> Participant:
    """Everything up to ``seq`` is read (never moves backwards; capped at the last message)."""
    access = selectors.access(user=actor, conversation=conversation)
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= selectors.MAX_SEQ:
        raise ValidationFailed(_("Not a message number."), fields={"seq": "invalid"})
    seq = min(seq, conversation.last_seq)
    with transaction.atomic():
        participant = _join(conversation, actor, for_shop=access.for_shop)
        Participant.objects.filter(pk=participant.pk, last_read_seq__lt=seq).update(
            last_read_seq=seq
        )
        participant.refresh_from_db()
    return participant


# --- moderation -------------------------------------------------------------------------------


def _require_room_moderator(*, actor, conversation: Conversation) -> None:
    access = selectors.access(user=actor, conversation=conversation)
    if conversation.kind != Conversation.Kind.ROOM or not access.moderator:
        raise PermissionDenied(
            _("Only the room's owner and moderators can do that."), code="not_a_moderator"
        )


def remove_message(*, actor, message: Message) -> Message:
    """The sender takes back their message, or a room moderator (or an operator) removes it.
    Its text and picture are no longer shown to anyone; reports about it are resolved."""
    conversation = selectors.conversation_by_public_id(message.conversation.public_id)
    if message.sender_id == actor.pk:
        selectors.access(user=actor, conversation=conversation)
    elif not actor.is_staff:  # operators act on reports from the admin
        _require_room_moderator(actor=actor, conversation=conversation)
    now = clock.now()
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, removed_at__isnull=True).update(
            removed_at=now, removed_by=actor
        )
        MessageReport.objects.filter(message=message, resolved_at__isnull=True).update(
            resolved_at=now
        )
        if changed:
            public_id = conversation.public_id
            transaction.on_commit(
                lambda: realtime.push_state(public_id, removed=message.public_id, seq=message.seq)
            )
    message.refresh_from_db()
    return message


def set_muted(*, actor, conversation: Conversation, user, muted: bool) -> Participant:
    """A room's moderator mutes (or unmutes) a member: a muted member reads but cannot send."""
    _require_room_moderator(actor=actor, conversation=conversation)
    from shoploop.communities import selectors as communities

    if user.pk == actor.pk:
        raise ValidationFailed(_("You cannot mute yourself."), code="self_mute")
    if communities.is_moderator(user=user, community=conversation.community):
        raise PermissionDenied(
            _("Owners and moderators cannot be muted."), code="cannot_mute_moderator"
        )
    if not communities.is_member(user=user, community=conversation.community):
        raise ValidationFailed(_("This person is not a member."), code="not_a_member")
    with transaction.atomic():
        participant = _join(conversation, user)
        Participant.objects.filter(pk=participant.pk).update(
            muted_at=clock.now() if muted else None
        )
        participant.refresh_from_db()
    return participant


def set_room_closed(*, actor, conversation: Conversation, closed: bool) -> Conversation:
    """Close a room (members still read it, nobody can send) or open it again."""
    _require_room_moderator(actor=actor, conversation=conversation)
    now = clock.now() if closed else None
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(closed_at=now)
        public_id = conversation.public_id
        transaction.on_commit(lambda: realtime.push_state(public_id, closed=bool(closed)))
    conversation.refresh_from_db()
    return conversation


def report_message(*, actor, message: Message, reason: str = "") -> MessageReport:
    """Report a message to the room's moderators and the operators (once per person)."""
    selectors.access(user=actor, conversation=message.conversation)
    if message.sender_id == actor.pk:
        raise ValidationFailed(_("You cannot report your own message."), code="own_message")
    reason = clean_text(reason, field="reason", max_length=REPORT_REASON_MAX_LENGTH)
    try:
        with transaction.atomic():
            report = MessageReport.objects.create(message=message, reporter=actor, reason=reason)
            publish(
                "chat.message.reported",
                conversation_public_id=message.conversation.public_id,
                message_public_id=message.public_id,
                report_public_id=report.public_id,
            )
    except IntegrityError:
        raise Conflict(_("You already reported this message."), code="already_reported") from None
    return report


def resolve_report(*, actor, report: MessageReport) -> MessageReport:
    """An operator (or the room's moderator) has dealt with a report."""
    if not actor.is_staff:
        _require_room_moderator(actor=actor, conversation=report.message.conversation)
    MessageReport.objects.filter(pk=report.pk, resolved_at__isnull=True).update(
        resolved_at=clock.now()
    )
    report.refresh_from_db()
    return report
