from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashConfig(AppConfig):
    name = "shoploop.deals.flash"
    label = "deals_flash"
    verbose_name = _("Flash sales")

    def ready(self) -> None:
        from shoploop.deals.flash import handlers

        handlers.register()
