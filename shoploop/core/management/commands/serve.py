"""Serve Shoploop over ASGI (uvicorn). Without Redis, the embedded scheduler runs deadlines here."""

import gc

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from shoploop.core.scheduler import EmbeddedScheduler


class Command(BaseCommand):
    help = "Serve Shoploop with uvicorn; in embedded mode also run settle_due on a timer."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host, port, workers, **options):
        scheduler = None
        if settings.EMBEDDED:
            if workers != 1:
                self.stderr.write("Embedded mode (no SHOPLOOP_REDIS_URL) serves with one worker.")
                workers = 1
            scheduler = EmbeddedScheduler()
            scheduler.start()
        self.stdout.write(f"Shoploop on http://{host}:{port}/  (Ctrl-C stops)")
        freeze_start_up_objects()
        try:
            uvicorn.run(
                "shoploop.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                lifespan="off",
                ws_per_message_deflate=settings.WS_PER_MESSAGE_DEFLATE,
            )
        finally:
            if scheduler:
                scheduler.stop()


def freeze_start_up_objects() -> None:
    """Load the application, then take everything loaded so far (Django, the apps, their
    modules: alive as long as the process) out of the collector's full passes. In a web process
    holding hundreds of WebSocket connections those passes stalled the event loop for about
    150 ms now and then, which was the whole tail of a room's delivery latency
    (docs/benchmarks.md, bench.chat). Not at import of ``shoploop.asgi``: a process that imports
    it for other reasons (the tests) would freeze its own live objects too."""
    import shoploop.asgi  # noqa: F401  (uvicorn then finds it loaded)

    gc.freeze()
