"""Hooks of the bargains app: payment routing, deadline handlers, page blocks and hub links."""

from django.utils.translation import gettext_lazy as _

from shoploop.core.deadlines import register_deadline_handler
from shoploop.deals import registry
from shoploop.deals.bargains import services
from shoploop.orders import services as order_services

registry.register_deal_kind(
    registry.DealKind(
        prefix=services.DEAL_PREFIX,
        on_payment_succeeded=services.on_payment_succeeded,
        on_payment_failed=services.on_payment_failed,
    )
)

order_services.register_deal_stock_owner(services.DEAL_PREFIX, services.return_units_of_order)
register_deadline_handler("deals_bargains.expire")(services.expire_due)
register_deadline_handler("deals_bargains.end_campaigns")(services.end_due_campaigns)

registry.register_link("mine", registry.DealLink(_("My bargains"), "deals_bargains:mine", 20))
registry.register_link(
    "console", registry.DealLink(_("Bargaining campaigns"), "deals_bargains:console", 20)
)


def _product_block(request, product):
    from shoploop.deals.bargains import views

    return views.product_block(request, product)


registry.register_block("product", _product_block, order=20)
