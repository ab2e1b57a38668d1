"""Operators look at crowdfunding projects and pledges. Projects and pledges change through the
services only; the one action settles a project past its deadline now (as the next ``settle_due``
run would: decide the outcome once, then charge or refund each open pledge)."""

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
from shoploop.deals.crowdfunding import services
from shoploop.deals.crowdfunding.models import Pledge, Project, RewardTier, Update


class RewardTierInline(ReadOnlyInline):
    model = RewardTier
    fields = ("position", "title", "price_fen_display", "units", "limit", "claimed")
    readonly_fields = fields
    show_change_link = False

    price_fen_display = fen_column("price_fen", _("price"))


class UpdateInline(ReadOnlyInline):
    model = Update
    fields = ("body", "created_at")
    readonly_fields = fields
    show_change_link = False


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "title",
        "shop",
        "state",
        "target_display",
        "pledged_fen_display",
        "backers",
        "deadline",
        "settled",
    )
    list_filter = ("state", "target_kind", ("settled_at", admin.EmptyFieldListFilter), "deadline")
    search_fields = ("public_id", "title", "shop__name", "shop__public_id")
    list_select_related = ("shop",)
    exclude = ("story",)
    inlines = (RewardTierInline, UpdateInline)
    actions = ("settle_now",)
    readonly_fields = ("target_display", "pledged_fen_display")

    pledged_fen_display = fen_column("pledged_fen", _("pledged"))

    @admin.display(description=_("target"), ordering="target_value")
    def target_display(self, project: Project) -> str:
        if project.target_kind == Project.TargetKind.FEN:
            return fen_column("target_value", "")(self, project)
        return str(project.target_value)

    @admin.display(description=_("settled"), boolean=True)
    def settled(self, project: Project) -> bool:
        return project.settled_at is not None

    @admin.action(description=_("Settle selected projects that are past their deadline"))
    def settle_now(self, request, queryset):
        now = clock.now()

        def settle(project: Project) -> bool:
            services.decide_outcome(project=project, now=now)
            project.refresh_from_db()
            if project.state not in Project.CLOSED_STATES or project.settled_at is not None:
                return False  # still live (deadline ahead) or already settled: nothing to do
            services.settle_pledges_of(project=project, now=now)
            record_operator_action(request, project, _("Settled by an operator."))
            return True

        run_for_each(self, request, queryset, settle)


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "project",
        "tier",
        "backer",
        "state",
        "amount_fen_display",
        "units",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("public_id", "project__public_id", "project__title", "backer__phone")
    list_select_related = ("project", "tier", "backer")
    date_hierarchy = "created_at"

    amount_fen_display = fen_column("amount_fen", _("amount"))
