"""Community pages. Thin: parse, call a service or selector, render; DomainErrors are shown."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shoploop.accounts.returning import (
    remember_pending_action,
    sign_in_then_back,
    take_pending_action,
)
from shoploop.communities import selectors, services
from shoploop.communities.forms import CommunityForm, InviteForm, add_domain_error
from shoploop.communities.models import Community
from shoploop.core.errors import DomainError, NotFound
from shoploop.web.confirm import confirmation_page, is_confirmed

MEMBERS_PER_PAGE = 30
MEMBER_QUERY_MAX_LENGTH = 40


def _community_or_404(public_id: str) -> Community:
    try:
        return selectors.get_community(public_id=public_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _back_to(community: Community, page: str = "detail"):
    return redirect(reverse(f"communities:{page}", args=[community.public_id]))


def _perform(request, action, success_message) -> bool:
    """Run a service call; on a DomainError show its message instead of the success one."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return False
    messages.success(request, success_message)
    return True


def community_list(request):
    return render(
        request,
        "communities/list.html",
        {
            "nav_active": "communities",
            "suggestions": selectors.communities_for_you(user=request.user, limit=20),
            "mine": selectors.my_communities(user=request.user),
        },
    )


@login_required
def community_create(request):
    form = CommunityForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            community = services.create_community(
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                tags=form.cleaned_data["tags"],
                visibility=form.cleaned_data["visibility"],
                cover=form.cleaned_data.get("cover"),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your community is ready."))
            return _back_to(community)
    status = 400 if form.errors else 200
    return render(
        request,
        "communities/form.html",
        {"form": form, "nav_active": "communities", "creating": True},
        status=status,
    )


@login_required
def community_edit(request, public_id):
    community = _community_or_404(public_id)
    if not selectors.is_moderator(user=request.user, community=community):
        raise Forbidden()
    initial = {
        "name": community.name,
        "description": community.description,
        "tags": ", ".join(tag.name for tag in community.tags.all()),
        "visibility": community.visibility,
    }
    form = CommunityForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_community(
                actor=request.user,
                community=community,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                tags=form.cleaned_data["tags"],
                visibility=form.cleaned_data["visibility"],
                cover=form.cleaned_data.get("cover") or None,
                remove_cover=form.cleaned_data.get("cover") is False,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return _back_to(community)
    return render(
        request,
        "communities/form.html",
        {"form": form, "community": community, "nav_active": "communities"},
        status=400 if form.errors else 200,
    )


def community_detail(request, public_id):
    community = _community_or_404(public_id)
    membership = selectors.membership_of(user=request.user, community=community)
    from shoploop.insights.pageviews import record_view  # a higher app: imported here

    record_view(
        kind="community",
        target_public_id=community.public_id,
        community_public_id=community.public_id,
        viewer=request.user,
    )
    return render(
        request,
        "communities/detail.html",
        {
            "community": community,
            "membership": membership,
            "is_moderator": selectors.is_moderator(user=request.user, community=community),
            "can_see_members": selectors.can_see_members(user=request.user, community=community),
            "preview_members": selectors.members_by_role(community=community)[:8],
            "nav_active": "communities",
        },
    )


def community_members(request, public_id):
    community = _community_or_404(public_id)
    if not selectors.can_see_members(user=request.user, community=community):
        raise Forbidden()
    page = Paginator(selectors.members_by_role(community=community), MEMBERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "communities/members.html",
        {"community": community, "page": page, "nav_active": "communities"},
    )


@login_required
def community_moderation(request, public_id):
    community = _community_or_404(public_id)
    if not selectors.is_moderator(user=request.user, community=community):
        raise Forbidden()
    return render(
        request,
        "communities/moderation.html",
        {
            "community": community,
            "requests": selectors.pending_requests(community=community),
            "members": _moderation_members_page(request, community),
            "query": request.GET.get("q", "").strip()[:MEMBER_QUERY_MAX_LENGTH],
            "banned": selectors.banned_members(community=community),
            "invites": selectors.invites_of(community=community)[:50],
            "invite_form": InviteForm(),
            "is_owner": community.owner_id == request.user.pk,
            "nav_active": "communities",
        },
    )


def _moderation_members_page(request, community):
    """One page of the members the moderator searched for (all of them without a search)."""
    query = request.GET.get("q", "").strip()[:MEMBER_QUERY_MAX_LENGTH]
    members = selectors.members_for_moderation(community=community, query=query)
    return Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))


