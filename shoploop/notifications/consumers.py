"""/ws/notifications/: the signed-in person's new notifications and unread count, live.

Protocol (server → client only; anything the client sends is ignored):

- on connect: ``{"type": "unread", "unread": N}``
- a new notification: ``{"type": "notification", "unread": N, "notification": {"id", "kind",
  "text", "url", "created_at", "read"}}``, the text in the connection's language
- after a mark-read anywhere: ``{"type": "unread", "unread": N}``

A connection without a signed-in session is closed with code 4401.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from shoploop.notifications import live, selectors, services
from shoploop.notifications.presenters import present

UNAUTHENTICATED = 4401


def _cookie_language(scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _sep, val = part.strip().partition("=")
                if key == settings.LANGUAGE_COOKIE_NAME:
                    return val.strip().lower()
    return ""


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        # The page's language (its cookie), else the person's profile language.
        cookie = _cookie_language(self.scope)
        self.language = (
            cookie if cookie in services.SUPPORTED_LANGUAGES else services.language_of(user)
        )
        self.group = live.group_name(user.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await database_sync_to_async(services.touch_activity)(user=user)
        await self.send_json({"type": "unread", "unread": await self._unread()})

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """The channel is one-way: a frame, whatever it holds (malformed or forged ones
        included), is not parsed and changes nothing; it only counts as presence."""
        await database_sync_to_async(services.touch_activity)(user=self.user)

    async def notification_created(self, message):
        item = await self._present(str(message.get("id", "")))
        if item is None:
            return
        await self.send_json(
            {"type": "notification", "unread": await self._unread(), "notification": item}
        )

    async def notification_unread(self, message):
        await self.send_json({"type": "unread", "unread": await self._unread()})

    @database_sync_to_async
    def _unread(self) -> int:
        return selectors.unread_count(user=self.user)

    @database_sync_to_async
    def _present(self, public_id: str):
        notification = selectors.notification_for(user=self.user, public_id=public_id)
        if notification is None:
            return None
        with translation.override(self.language):
            return present(notification)
