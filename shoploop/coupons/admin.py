"""Operators' view of coupons: read-only rows (they change only through services), with
pause and resume actions that call the services."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import DomainError
from shoploop.coupons import services
from shoploop.coupons.models import Coupon, CouponClaim
from shoploop.coupons.templatetags.coupon_tags import coupon_terms


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False  # created by merchants and buyers, through services

    def has_delete_permission(self, request, obj=None):
        return False  # a claim may belong to an order; history stays

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "shop",
        "terms",
        "claimed_count",
        "total_quantity",
        "redeemed",
        "is_paused",
        "starts_at",
        "ends_at",
    )
    list_filter = ("is_paused", "kind")
    search_fields = ("name", "public_id", "shop__name", "shop__public_id")
    list_select_related = ("shop",)
    actions = ("pause", "resume")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(redeemed=Count("claims", filter=Q(claims__order_ref__isnull=False)))
        )

    @admin.display(description=_("terms"))
    def terms(self, coupon: Coupon) -> str:
        return coupon_terms(coupon)

    @admin.display(description=_("redeemed"), ordering="redeemed")
    def redeemed(self, coupon: Coupon) -> int:
        return coupon.redeemed

    @admin.action(description=_("Pause selected coupons"))
    def pause(self, request, queryset):
        self._each(request, queryset, services.pause_coupon)

    @admin.action(description=_("Resume selected coupons"))
    def resume(self, request, queryset):
        self._each(request, queryset, services.resume_coupon)

    def _each(self, request, queryset, service) -> None:
        done = 0
        for coupon in queryset:
            try:
                service(coupon=coupon, actor=request.user)
            except DomainError as failure:
                self.message_user(request, f"{coupon}: {failure.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, gettext("%(count)d done.") % {"count": done}, messages.SUCCESS
            )


@admin.register(CouponClaim)
class CouponClaimAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "coupon",
        "user",
        "number",
        "order_ref",
        "discount_fen",
        "claimed_at",
    )
    list_filter = ("redeemed_at",)
    search_fields = ("public_id", "order_ref", "coupon__name", "user__phone", "user__display_name")
    list_select_related = ("coupon", "user")
