"""Operators look at bargain campaigns, bargains and helps; every change goes through the
services (ending a campaign: ``end_campaign``, which gives the unsold units back exactly once)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.deals.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    fen_column,
    record_operator_action,
    run_for_each,
)
from shoploop.deals.bargains import services
from shoploop.deals.bargains.models import Bargain, BargainCampaign, Help


@admin.register(BargainCampaign)
class BargainCampaignAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "title",
        "shop",
        "state",
        "start_price_fen_display",
        "floor_price_fen_display",
        "helpers_needed",
        "stock_left",
        "stock_total",
        "ends_at",
    )
    list_filter = ("state", "new_users_only", "buy_before_floor", "ends_at")
    search_fields = ("public_id", "title", "shop__name", "shop__public_id")
    list_select_related = ("shop",)
    date_hierarchy = "created_at"
    actions = ("end_now",)
    readonly_fields = ("start_price_fen_display", "floor_price_fen_display")

    start_price_fen_display = fen_column("start_price_fen", _("start price"))
    floor_price_fen_display = fen_column("floor_price_fen", _("floor price"))

    @admin.action(description=_("End selected campaigns now (unsold units go back to the SKU)"))
    def end_now(self, request, queryset):
        now = clock.now()

        def end(campaign) -> bool:
            # The operator is the actor (allowed whoever owns the shop), recorded in the event
            # and in the admin's history of the campaign.
            services.end_campaign(campaign=campaign, actor=request.user, now=now)
            record_operator_action(request, campaign, _("Ended by an operator."))
            return True

        run_for_each(self, request, queryset.exclude(state=BargainCampaign.State.ENDED), end)


class HelpInline(ReadOnlyInline):
    model = Help
    fields = ("position", "helper", "cut_fen_display", "created_at")
    readonly_fields = fields
    show_change_link = False

    cut_fen_display = fen_column("cut_fen", _("cut"))


@admin.register(Bargain)
class BargainAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "campaign",
        "initiator",
        "state",
        "current_price_fen_display",
        "helps_count",
        "deadline",
    )
    list_filter = ("state", "deadline")
    search_fields = ("public_id", "initiator__phone", "initiator__public_id", "campaign__title")
    list_select_related = ("campaign", "initiator")
    exclude = ("seed",)
    inlines = (HelpInline,)
    readonly_fields = ("current_price_fen_display",)

    current_price_fen_display = fen_column("current_price_fen", _("current price"))


@admin.register(Help)
class HelpAdmin(ReadOnlyAdmin):
    list_display = ("bargain", "position", "helper", "cut_fen_display", "created_at")
    search_fields = ("bargain__public_id", "helper__phone", "helper__public_id")
    list_select_related = ("bargain", "helper")
    date_hierarchy = "created_at"

    cut_fen_display = fen_column("cut_fen", _("cut"))
