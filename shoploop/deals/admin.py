"""What the deal kinds' admin pages share: read-only rows (every change goes through a service),
money shown in yuan, and actions that run a service on each selected row and report the result."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.translation import gettext

from shoploop.core.errors import DomainError
from shoploop.core.money import format_fen


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators look; rows change only through the deal's services (admin actions included)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def fen_column(field: str, description) -> Callable:
    """A list/detail column showing the integer-fen ``field`` as money (¥39.00)."""

    @admin.display(description=description, ordering=field)
    def column(self, obj) -> str:
        value = getattr(obj, field)
        return "-" if value is None else format_fen(value)

    column.__name__ = f"{field}_display"
    return column


def record_operator_action(request, obj, message) -> None:
    """Who did what to ``obj`` from the admin: a row of the admin's own history (LogEntry),
    shown on the object's "History" page with the operator and the time."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=str(message),
        single_object=True,
    )


def run_for_each(modeladmin, request, queryset, service: Callable) -> None:
    """Call ``service(row)`` for each selected row; count what it did, show each refusal."""
    done, failures = 0, []
    for row in queryset:
        try:
            if service(row):
                done += 1
        except DomainError as error:
            failures.append(f"{row}: {error.message}")
    modeladmin.message_user(request, gettext("%(count)d done.") % {"count": done}, messages.SUCCESS)
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)
