"""Wiring: payment routing for "group_seat:" checkouts, deadline handlers, page blocks, links."""

from django.utils.translation import gettext_lazy as _

from shoploop.core.deadlines import register_deadline_handler
from shoploop.deals import registry
from shoploop.deals.groups import services
from shoploop.orders import services as order_services


def register() -> None:
    registry.register_deal_kind(
        registry.DealKind(
            prefix=services.DEAL_PREFIX,
            on_payment_succeeded=services.on_payment_succeeded,
            on_payment_failed=services.on_payment_failed,
        )
    )
    order_services.register_deal_stock_owner(services.DEAL_PREFIX, services.return_units_of_order)
    register_deadline_handler("deals_groups.free_unpaid_seats")(services.free_unpaid_seats)
    register_deadline_handler("deals_groups.settle_groups")(services.settle_groups)
    register_deadline_handler("deals_groups.end_campaigns")(services.end_campaigns)

    from shoploop.deals.groups import views

    registry.register_block("product", views.product_block, order=10)
    registry.register_block("community", views.community_block, order=10)
    registry.register_link("mine", registry.DealLink(_("My groups"), "deals_groups:mine", 10))
    registry.register_link(
        "console", registry.DealLink(_("Group buying"), "deals_groups:console", 10)
    )
