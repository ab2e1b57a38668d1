"""Flash sales plug into deals and deadlines (imported by ``FlashConfig.ready``)."""

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.deadlines import register_deadline_handler
from shoploop.deals import registry
from shoploop.deals.flash import services
from shoploop.orders import services as order_services


def register() -> None:
    registry.register_deal_kind(
        registry.DealKind(
            prefix=services.PREFIX,
            on_payment_succeeded=services.on_payment_succeeded,
            on_payment_failed=services.on_payment_failed,
        )
    )
    order_services.register_deal_stock_owner(services.PREFIX, services.return_units_of_order)
    from shoploop.deals.flash.views import product_block

    registry.register_block("product", product_block, order=40)
    registry.register_block("community", community_block, order=40)
    registry.register_link(
        "mine", registry.DealLink(_("My flash-sale orders"), "deals_flash:mine", 40)
    )
    registry.register_link(
        "console", registry.DealLink(_("Flash sales"), "deals_flash:console", 40)
    )


def community_block(request, community) -> str:
    """Running and upcoming flash sales of the products offered in this community (or nothing)."""
    from shoploop.deals.flash.selectors import live_sales

    sales = live_sales(community=community)
    if not sales:
        return ""
    return render_to_string(
        "deals/flash/_community_block.html", {"sales": sales, "now": clock.now()}, request=request
    )


@register_deadline_handler("deals_flash.release_unpaid")
def release_unpaid(now) -> int:
    return services.release_unpaid(now)


@register_deadline_handler("deals_flash.end_sales")
def end_sales(now) -> int:
    return services.end_due_sales(now)
