"""Crowdfunding's hooks: its deal kind (payment outcomes), deadline handlers, page links."""

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from shoploop.core.deadlines import register_deadline_handler
from shoploop.deals import registry
from shoploop.deals.crowdfunding import selectors, services

registry.register_deal_kind(
    registry.DealKind(
        prefix=services.DEAL_PREFIX,
        on_payment_succeeded=services.on_payment_succeeded,
        on_payment_failed=services.on_payment_failed,
    )
)

register_deadline_handler("deals_crowdfunding.expire_unpaid")(services.expire_unpaid_pledges)
register_deadline_handler("deals_crowdfunding.settle")(services.settle)

registry.register_link("mine", registry.DealLink(_("My pledges"), "deals_crowdfunding:mine", 30))
registry.register_link(
    "console", registry.DealLink(_("Crowdfunding"), "deals_crowdfunding:console", 30)
)


def community_block(request, community) -> str:
    """Live crowdfunding projects of the shops offered in this community (or nothing)."""
    projects = selectors.live_projects_in_community(community=community)
    if not projects:
        return ""
    return render_to_string(
        "deals/crowdfunding/_community_block.html", {"projects": projects}, request=request
    )


registry.register_block("community", community_block, order=30)
