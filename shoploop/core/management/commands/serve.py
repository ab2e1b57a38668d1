"""Serve Shoploop over ASGI (uvicorn). Without Redis, the embedded scheduler runs deadlines here."""

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
