from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BargainsConfig(AppConfig):
    name = "shoploop.deals.bargains"
    label = "deals_bargains"
    verbose_name = _("Bargaining")
