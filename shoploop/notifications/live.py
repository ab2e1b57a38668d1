"""Live delivery: each signed-in person's open pages listen on one channel-layer group.

The services call these after their commit; a push that fails (no channel layer, Redis down) is
logged and lost, which is fine: the page and the API read the database, the push only saves a
reload.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(user_public_id: str) -> str:
    return f"notifications.{user_public_id}"


def _send(user_public_id: str, message: dict) -> None:
    _send_all([(user_public_id, message)])


def _send_all(messages: list[tuple[str, dict]]) -> None:
    """Each (person, message) to that person's group, in one trip: ``async_to_sync`` starts an
    event loop per call (and, with Redis, a connection), which costs as much as the sends
    themselves, so a batch pays it once instead of once per person."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    try:
        async_to_sync(_group_send_all)(layer, messages)
    except Exception:
        logger.exception("live notification push failed")


async def _group_send_all(layer, messages: list[tuple[str, dict]]) -> None:
    await asyncio.gather(
        *(layer.group_send(group_name(user), message) for user, message in messages)
    )


def push_new(*, user_public_id: str, notification_id: str) -> None:
    push_new_many([(user_public_id, notification_id)])


def push_new_many(pushes: list[tuple[str, str]]) -> None:
    """``push_new`` for several (person, notification id) at once: one trip for all of them."""
    _send_all([(user, {"type": "notification.created", "id": id_}) for user, id_ in pushes])


def push_unread(*, user_public_id: str) -> None:
    _send(user_public_id, {"type": "notification.unread"})
