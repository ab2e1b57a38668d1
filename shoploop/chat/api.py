"""Chat API, mounted at /api/v1/chat. Parse, call a service or selector, answer.

Live delivery is the WebSocket at /ws/chat/ (docs/chat.md); these endpoints are the same
operations over HTTP, and how an app sends pictures.
"""

from datetime import datetime

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from shoploop.chat import realtime, selectors, services
from shoploop.chat.models import Conversation
from shoploop.core.schemas import InputSchema

router = Router(tags=["chat"])


class ChatPersonOut(Schema):
    id: str
    name: str


class ChatMessageOut(Schema):
    id: str
    conversation: str
    seq: int
    sender: ChatPersonOut
    for_shop: bool
    text: str
    image_url: str | None = None
    width: int
    height: int
    created_at: datetime
    removed: bool


class ChatTopicOut(Schema):
    kind: str
    id: str
    title: str


class ChatConversationOut(Schema):
    id: str
    kind: str
    title: str
    shop_id: str | None = None
    community_id: str | None = None
    topic: ChatTopicOut | None = None
    last_seq: int
    last_message_at: datetime | None = None
    last_message: ChatMessageOut | None = None
    unread: int
    closed: bool
    awaiting_shop: bool


class ChatMessagePageOut(Schema):
    conversation: str
    last_seq: int
    last_read_seq: int
    messages: list[ChatMessageOut]


class ChatStartShopIn(InputSchema):
    shop_id: str
    product_id: str | None = None
    order_id: str | None = None
    after_sale_id: str | None = None


class ChatStartDirectIn(InputSchema):
    user_id: str


class ChatStartRoomIn(InputSchema):
    community_id: str


class ChatSendIn(InputSchema):
    text: str


class ChatReadIn(InputSchema):
    seq: int


class ChatReadOut(Schema):
    conversation: str
    last_read_seq: int


class ChatReportIn(InputSchema):
    reason: str = ""


class ChatReportOut(Schema):
    id: str
    message_id: str
    created_at: datetime


class ChatMuteIn(InputSchema):
    user_id: str
    muted: bool = True


class ChatMuteOut(Schema):
    conversation: str
    user_id: str
    muted: bool


class ChatCloseIn(InputSchema):
    closed: bool = True


def _conversation_out(entry: selectors.InboxEntry) -> dict:
    c = entry.conversation
    topic = None
    if c.topic_kind:
        topic = {"kind": c.topic_kind, "id": c.topic_public_id, "title": c.topic_title}
    return {
        "id": c.public_id,
        "kind": c.kind,
        "title": entry.title,
        "shop_id": c.shop.public_id if c.shop_id else None,
        "community_id": c.community.public_id if c.community_id else None,
        "topic": topic,
        "last_seq": c.last_seq,
        "last_message_at": c.last_message_at,
        "last_message": realtime.message_frame(entry.last_message) if entry.last_message else None,
        "unread": entry.unread,
        "closed": c.closed_at is not None,
        "awaiting_shop": c.awaiting_shop,
    }


def _single(user, conversation: Conversation) -> dict:
    entry = selectors.InboxEntry(
        conversation=conversation,
        unread=0,
        title=selectors.title_of(conversation, user=user),
        last_message=None,
    )
    return _conversation_out(entry)


@router.get("/conversations", response=list[ChatConversationOut])
def list_conversations(request):
    """The caller's conversations, newest first, with unread counts."""
    return [_conversation_out(e) for e in selectors.my_conversations(user=request.user)]


class ChatUnreadOut(Schema):
    unread: int
    conversations: int


@router.get("/unread", response=ChatUnreadOut)
def unread_count(request):
    """How many messages the caller has not read, and in how many conversations."""
    entries = selectors.my_conversations(user=request.user)
    return {
        "unread": sum(e.unread for e in entries),
        "conversations": sum(1 for e in entries if e.unread),
    }


@router.get("/shop-inbox", response=list[ChatConversationOut])
def shop_inbox(request):
    """The caller's shop's shared inbox: unanswered conversations first."""
    from shoploop.catalog.selectors import shop_of
    from shoploop.core.errors import NotFound

    shop = shop_of(user=request.user)
    if shop is None:
        raise NotFound(code="no_shop")
    return [_conversation_out(e) for e in selectors.shop_inbox(user=request.user, shop=shop)]


@router.post("/conversations/shop", response={201: ChatConversationOut})
def start_shop_conversation(request, payload: ChatStartShopIn):
    """Ask a shop, optionally about one of its products, one of your orders or after-sales."""
    from shoploop.catalog.selectors import product_for_viewer, visible_shop
    from shoploop.orders.selectors import after_sale_for_viewer, order_for_viewer

    user = request.user
    shop = visible_shop(public_id=payload.shop_id, viewer=user)
    product = order = after_sale = None
    if payload.product_id:
        product = product_for_viewer(public_id=payload.product_id, viewer=user)
    if payload.order_id:
        order = order_for_viewer(public_id=payload.order_id, viewer=user)
    if payload.after_sale_id:
        after_sale = after_sale_for_viewer(public_id=payload.after_sale_id, viewer=user)
    conversation = services.start_shop_conversation(
        buyer=user, shop=shop, product=product, order=order, after_sale=after_sale
    )
    return Status(201, _single(user, conversation))


