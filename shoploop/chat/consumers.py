"""The chat WebSocket at ``/ws/chat/`` (protocol in docs/chat.md).

One connection per client. The client subscribes to conversations it may read; for each it says
the last ``seq`` it has, and gets what it missed, then live messages. The consumer remembers the
last ``seq`` it forwarded per conversation, so a message is never shown twice, and forwards in
order: a newer message that arrives before an older one (two web processes commit in one order and
publish in the other) waits ``GAP_WAIT_SECONDS`` for the older one to arrive live, and longer while
the connection is still working through frames published before that wait was up (a backlog: the
older frame is most likely queued behind them). Only a gap still open when the connection has
caught up is filled from the database, so none is lost and a busy room does not send every
connected client to the database at once.
"""

import asyncio
import json
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from shoploop.accounts.auth import BearerToken
from shoploop.chat import realtime, selectors, services
from shoploop.chat.selectors import MAX_SEQ
from shoploop.core.errors import DomainError

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 16_000
MAX_SUBSCRIPTIONS = 100
CATCH_UP_LIMIT = 200
CLOSE_NOT_AUTHENTICATED = 4401
# How long a message that arrived ahead of an older one waits for it before the consumer reads the
# gap from the database. Out-of-order publishes between processes are milliseconds apart.
GAP_WAIT_SECONDS = 0.2
# Events from the channel layer whose handlers read no database (a gap filler that does goes
# through ``database_sync_to_async``, which closes stale connections itself).
NO_DATABASE_EVENTS = frozenset({"chat.message", "chat.hide", "chat.state"})


class _Request:
    """What ``BearerToken.authenticate`` needs of a request."""

    user = None


@database_sync_to_async
def _user_from_token(raw: str):
    return BearerToken().authenticate(_Request(), raw)


@database_sync_to_async
def _blocked_public_ids(user) -> set[str]:
    from shoploop.accounts.models import User
    from shoploop.accounts.selectors import blocked_ids

    ids = blocked_ids(user)
    return set(User.objects.filter(pk__in=ids).values_list("public_id", flat=True))


@database_sync_to_async
def _subscribe(user, public_id: str, after_seq):
    access = selectors.conversation_for(user=user, public_id=public_id)
    conversation = access.conversation
    if after_seq is None:
        after_seq = conversation.last_seq  # nothing to catch up: only what comes next
    messages = selectors.message_page(
        user=user, conversation=conversation, after=after_seq, limit=CATCH_UP_LIMIT
    )
    return conversation, [realtime.message_frame(m) for m in messages]


@database_sync_to_async
def _missing(user, public_id: str, after: int, before: int):
    conversation = selectors.conversation_by_public_id(public_id)
    selectors.access(user=user, conversation=conversation)
    messages = selectors.visible_messages(user=user, conversation=conversation).filter(
        seq__gt=after, seq__lt=before
    )
    return [realtime.message_frame(m) for m in messages.order_by("seq")[:CATCH_UP_LIMIT]]


@database_sync_to_async
def _send(user, public_id: str, text: str):
    conversation = selectors.conversation_by_public_id(public_id)
    message = services.send_message(actor=user, conversation=conversation, text=text)
    return realtime.message_frame(message)


@database_sync_to_async
def _read(user, public_id: str, seq: int):
    conversation = selectors.conversation_by_public_id(public_id)
    participant = services.mark_read(actor=user, conversation=conversation, seq=seq)
    return participant.last_read_seq


def _is_public_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 20 and value.isalnum()


