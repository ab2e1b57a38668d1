"""The embedded scheduler: without Redis there is no Celery beat, so the server process itself calls
``settle_due`` every few seconds on a daemon thread."""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from shoploop.core.deadlines import settle_due

logger = logging.getLogger(__name__)


class EmbeddedScheduler:
    def __init__(self, interval_seconds: float | None = None):
        self.interval = interval_seconds or settings.SETTLE_INTERVAL_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="settle-due", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            close_old_connections()
            try:
                settled = settle_due()
            except Exception:
                logger.exception("embedded settle_due failed")
                continue
            if any(settled.values()):
                logger.info("settled %s", settled)
            close_old_connections()
