"""Wiring: a block made while both people are connected takes effect on their open sockets."""

from shoploop.chat import realtime
from shoploop.core.events import DomainEvent, subscribe


@subscribe("accounts.user.blocked")
def hide_each_other_on_open_sockets(event: DomainEvent) -> None:
    realtime.push_hide(
        event.payload.get("blocker_public_id", ""), event.payload.get("blocked_public_id", "")
    )