@router.post("/conversations/direct", response={201: ChatConversationOut})
def start_direct_conversation(request, payload: ChatStartDirectIn):
    """Private messages with someone who follows you and whom you follow."""
    from shoploop.accounts.selectors import active_user_by_public_id

    other = active_user_by_public_id(payload.user_id)
    conversation = services.start_direct_conversation(actor=request.user, other=other)
    return Status(201, _single(request.user, conversation))


@router.post("/conversations/room", response={201: ChatConversationOut})
def open_room(request, payload: ChatStartRoomIn):
    """A community's room (for its members)."""
    from shoploop.communities.selectors import get_community

    community = get_community(public_id=payload.community_id)
    conversation = services.open_room(actor=request.user, community=community)
    return Status(201, _single(request.user, conversation))


@router.get("/conversations/{conversation_id}/messages", response=ChatMessagePageOut)
def list_messages(
    request,
    conversation_id: str,
    before: int | None = None,
    after: int | None = None,
    limit: int = selectors.PAGE_SIZE,
):
    """A page of messages by ``seq``: ``after`` N to catch up, ``before`` N to scroll back."""
    conversation = selectors.conversation_for(user=request.user, public_id=conversation_id)
    conversation = conversation.conversation
    messages = selectors.message_page(
        user=request.user, conversation=conversation, before=before, after=after, limit=limit
    )
    participant = selectors.participant_of(user=request.user, conversation=conversation)
    return {
        "conversation": conversation.public_id,
        "last_seq": conversation.last_seq,
        "last_read_seq": participant.last_read_seq if participant else 0,
        "messages": [realtime.message_frame(m) for m in messages],
    }


@router.post("/conversations/{conversation_id}/messages", response={201: ChatMessageOut})
def send_message(request, conversation_id: str, payload: ChatSendIn):
    """Send a text message (stored, then pushed to whoever is connected)."""
    conversation = selectors.conversation_by_public_id(conversation_id)
    message = services.send_message(
        actor=request.user, conversation=conversation, text=payload.text
    )
    return Status(201, realtime.message_frame(message))


send_message.rate_limited = True


@router.post("/conversations/{conversation_id}/images", response={201: ChatMessageOut})
def send_image(request, conversation_id: str, image: File[UploadedFile], text: Form[str] = ""):
    """Send a picture (JPEG, PNG or WebP, at most 5 MB), with optional text."""
    conversation = selectors.conversation_by_public_id(conversation_id)
    message = services.send_message(
        actor=request.user, conversation=conversation, text=text, image=image
    )
    return Status(201, realtime.message_frame(message))


send_image.rate_limited = True


@router.post("/conversations/{conversation_id}/read", response=ChatReadOut)
def mark_read(request, conversation_id: str, payload: ChatReadIn):
    """Everything up to ``seq`` has been read."""
    conversation = selectors.conversation_by_public_id(conversation_id)
    participant = services.mark_read(actor=request.user, conversation=conversation, seq=payload.seq)
    return {"conversation": conversation.public_id, "last_read_seq": participant.last_read_seq}


@router.post("/conversations/{conversation_id}/mute", response=ChatMuteOut)
def mute_member(request, conversation_id: str, payload: ChatMuteIn):
    """A room moderator mutes or unmutes a member."""
    from shoploop.accounts.selectors import active_user_by_public_id

    conversation = selectors.conversation_by_public_id(conversation_id)
    user = active_user_by_public_id(payload.user_id)
    participant = services.set_muted(
        actor=request.user, conversation=conversation, user=user, muted=payload.muted
    )
    return {
        "conversation": conversation.public_id,
        "user_id": user.public_id,
        "muted": participant.muted_at is not None,
    }


@router.post("/conversations/{conversation_id}/close", response=ChatConversationOut)
def close_room(request, conversation_id: str, payload: ChatCloseIn):
    """A room moderator closes the room (or opens it again)."""
    conversation = selectors.conversation_by_public_id(conversation_id)
    conversation = services.set_room_closed(
        actor=request.user, conversation=conversation, closed=payload.closed
    )
    return _single(request.user, conversation)


@router.post("/messages/{message_id}/remove", response=ChatMessageOut)
def remove_message(request, message_id: str):
    """The sender or a room moderator removes a message."""
    message, _access = selectors.message_for(user=request.user, public_id=message_id)
    message = services.remove_message(actor=request.user, message=message)
    return realtime.message_frame(message)


@router.post("/messages/{message_id}/report", response={201: ChatReportOut})
def report_message(request, message_id: str, payload: ChatReportIn):
    """Report a message to the room's moderators and the operators."""
    message, _access = selectors.message_for(user=request.user, public_id=message_id)
    report = services.report_message(actor=request.user, message=message, reason=payload.reason)
    return Status(
        201,
        {"id": report.public_id, "message_id": message.public_id, "created_at": report.created_at},
    )
