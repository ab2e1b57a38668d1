from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BargainsConfig(AppConfig):
    name = "shoploop.deals.bargains"
    label = "deals_bargains"
    verbose_name = _("Bargaining campaigns")

    def ready(self):
        from shoploop.deals.bargains import handlers  # noqa: F401  (registers the kind's hooks)
