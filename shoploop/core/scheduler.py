"""The embedded scheduler: without Redis there is no Celery beat, so the server process itself calls
``settle_due`` every few seconds, and delivers due outbox events, each on a daemon thread."""

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from shoploop.core.deadlines import settle_due

logger = logging.getLogger(__name__)


def _deliver_outbox() -> int:
    from shoploop.core.outbox import deliver_pending

    return deliver_pending(max_batches=50)


def _roll_up_insights() -> dict[str, int]:
    from shoploop.insights.tasks import roll_up_task

    return roll_up_task()


class _Timer:
    def __init__(
        self, name: str, interval: float, job: Callable[[], object], stop: threading.Event
    ):
        self.name, self.interval, self.job, self._stop = name, interval, job, stop
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            close_old_connections()
            try:
                result = self.job()
            except Exception:
                logger.exception("embedded %s failed", self.name)
                continue
            finally:
                close_old_connections()
            if any(result.values()) if isinstance(result, dict) else result:
                logger.info("%s: %s", self.name, result)


class EmbeddedScheduler:
    def __init__(
        self, interval_seconds: float | None = None, outbox_interval_seconds: float | None = None
    ):
        self.interval = interval_seconds or settings.SETTLE_INTERVAL_SECONDS
        self.outbox_interval = outbox_interval_seconds or settings.OUTBOX_INTERVAL_SECONDS
        self._stop = threading.Event()
        self._timers = [
            _Timer("settle-due", self.interval, settle_due, self._stop),
            _Timer("deliver-outbox", self.outbox_interval, _deliver_outbox, self._stop),
            _Timer(
                "insights-rollup",
                settings.INSIGHTS_ROLLUP_INTERVAL_SECONDS,
                _roll_up_insights,
                self._stop,
            ),
        ]

    def start(self) -> None:
        for timer in self._timers:
            timer.thread.start()

    def stop(self) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.thread.join(timeout=5)
