"""What happens at a deadline is done by ``settle_due(now)``.

Apps register a handler in ``AppConfig.ready``. Every handler must be idempotent and safe to run
in several workers at once (pick due rows with ``select_for_update(skip_locked=True)`` in small
batches, each batch in its own transaction), so any number of schedulers may call ``settle_due``
together.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from shoploop.core import clock

logger = logging.getLogger(__name__)

DeadlineHandler = Callable[[datetime], int]
_handlers: dict[str, DeadlineHandler] = {}


def register_deadline_handler(name: str) -> Callable[[DeadlineHandler], DeadlineHandler]:
    def register(handler: DeadlineHandler) -> DeadlineHandler:
        _handlers[name] = handler
        return handler

    return register


def registered_handlers() -> dict[str, DeadlineHandler]:
    return dict(_handlers)


def settle_due(now: datetime | None = None) -> dict[str, int]:
    """Run every deadline handler once; returns how many items each one settled.

    One handler failing does not stop the others: the failure is logged and retried next run.
    """
    moment = now or clock.now()
    settled: dict[str, int] = {}
    for name, handler in sorted(_handlers.items()):
        try:
            settled[name] = handler(moment)
        except Exception:
            logger.exception("deadline handler %s failed", name)
            settled[name] = -1
    return settled