def _is_seq(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEQ


class FrameError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ChatConsumer(AsyncWebsocketConsumer):
    def _language(self, user=None) -> str:
        """The page's language cookie, else the person's chosen language, else the default."""
        supported = {code for code, _name in settings.LANGUAGES}
        for candidate in (
            self.scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME),
            getattr(user, "locale", None),
        ):
            if candidate and candidate.lower() in supported:
                return candidate.lower()
        return settings.LANGUAGE_CODE

    async def dispatch(self, message):
        # channels' dispatch first closes stale database connections through ``sync_to_async``,
        # on the one thread that also runs every synchronous view of the process: in a room of
        # 500 that was 250 thread hops per message per process, queued ahead of the next send.
        if message["type"] in NO_DATABASE_EVENTS:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self):
        self.user = None
        self.subscriptions: dict[str, int] = {}  # conversation public id → last seq forwarded
        self.hidden: set[str] = set()
        # Per conversation: messages that arrived ahead of a gap (seq → (message, frame text)),
        # and the task that fills the gap from the database if it stays open.
        self.early: dict[str, dict[int, tuple[dict, str | None, float]]] = {}
        self.gap_fillers: dict[str, asyncio.Task] = {}
        # How far this connection has got through the channel layer's frames: how many, and the
        # newest publish time among them.
        self.frames_seen = 0
        self.newest_published = 0.0
        # Live frames and a gap filler run interleaved on the event loop: one at a time forwards.
        self.forwarding = asyncio.Lock()
        self.language = self._language()
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            user = await self._token_user()
        if user is None or not user.is_active:
            with translation.override(self.language):
                await self._error(
                    "not_authenticated",
                    _("Sign in first (the session cookie or an API token)."),
                )
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.user = user
        self.language = self._language(user)
        await self.channel_layer.group_add(realtime.person_group(user.public_id), self.channel_name)
        self.hidden = await _blocked_public_ids(user)
        await self._send_json({"type": "ready", "user": user.public_id})

    async def _token_user(self):
        for name, value in self.scope.get("headers", ()):
            if name == b"authorization":
                scheme, _sep, raw = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and raw.strip():
                    return await _user_from_token(raw.strip())
        return None

    async def disconnect(self, code):
        if getattr(self, "user", None) is not None:
            await self.channel_layer.group_discard(
                realtime.person_group(self.user.public_id), self.channel_name
            )
        for public_id in list(getattr(self, "gap_fillers", {})):
            self._forget_gap(public_id)
        for public_id in list(getattr(self, "subscriptions", {})):
            await self.channel_layer.group_discard(
                realtime.group_name(public_id), self.channel_name
            )

    # --- frames from the client ---------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.user is None:
            return
        with translation.override(self.language):
            await self._receive(text_data, bytes_data)

    async def _receive(self, text_data, bytes_data):
        ref = None
        try:
            if text_data is None:
                raise FrameError("bad_frame", _("Frames are JSON text."))
            if len(text_data) > MAX_FRAME_CHARS:
                raise FrameError("frame_too_large", _("This frame is too large."))
            try:
                frame = json.loads(text_data)
            except ValueError:
                raise FrameError("bad_frame", _("This frame is not valid JSON.")) from None
            if not isinstance(frame, dict):
                raise FrameError("bad_frame", _("A frame is a JSON object."))
            ref = frame.get("ref") if isinstance(frame.get("ref"), str | int) else None
            handler = {
                "subscribe": self._on_subscribe,
                "unsubscribe": self._on_unsubscribe,
                "send": self._on_send,
                "read": self._on_read,
                "ping": self._on_ping,
            }.get(frame.get("type"))
            if handler is None:
                raise FrameError("unknown_type", _("Unknown frame type."))
            await handler(frame, ref)
        except FrameError as error:
            await self._error(error.code, error.message, ref=ref)
        except DomainError as error:
            body = error.as_dict()
            await self._error(body["code"], body["message"], ref=ref, fields=body.get("fields"))

    def _conversation_id(self, frame) -> str:
        public_id = frame.get("conversation")
        if not _is_public_id(public_id):
            raise FrameError("bad_frame", _("Name a conversation by its id."))
        return public_id

    async def _on_subscribe(self, frame, ref):
        public_id = self._conversation_id(frame)
        after = frame.get("after_seq")
        if after is not None and not _is_seq(after):
            raise FrameError("bad_frame", _("after_seq is a message number."))
        if public_id not in self.subscriptions and len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise FrameError("too_many_subscriptions", _("Too many conversations at once."))
        # Join the group before reading what was missed: a message committed meanwhile is then
        # either in the catch-up or arrives live (and is dropped there if it was in both).
        await self.channel_layer.group_add(realtime.group_name(public_id), self.channel_name)
        try:
            conversation, missed = await _subscribe(self.user, public_id, after)
        except Exception:
            if public_id not in self.subscriptions:
                await self.channel_layer.group_discard(
                    realtime.group_name(public_id), self.channel_name
                )
            raise
        start = after if after is not None else conversation.last_seq
        self.subscriptions[public_id] = max(start, self.subscriptions.get(public_id, 0))
        await self._send_json(
            {
                "type": "subscribed",
                "ref": ref,
                "conversation": public_id,
                "last_seq": conversation.last_seq,
                "closed": conversation.closed_at is not None,
            }
        )
        for message in missed:
            await self._forward(message)

    async def _on_unsubscribe(self, frame, ref):
        public_id = self._conversation_id(frame)
        self.subscriptions.pop(public_id, None)
        self._forget_gap(public_id)
        await self.channel_layer.group_discard(realtime.group_name(public_id), self.channel_name)
        await self._send_json({"type": "unsubscribed", "ref": ref, "conversation": public_id})

    async def _on_send(self, frame, ref):
        public_id = self._conversation_id(frame)
        text = frame.get("text")
        if not isinstance(text, str):
            raise FrameError("bad_frame", _("text is a string."))
        message = await _send(self.user, public_id, text)
        await self._send_json({"type": "sent", "ref": ref, "message": message})

    async def _on_read(self, frame, ref):
        public_id = self._conversation_id(frame)
        seq = frame.get("seq")
        if not _is_seq(seq):
            raise FrameError("bad_frame", _("seq is a message number."))
        last_read = await _read(self.user, public_id, seq)
        await self._send_json(
            {"type": "read", "ref": ref, "conversation": public_id, "last_read_seq": last_read}
        )

    async def _on_ping(self, frame, ref):
        await self._send_json({"type": "pong", "ref": ref})

    # --- events from the channel layer --------------------------------------------------------

    async def chat_message(self, event):
        published_at = event.get("published_at") or 0.0
        self.frames_seen += 1
        self.newest_published = max(self.newest_published, published_at)
        await self._forward(event["message"], text=event.get("text"), published_at=published_at)

    async def chat_hide(self, event):
        self.hidden.add(event["person"])

    async def chat_state(self, event):
        public_id = event.get("conversation") or ""
        await self._send_json({"type": "state", **event["state"], "conversation": public_id})

    async def _forward(
        self, message: dict, *, text: str | None = None, published_at: float = 0.0
    ) -> None:
        async with self.forwarding:
            await self._forward_in_order(message, text=text, published_at=published_at)

    async def _forward_in_order(
        self, message: dict, *, text: str | None = None, published_at: float = 0.0
    ) -> None:
        public_id = message["conversation"]
        last = self.subscriptions.get(public_id)
        if last is None or message["seq"] <= last:
            return  # not subscribed (any more), or already forwarded
        if message["seq"] > last + 1:
            self.early.setdefault(public_id, {}).setdefault(
                message["seq"], (message, text, published_at)
            )
            if public_id not in self.gap_fillers:
                self.gap_fillers[public_id] = asyncio.create_task(self._fill_gap_later(public_id))
            return
        await self._deliver(message, text=text)
        await self._deliver_early(public_id, up_to=None)

    async def _deliver_early(self, public_id: str, *, up_to: int | None) -> None:
        """Forward the waiting messages that are next in order; with ``up_to``, every waiting
        one up to that seq whatever the gaps (the database said nothing more is visible)."""
        early = self.early.get(public_id, {})
        for seq in sorted(early):
            if seq > self.subscriptions.get(public_id, 0) + 1 and (up_to is None or seq > up_to):
                break
            waiting = early.pop(seq, None)
            if waiting is not None:
                await self._deliver(waiting[0], text=waiting[1])
        if not early:
            self._forget_gap(public_id)

    async def _fill_gap_later(self, public_id: str) -> None:
        await self._wait_out_backlog(public_id)
        self.gap_fillers.pop(public_id, None)
        early = self.early.get(public_id)
        last = self.subscriptions.get(public_id)
        if not early or last is None:
            return
        first_waiting = min(early)
        try:
            between = await _missing(self.user, public_id, last, first_waiting)
        except DomainError:
            between = []
        async with self.forwarding:
            for earlier in between:
                await self._deliver(earlier)
            await self._deliver_early(public_id, up_to=first_waiting)
        if self.early.get(public_id) and public_id not in self.gap_fillers:
            self.gap_fillers[public_id] = asyncio.create_task(self._fill_gap_later(public_id))

    async def _wait_out_backlog(self, public_id: str) -> None:
        """Sleep ``GAP_WAIT_SECONDS``, then again as long as frames keep arriving that were all
        published before the gap's wait was up. Idle for a whole wait, or past frames published
        after it, the connection has seen everything that was sent live in time: what is still
        missing was lost on the way and is read from the database."""
        while True:
            seen = self.frames_seen
            await asyncio.sleep(GAP_WAIT_SECONDS)
            if self.frames_seen == seen or self.newest_published >= self._gap_deadline(public_id):
                return

    def _gap_deadline(self, public_id: str) -> float:
        """When the earliest-published message waiting behind the gap had waited long enough
        (0 when no publish time is known: nothing counts as a backlog then)."""
        published = [entry[2] for entry in self.early.get(public_id, {}).values() if entry[2]]
        return min(published) + GAP_WAIT_SECONDS if published else 0.0

    def _forget_gap(self, public_id: str) -> None:
        self.early.pop(public_id, None)
        filler = self.gap_fillers.pop(public_id, None)
        if filler is not None and filler is not asyncio.current_task():
            filler.cancel()

    async def _deliver(self, message: dict, *, text: str | None = None):
        public_id = message["conversation"]
        if message["seq"] <= self.subscriptions.get(public_id, 0):
            return
        self.subscriptions[public_id] = message["seq"]
        if message["sender"]["id"] in self.hidden:
            return
        if text is None:
            await self._send_json({"type": "message", "message": message})
        else:
            await self.send(text_data=text)

    async def _error(self, code: str, message: str, *, ref=None, fields=None):
        frame = {"type": "error", "code": code, "message": str(message), "ref": ref}
        if fields:
            frame["fields"] = fields
        await self._send_json(frame)

    async def _send_json(self, data: dict):
        await self.send(text_data=json.dumps(data, ensure_ascii=False))
