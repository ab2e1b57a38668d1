from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class BargainsConfig(AppConfig):
    name = "shoploop.deals.bargains"
    label = "deals_bargains"
    # "Bargaining" alone is also a bargain's state (砍价中); the app is the deal kind (砍价).
    verbose_name = pgettext_lazy("deal kind", "Bargaining")

    def ready(self):
        from shoploop.deals.bargains import handlers  # noqa: F401  (registers the kind's hooks)
