"""Reads of the chat app, with the "may this person see it" checks."""

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.accounts.selectors import blocked_ids
from shoploop.chat.models import Conversation, Message, MessageReport, Participant
from shoploop.core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEQ = 2**62  # message numbers are 64-bit integers in the database


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def shop_staff_ids(shop) -> set[int]:
    """Everyone who answers for the shop. Today a shop has one member of staff, its owner; the
    inbox is shared by whoever this returns."""
    return {shop.owner_id}


def is_shop_staff(*, user, shop) -> bool:
    return _signed_in(user) and user.pk in shop_staff_ids(shop)


def conversation_by_public_id(public_id: str) -> Conversation:
    conversation = (
        Conversation.objects.select_related("shop", "shop__owner", "buyer", "community")
        .filter(public_id=str(public_id))
        .first()
    )
    if conversation is None:
        raise NotFound(_("No such conversation."), code="conversation_not_found")
    return conversation


@dataclass(frozen=True)
class Access:
    """What a person may do in a conversation."""

    conversation: Conversation
    for_shop: bool = False  # speaks for the shop (staff of a shop conversation)
    moderator: bool = False  # owner or moderator of the room's community


def access(*, user, conversation: Conversation) -> Access:
    """May ``user`` read and write ``conversation``? Raises 401 / 403 otherwise."""
    if not _signed_in(user):
        raise NotAuthenticated()
    kind = conversation.kind
    if kind == Conversation.Kind.SHOP:
        if user.pk == conversation.buyer_id:
            return Access(conversation)
        if user.pk in shop_staff_ids(conversation.shop):
            return Access(conversation, for_shop=True)
    elif kind == Conversation.Kind.ROOM:
        from shoploop.communities import selectors as communities

        community = conversation.community
        if communities.is_member(user=user, community=community):
            moderator = communities.is_moderator(user=user, community=community)
            return Access(conversation, moderator=moderator)
    elif Participant.objects.filter(conversation=conversation, user=user).exists():
        return Access(conversation)
    raise PermissionDenied(_("You are not part of this conversation."), code="not_in_conversation")


def conversation_for(*, user, public_id: str) -> Access:
    return access(user=user, conversation=conversation_by_public_id(public_id))


def participant_of(*, user, conversation: Conversation) -> Participant | None:
    return Participant.objects.filter(conversation=conversation, user=user).first()


def visible_messages(*, user, conversation: Conversation) -> QuerySet[Message]:
    """Messages the reader may see: people they blocked (or who blocked them) are left out."""
    hidden = blocked_ids(user) if _signed_in(user) else set()
    messages = Message.objects.filter(conversation=conversation).select_related(
        "sender", "conversation"
    )
    if hidden:
        messages = messages.exclude(sender_id__in=hidden)
    return messages


