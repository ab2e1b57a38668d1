"""Live delivery: each signed-in person's open pages listen on one channel-layer group.

The services call these after their commit; a push that fails (no channel layer, Redis down) is
logged and lost, which is fine: the page and the API read the database, the push only saves a
reload.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(user_public_id: str) -> str:
    return f"notifications.{user_public_id}"


def _send(user_public_id: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(user_public_id), message)
    except Exception:
        logger.exception("live notification push failed")


def push_new(*, user_public_id: str, notification_id: str) -> None:
    _send(user_public_id, {"type": "notification.created", "id": notification_id})


def push_unread(*, user_public_id: str) -> None:
    _send(user_public_id, {"type": "notification.unread"})
