from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from shoploop.accounts import services
from shoploop.accounts.models import (
    ApiToken,
    Block,
    Follow,
    OneTimeCode,
    OtpThrottle,
    PermissionGroup,
    User,
)
from shoploop.core.errors import DomainError

# The operator area speaks Shoploop, not "Django administration".
admin.site.site_header = _("Shoploop operator area")
admin.site.site_title = _("Shoploop operators")
admin.site.index_title = _("Operator area")

# Django's "Group" would read 组/团 next to group buying's groups (拼团): the same rows are shown
# as "permission groups" (权限组) instead, through a proxy model.
admin.site.unregister(Group)


@admin.register(PermissionGroup)
class PermissionGroupAdmin(GroupAdmin):
    pass


class PhoneVerifiedFilter(admin.SimpleListFilter):
    title = _("phone verified")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(phone_verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(phone_verified_at__isnull=True)
        return queryset


def _apply_to_each(modeladmin, request, queryset, service, done_message):
    done = 0
    for user in queryset:
        try:
            service(user=user, actor=request.user)
        except DomainError as error:
            modeladmin.message_user(request, f"{user}: {error.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "phone",
        "display_name",
        "is_active",
        "is_staff",
        "phone_verified_at",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", PhoneVerifiedFilter)
    search_fields = ("phone", "display_name", "public_id")
    readonly_fields = (
        "public_id",
        "date_joined",
        "last_login",
        "phone_verified_at",
        "banned_at",
        "ban_reason",
        "is_active",
    )
    fields = (
        "public_id",
        "phone",
        "display_name",
        "avatar",
        "bio",
        "locale",
        "phone_verified_at",
        "is_active",
        "banned_at",
        "ban_reason",
        "is_staff",
        "is_superuser",
        "groups",
        "date_joined",
        "last_login",
    )
    ordering = ("-date_joined",)
    actions = ("ban_selected", "unban_selected")

    def get_readonly_fields(self, request, obj=None):
        # Who is an operator (and with which rights) is a superuser's decision only.
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return fields
        return (*fields, "is_staff", "is_superuser", "groups")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            label = _("permission groups")
            kwargs.update(label=label, widget=FilteredSelectMultiple(label, is_stacked=False))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.action(description=_("Ban selected users"))
    def ban_selected(self, request, queryset):
        reason = str(_("Banned by an operator in the admin."))
        _apply_to_each(
            self,
            request,
            queryset,
            lambda *, user, actor: services.ban_user(user=user, actor=actor, reason=reason),
            _("Banned %(count)d users."),
        )

    @admin.action(description=_("Unban selected users"))
    def unban_selected(self, request, queryset):
        _apply_to_each(self, request, queryset, services.unban_user, _("Unbanned %(count)d users."))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("public_id", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("public_id", "name", "user__phone", "user__public_id")
    readonly_fields = ("public_id", "user", "created_at", "last_used_at", "revoked_at")
    fields = (*readonly_fields, "name")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        # A token's raw value is shown once to its owner; operators never mint them.
        return False


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created_at")
    search_fields = (
        "follower__phone",
        "follower__public_id",
        "followee__phone",
        "followee__public_id",
    )
    raw_id_fields = ("follower", "followee")
    list_select_related = ("follower", "followee")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__phone", "blocker__public_id", "blocked__phone", "blocked__public_id")
    raw_id_fields = ("blocker", "blocked")
    list_select_related = ("blocker", "blocked")


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    list_display = ("phone", "created_at", "expires_at", "wrong_tries", "used_at", "sent_to_ip")
    search_fields = ("phone", "sent_to_ip")
    readonly_fields = ("phone", "sent_to_ip", "created_at", "expires_at", "wrong_tries", "used_at")
    exclude = ("code_hash",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(OtpThrottle)
class OtpThrottleAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "last_seen_at")
    search_fields = ("key",)
    list_filter = ("scope",)
