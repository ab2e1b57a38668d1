from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "shoploop.orders"
    verbose_name = _("Orders")

    def ready(self):
        from shoploop.orders import handlers  # noqa: F401  (subscriptions and deadline handlers)
