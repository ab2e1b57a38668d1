"""Pushing stored messages to connected clients over the channel layer.

One group per conversation (``chat.<public id>``); a message is published to it once, after the
transaction that stored it commits. The Redis layer delivers it to every process that has a
subscriber; each connection's consumer then forwards it to its client (see ``consumers.py``).
"""

import json
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(conversation_public_id: str) -> str:
    return f"chat.{conversation_public_id}"


def person_group(user_public_id: str) -> str:
    """Every chat connection of one person (what a block changes reaches all of them)."""
    return f"chat.person.{user_public_id}"


def message_frame(message) -> dict:
    """A message as clients see it (API, WebSocket and the page's script alike)."""
    removed = message.removed_at is not None
    sender = message.sender
    return {
        "id": message.public_id,
        "conversation": message.conversation.public_id,
        "seq": message.seq,
        "sender": {"id": sender.public_id, "name": str(sender)},
        "for_shop": message.sent_for_shop,
        "text": "" if removed else message.text,
        "image_url": message.image.url if message.image and not removed else None,
        "width": message.width,
        "height": message.height,
        "created_at": message.created_at.isoformat(),
        "removed": removed,
    }


def publish(conversation_public_id: str, event: dict) -> None:
    _send_to_group(group_name(conversation_public_id), event)


def _send_to_group(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # what was pushed is stored; clients catch up from it when they reconnect
        logger.exception("could not push to %s", group)


def push_hide(blocker_public_id: str, blocked_public_id: str) -> None:
    """After a block, each side's open connections stop forwarding the other's messages (new
    connections read the blocks when they open)."""
    for person, other in (
        (blocker_public_id, blocked_public_id),
        (blocked_public_id, blocker_public_id),
    ):
        if person and other:
            _send_to_group(person_group(person), {"type": "chat.hide", "person": other})


def push_message(message) -> None:
    frame = message_frame(message)
    # The frame is encoded once here, not once per connection by each consumer.
    text = json.dumps({"type": "message", "message": frame}, ensure_ascii=False)
    # published_at lets a connection tell a backlog from a lost push (consumers.py).
    publish(
        message.conversation.public_id,
        {"type": "chat.message", "message": frame, "text": text, "published_at": time.time()},
    )


def push_state(conversation_public_id: str, **state) -> None:
    """A change that is not a message (a room closed, a message removed)."""
    publish(
        conversation_public_id,
        {"type": "chat.state", "conversation": conversation_public_id, "state": state},
    )
