"""A notification as pages, the API and the live channel show it (text in the active language)."""

from shoploop.notifications import kinds
from shoploop.notifications.models import Notification


def present(notification: Notification) -> dict:
    return {
        "id": notification.public_id,
        "kind": notification.kind,
        "text": kinds.render(notification.kind, notification.params),
        "url": kinds.link(notification.kind, notification.params),
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }
