"""Flash sales plug into deals and deadlines (imported by ``FlashConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from shoploop.core.deadlines import register_deadline_handler
from shoploop.deals import registry
from shoploop.deals.flash import services


def register() -> None:
    registry.register_deal_kind(
        registry.DealKind(
            prefix=services.PREFIX,
            on_payment_succeeded=services.on_payment_succeeded,
            on_payment_failed=services.on_payment_failed,
        )
    )
    from shoploop.deals.flash.views import product_block

    registry.register_block("product", product_block, order=40)
    registry.register_link(
        "mine", registry.DealLink(_("My flash-sale orders"), "deals_flash:mine", 40)
    )
    registry.register_link(
        "console", registry.DealLink(_("Flash sales"), "deals_flash:console", 40)
    )


@register_deadline_handler("deals_flash.release_unpaid")
def release_unpaid(now) -> int:
    return services.release_unpaid(now)


@register_deadline_handler("deals_flash.end_sales")
def end_sales(now) -> int:
    return services.end_due_sales(now)
