from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shoploop.core import outbox
from shoploop.core.models import IdempotencyRecord, OutboxEvent, OutboxFailure


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "response_status", "created_at")
    list_filter = ("scope",)
    search_fields = ("key",)
    readonly_fields = (
        "scope",
        "key",
        "fingerprint",
        "response_status",
        "response_body",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OutboxStateFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return (("pending", _("pending")), ("delivered", _("delivered")))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(delivered_at__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: the outbox's backlog and delivery lag on top, the events below."""

    change_list_template = "admin/core/outboxevent/change_list.html"
    list_display = ("id", "name", "aggregate", "occurred_at", "delivered_at", "next_attempt_at")
    list_filter = (OutboxStateFilter, "name")
    search_fields = ("=id", "name", "aggregate")
    readonly_fields = (
        "id",
        "name",
        "aggregate",
        "payload",
        "occurred_at",
        "next_attempt_at",
        "claimed_until",
        "delivered_at",
    )
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {**(extra_context or {}), "outbox_status": outbox.status()}
        )


@admin.register(OutboxFailure)
class OutboxFailureAdmin(admin.ModelAdmin):
    """Subscribers that failed on an event: retrying with backoff, or parked until retried here."""

    list_display = (
        "subscriber",
        "event",
        "attempts",
        "parked_at",
        "next_attempt_at",
        "failed_at",
        "last_error",
    )
    list_filter = (("parked_at", admin.EmptyFieldListFilter), "subscriber")
    search_fields = ("subscriber", "=event__id", "last_error")
    readonly_fields = list_display
    list_select_related = ("event",)
    actions = ("retry",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # No editing form: the only change is the retry action (through the outbox service).
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description=_("Retry selected parked deliveries"), permissions=["change"])
    def retry(self, request, queryset):
        count = sum(
            outbox.retry_parked(subscriber=f.subscriber, event_ids=[f.event_id])
            for f in queryset.filter(parked_at__isnull=False)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d parked delivery will be retried.",
                "%(count)d parked deliveries will be retried.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
