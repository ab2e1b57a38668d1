from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedConfig(AppConfig):
    name = "shoploop.feed"
    verbose_name = _("Feed")

    def ready(self):
        # Registers the outbox subscribers that fan items out into timelines.
        from shoploop.feed import handlers  # noqa: F401
