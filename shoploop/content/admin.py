"""Operator screens: the report queue, posts, comments and reviews. Actions call services; nothing
here edits content in place, and reviews cannot be deleted (a merchant never removes one)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shoploop.content import services
from shoploop.content.models import Comment, Post, Report, Review
from shoploop.core.errors import DomainError

OPERATOR_REASON = _("Breaks the platform's rules")


def _each(modeladmin, request, queryset, call, done_message):
    done = 0
    for item in queryset:
        try:
            call(item)
        except DomainError as exc:
            modeladmin.message_user(request, f"{item}: {exc.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "state", "community", "reporter", "reason", "created_at")
    list_filter = ("state", "created_at")
    search_fields = ("public_id", "reason", "reporter__phone")
    list_select_related = ("community", "reporter")
    actions = ("dismiss", "hide_target", "remove_target")

    @admin.action(description=_("Dismiss the selected reports"))
    def dismiss(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda r: services.handle_report(actor=request.user, report=r, action="dismiss"),
            _("%(count)d reports dismissed."),
        )

    @admin.action(description=_("Hide what the selected reports point at"))
    def hide_target(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda r: services.handle_report(actor=request.user, report=r, action="hide"),
            _("%(count)d reports acted on."),
        )

    @admin.action(description=_("Remove what the selected reports point at (posts, comments)"))
    def remove_target(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda r: services.handle_report(actor=request.user, report=r, action="remove"),
            _("%(count)d reports acted on."),
        )


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "community", "author", "state", "like_count", "created_at")
    list_filter = ("state", "created_at")
    search_fields = ("public_id", "body", "author__phone")
    list_select_related = ("community", "author")
    actions = ("hide", "restore")

    @admin.action(description=_("Hide the selected posts"))
    def hide(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda p: services.moderate_post(
                actor=request.user, post=p, action="hide", reason=str(OPERATOR_REASON)
            ),
            _("%(count)d posts hidden."),
        )

    @admin.action(description=_("Show the selected posts again"))
    def restore(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda p: services.moderate_post(actor=request.user, post=p, action="restore"),
            _("%(count)d posts shown again."),
        )


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "post", "author", "state", "created_at")
    list_filter = ("state",)
    search_fields = ("public_id", "body")
    list_select_related = ("post", "author")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "product", "shop", "author", "stars", "state", "created_at")
    list_filter = ("state", "stars", "created_at")
    search_fields = ("public_id", "body", "author__phone")
    list_select_related = ("product", "shop", "author")
    actions = ("hide", "unhide")

    @admin.action(description=_("Hide the selected reviews (they break the rules)"))
    def hide(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda r: services.hide_review(
                actor=request.user, review=r, reason=str(OPERATOR_REASON)
            ),
            _("%(count)d reviews hidden."),
        )

    @admin.action(description=_("Show the selected reviews again"))
    def unhide(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda r: services.unhide_review(actor=request.user, review=r),
            _("%(count)d reviews shown again."),
        )
