"""Operators see reported chat messages and act on them; every action calls a service."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shoploop.chat import services
from shoploop.chat.models import Conversation, Message, MessageReport
from shoploop.core.errors import DomainError


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "message_text",
        "sender",
        "reporter",
        "reason",
        "created_at",
        "resolved_at",
    )
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("public_id", "message__text", "reason")
    list_select_related = ("message", "message__sender", "reporter")
    readonly_fields = ("public_id", "message", "reporter", "reason", "created_at", "resolved_at")
    actions = ("remove_messages", "resolve")
    ordering = ("resolved_at", "-created_at")

    @admin.display(description=_("message"))
    def message_text(self, report):
        return "(removed)" if report.message.is_removed else report.message.text[:80]

    @admin.display(description=_("sender"))
    def sender(self, report):
        return report.message.sender

    def has_add_permission(self, request):
        return False

    def _each(self, request, queryset, action, done):
        count = 0
        for report in queryset.select_related("message", "message__conversation"):
            try:
                action(report)
            except DomainError as error:
                self.message_user(request, str(error.message), messages.ERROR)
            else:
                count += 1
        self.message_user(request, done(count))

    @admin.action(description=_("Remove the reported messages"))
    def remove_messages(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda report: services.remove_message(actor=request.user, message=report.message),
            lambda n: ngettext("Removed %(n)d message.", "Removed %(n)d messages.", n) % {"n": n},
        )

    @admin.action(description=_("Mark as dealt with"))
    def resolve(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda report: services.resolve_report(actor=request.user, report=report),
            lambda n: ngettext("Resolved %(n)d report.", "Resolved %(n)d reports.", n) % {"n": n},
        )


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "kind",
        "shop",
        "buyer",
        "community",
        "last_seq",
        "last_message_at",
        "closed_at",
    )
    list_filter = ("kind",)
    search_fields = ("public_id",)
    list_select_related = ("shop", "buyer", "community")
    readonly_fields = [f.name for f in Conversation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "conversation",
        "seq",
        "sender",
        "text",
        "created_at",
        "removed_at",
    )
    search_fields = ("public_id", "text")
    list_select_related = ("conversation", "sender")
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