# Actions on the community by the signed-in person: (service, success message)
_SELF_ACTIONS = {
    "join": (services.join_community, gettext_lazy("Welcome! You joined the community.")),
    "request": (services.request_to_join, gettext_lazy("Your request was sent to the moderators.")),
    "cancel-request": (services.cancel_request, gettext_lazy("Your request was withdrawn.")),
    "leave": (services.leave_community, gettext_lazy("You left the community.")),
    "archive": (services.archive_community, gettext_lazy("The community is archived.")),
    "unarchive": (services.unarchive_community, gettext_lazy("The community is active again.")),
    "dissolve": (services.dissolve_community, gettext_lazy("The community was dissolved.")),
}


@login_required
@require_POST
def community_action(request, public_id, action):
    community = _community_or_404(public_id)
    if action not in _SELF_ACTIONS:
        raise Http404()
    if action == "dissolve" and not is_confirmed(request):
        return confirmation_page(
            request,
            question=_("Dissolve %(name)s for good?") % {"name": community.name},
            details=_("Members can no longer post or meet here; this cannot be reversed."),
            button=_("Yes, dissolve"),
            cancel_url=reverse("communities:moderation", args=[community.public_id]),
        )
    service, message = _SELF_ACTIONS[action]
    _perform(request, lambda: service(actor=request.user, community=community), message)
    return _back_to(community)


_MEMBER_ACTIONS = {
    "approve": (services.approve_request, gettext_lazy("Request approved.")),
    "reject": (services.reject_request, gettext_lazy("Request rejected.")),
    "remove": (services.remove_member, gettext_lazy("Member removed.")),
    "ban": (services.ban_member, gettext_lazy("Banned.")),
    "unban": (services.unban_member, gettext_lazy("Ban lifted.")),
    "promote": (services.promote_moderator, gettext_lazy("Now a moderator.")),
    "demote": (services.demote_moderator, gettext_lazy("No longer a moderator.")),
}


@login_required
@require_POST
def member_action(request, public_id, user_id, action):
    community = _community_or_404(public_id)
    target = get_user_model().objects.filter(public_id=user_id).first()
    if target is None:
        raise Http404()
    if action == "transfer":
        if not is_confirmed(request):
            return confirmation_page(
                request,
                question=_("Make %(name)s the owner of %(community)s?")
                % {"name": str(target), "community": community.name},
                details=_("You stay a moderator; only the new owner can give ownership back."),
                button=_("Yes, transfer ownership"),
                cancel_url=reverse("communities:moderation", args=[community.public_id]),
            )
        _perform(
            request,
            lambda: services.transfer_ownership(
                actor=request.user, community=community, new_owner=target
            ),
            _("Ownership transferred."),
        )
        return _back_to(community)
    if action not in _MEMBER_ACTIONS:
        raise Http404()
    service, message = _MEMBER_ACTIONS[action]
    _perform(
        request, lambda: service(actor=request.user, community=community, user=target), message
    )
    return _back_to(community, "moderation")


@login_required
@require_POST
def invite_create(request, public_id):
    community = _community_or_404(public_id)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the invite link settings."))
        return _back_to(community, "moderation")
    _perform(
        request,
        lambda: services.create_invite(
            actor=request.user,
            community=community,
            expires_in_hours=form.cleaned_data["expires_in_hours"],
            max_uses=form.cleaned_data["max_uses"],
        ),
        _("Invite link created."),
    )
    return _back_to(community, "moderation")


@login_required
@require_POST
def invite_revoke(request, public_id, invite_id):
    community = _community_or_404(public_id)
    try:
        invite = selectors.get_invite(community=community, public_id=invite_id)
    except NotFound as exc:
        raise Http404() from exc
    _perform(
        request,
        lambda: services.revoke_invite(actor=request.user, invite=invite),
        _("Invite link revoked."),
    )
    return _back_to(community, "moderation")


def _invite_action(code: str) -> str:
    return f"communities:join_by_invite:{code}"


def invite_landing(request, code):
    """The page an invite link opens: shows the community; POST joins."""
    try:
        invite = selectors.invite_by_code(code=code)
    except NotFound:
        invite = None
    error = None
    if invite is None:
        error = _("This invite link does not exist.")
    elif request.method == "POST" or take_pending_action(request, _invite_action(code)):
        # A visitor who pressed "Join" before signing in is joined on return: they asked for it.
        if not request.user.is_authenticated:
            remember_pending_action(request, _invite_action(code))
            return sign_in_then_back(request.path)
        try:
            services.join_by_invite(actor=request.user, code=code)
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("Welcome! You joined the community."))
            return _back_to(invite.community)
    elif not selectors.invite_is_usable(invite):
        error = (
            _("This invite link has been revoked.")
            if invite.revoked_at
            else _("This invite link has expired or been used up.")
        )
    return render(
        request,
        "communities/invite.html",
        {
            "invite": invite,
            "community": invite.community if invite else None,
            "error": error,
            "nav_active": "communities",
        },
        status=404 if invite is None else (400 if error else 200),
    )
