from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shoploop.communities import services
from shoploop.communities.models import (
    Community,
    CommunityInvite,
    CommunityLeader,
    InterestTag,
    Membership,
)
from shoploop.core.errors import DomainError


def _run_for_each(modeladmin, request, queryset, service, done_message):
    """Admin actions go through the services, one community at a time; failures are reported."""
    done = 0
    for community in queryset:
        try:
            service(actor=request.user, community=community)
        except DomainError as exc:
            modeladmin.message_user(request, f"{community}: {exc.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "state", "created_at", "updated_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "public_id",
        "owner",
        "visibility",
        "state",
        "member_count",
        "created_at",
    )
    list_filter = ("visibility", "state", "created_at")
    search_fields = ("name", "description", "public_id", "owner__phone", "owner__display_name")
    readonly_fields = (
        "public_id",
        "owner",
        "member_count",
        "state",
        "created_at",
        "archived_at",
        "dissolved_at",
    )
    autocomplete_fields = ("tags",)
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    actions = ("archive", "unarchive")
    inlines = (MembershipInline,)

    def has_add_permission(self, request):
        # Communities are created by verified people through the service, never by hand.
        return False

    @admin.action(description=_("Archive (read-only)"))
    def archive(self, request, queryset):
        _run_for_each(self, request, queryset, services.archive_community, _("Archived %(count)d."))

    @admin.action(description=_("Unarchive"))
    def unarchive(self, request, queryset):
        _run_for_each(
            self, request, queryset, services.unarchive_community, _("Unarchived %(count)d.")
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("community", "user", "role", "state", "created_at", "updated_at")
    list_filter = ("role", "state")
    search_fields = ("community__name", "community__public_id", "user__phone", "user__display_name")
    list_select_related = ("community", "user")
    # Roles and states change only through the services (they keep member_count true).
    readonly_fields = (
        "public_id",
        "community",
        "user",
        "role",
        "state",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False


@admin.register(InterestTag)
class InterestTagAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "created_at")
    search_fields = ("name",)
    readonly_fields = ("public_id", "created_at")


@admin.register(CommunityInvite)
class CommunityInviteAdmin(admin.ModelAdmin):
    list_display = (
        "community",
        "public_id",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "use_count",
        "max_uses",
    )
    list_filter = ("created_at", "expires_at")
    search_fields = ("community__name", "public_id", "created_by__phone")
    list_select_related = ("community", "created_by")
    readonly_fields = (
        "public_id",
        "community",
        "code",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "use_count",
        "max_uses",
    )

    def has_add_permission(self, request):
        return False


@admin.register(CommunityLeader)
class CommunityLeaderAdmin(admin.ModelAdmin):
    """Read-only history of 团长 appointments; the owner appoints and revokes on the site."""

    list_display = ("community", "user", "appointed_by", "appointed_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("public_id", "community__name")
    readonly_fields = [f.name for f in CommunityLeader._meta.fields]

    def has_add_permission(self, request):
        return False