def message_page(
    *,
    user,
    conversation: Conversation,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[Message]:
    """A page of messages in ``seq`` order. ``after`` N: the next ones after N (catching up);
    ``before`` N: the ones just before N (scrolling back); neither: the latest page."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    for name, value in (("before", before), ("after", after)):
        if value is not None and not 0 <= value <= MAX_SEQ:
            raise ValidationFailed(_("Not a message number."), fields={name: "invalid"})
    messages = visible_messages(user=user, conversation=conversation)
    if after is not None:
        return list(messages.filter(seq__gt=after).order_by("seq")[:limit])
    if before is not None:
        messages = messages.filter(seq__lt=before)
    return list(reversed(messages.order_by("-seq")[:limit]))


def message_for(*, user, public_id: str) -> tuple[Message, Access]:
    message = (
        Message.objects.select_related("conversation", "sender")
        .filter(public_id=str(public_id))
        .first()
    )
    if message is None:
        raise NotFound(_("No such message."), code="message_not_found")
    conversation = conversation_by_public_id(message.conversation.public_id)
    return message, access(user=user, conversation=conversation)


@dataclass
class InboxEntry:
    conversation: Conversation
    unread: int
    title: str
    last_message: Message | None


def _title(conversation: Conversation, *, user) -> str:
    if conversation.kind == Conversation.Kind.SHOP:
        if user.pk == conversation.buyer_id:
            return conversation.shop.name
        return str(conversation.buyer)
    if conversation.kind == Conversation.Kind.ROOM:
        return conversation.community.name
    other = next((p.user for p in conversation.participants.all() if p.user_id != user.pk), None)
    return str(other) if other else ""


def title_of(conversation: Conversation, *, user) -> str:
    return _title(conversation, user=user)


def person_in_title(conversation: Conversation, *, user):
    """The person a conversation's title names for ``user`` (the other side of a private chat,
    the buyer for the shop's staff), so the page can link to their profile; None otherwise."""
    if conversation.kind == Conversation.Kind.SHOP:
        return None if user.pk == conversation.buyer_id else conversation.buyer
    if conversation.kind == Conversation.Kind.ROOM:
        return None
    return next((p.user for p in conversation.participants.all() if p.user_id != user.pk), None)


def _unread_counts(*, user, conversations: list[Conversation]) -> dict[int, int]:
    """Unread messages per conversation: messages past the reader's ``last_read_seq`` that
    others sent (and that the reader may see)."""
    if not conversations:
        return {}
    reads = dict(
        Participant.objects.filter(user=user, conversation__in=conversations).values_list(
            "conversation_id", "last_read_seq"
        )
    )
    hidden = blocked_ids(user)
    counts: dict[int, int] = {}
    for conversation in conversations:
        last_read = reads.get(conversation.pk, 0)
        if conversation.last_seq <= last_read:
            counts[conversation.pk] = 0
            continue
        unread = Message.objects.filter(
            conversation=conversation, seq__gt=last_read, removed_at__isnull=True
        ).exclude(sender=user)
        if hidden:
            unread = unread.exclude(sender_id__in=hidden)
        counts[conversation.pk] = unread.count()
    return counts


def _last_messages(conversations: list[Conversation]) -> dict[int, Message]:
    query = Q()
    for conversation in conversations:
        if conversation.last_seq:
            query |= Q(conversation=conversation, seq=conversation.last_seq)
    if not query:
        return {}
    return {m.conversation_id: m for m in Message.objects.filter(query).select_related("sender")}


def _entries(*, user, conversations: list[Conversation]) -> list[InboxEntry]:
    counts = _unread_counts(user=user, conversations=conversations)
    last = _last_messages(conversations)
    return [
        InboxEntry(
            conversation=c,
            unread=counts.get(c.pk, 0),
            title=_title(c, user=user),
            last_message=last.get(c.pk),
        )
        for c in conversations
    ]


def my_conversations(*, user, limit: int = 100) -> list[InboxEntry]:
    """The person's own conversations (as a buyer, privately, and the rooms they opened), the
    most recent first. A shop's conversations are in ``shop_inbox`` instead."""
    if not _signed_in(user):
        raise NotAuthenticated()
    hidden = blocked_ids(user)
    conversations = (
        Conversation.objects.filter(participants__user=user, participants__for_shop=False)
        .select_related("shop", "buyer", "community")
        .prefetch_related("participants__user")
        .order_by(F("last_message_at").desc(nulls_last=True), "-pk")
    )
    result = []
    for conversation in conversations[:limit]:
        if conversation.kind == Conversation.Kind.ROOM:
            from shoploop.communities import selectors as communities

            if not communities.is_member(user=user, community=conversation.community):
                continue
        if conversation.kind == Conversation.Kind.DIRECT and any(
            p.user_id in hidden for p in conversation.participants.all()
        ):
            continue
        result.append(conversation)
    return _entries(user=user, conversations=result)


def shop_inbox(*, user, shop) -> list[InboxEntry]:
    """The shop's shared inbox for every member of its staff: unanswered conversations first,
    then the most recent."""
    if not is_shop_staff(user=user, shop=shop):
        raise PermissionDenied(_("This is not your shop."), code="not_your_shop")
    conversations = list(
        Conversation.objects.filter(kind=Conversation.Kind.SHOP, shop=shop, last_seq__gt=0)
        .select_related("shop", "buyer")
        .order_by("-awaiting_shop", F("last_message_at").desc(nulls_last=True), "-pk")[:200]
    )
    return _entries(user=user, conversations=conversations)


def unread_total(*, user) -> int:
    if not _signed_in(user):
        return 0
    return sum(entry.unread for entry in my_conversations(user=user))


def open_reports(*, user, conversation: Conversation) -> QuerySet[MessageReport]:
    """Reports about a room's messages, for its moderators."""
    if not access(user=user, conversation=conversation).moderator:
        raise PermissionDenied(
            _("Only the room's moderators see its reports."), code="not_a_moderator"
        )
    return (
        MessageReport.objects.filter(message__conversation=conversation, resolved_at__isnull=True)
        .select_related("message", "message__sender", "reporter")
        .order_by("-created_at")
    )


def report_counts(conversations) -> dict[int, int]:
    return dict(
        MessageReport.objects.filter(
            message__conversation__in=conversations, resolved_at__isnull=True
        )
        .values_list("message__conversation_id")
        .annotate(n=Count("pk"))
    )
