"""Operators see links, bindings and commissions read-only: every change goes through services
(a commission's state must agree with its ledger hold, see docs/sharing.md)."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from shoploop.referrals.models import Binding, Commission, ShareLink, ShopCommission


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(ReadOnlyAdmin):
    list_display = ("code", "sharer", "kind", "title", "visits", "purchases_count")
    list_filter = ("kind",)
    search_fields = ("code", "target_public_id")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(visit_total=Count("visits"))

    @admin.display(description=_("visits"), ordering="visit_total")
    def visits(self, link) -> int:
        return link.visits_count


@admin.register(Binding)
class BindingAdmin(ReadOnlyAdmin):
    list_display = ("user", "promoter", "created_at", "expires_at")


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "promoter", "shop", "level", "amount_fen", "state", "created_at")
    list_filter = ("state", "level")
    search_fields = ("public_id",)


@admin.register(ShopCommission)
class ShopCommissionAdmin(ReadOnlyAdmin):
    list_display = ("shop", "enabled", "level1_bps", "level2_bps", "requires_approval")
