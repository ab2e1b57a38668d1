"""The community's 团长 page: who leads (and runs pickup points); the owner appoints and
revokes. Forms without JavaScript; the services decide who may."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.communities import leader_services, selectors
from shoploop.communities.views import _back_to, _community_or_404, _perform

# The appoint form lists members to choose from; a very large community is searched by id.
MEMBER_CHOICES = 200


def _person_or_none(public_id: str):
    return get_user_model().objects.filter(public_id=str(public_id or "")[:40]).first()


def community_leaders(request, public_id):
    community = _community_or_404(public_id)
    # Who leads is as visible as the member list (a private community hides both).
    if not selectors.can_see_members(user=request.user, community=community):
        raise Forbidden()
    may_appoint = request.user.is_authenticated and (
        request.user.is_staff or community.owner_id == request.user.pk
    )
    leaders = list(selectors.active_leaders(community=community))
    leader_ids = {leadership.user_id for leadership in leaders}
    candidates = []
    if may_appoint:
        candidates = [
            membership.user
            for membership in selectors.active_members(community=community)
            .select_related("user")
            .order_by("user_id")[:MEMBER_CHOICES]
            if membership.user_id not in leader_ids
        ]
    return render(
        request,
        "communities/leaders.html",
        {
            "community": community,
            "leaders": leaders,
            "candidates": candidates,
            "may_appoint": may_appoint,
            "nav_active": "communities",
        },
    )


@login_required
@require_POST
def leader_appoint(request, public_id):
    community = _community_or_404(public_id)
    user = _person_or_none(request.POST.get("user", ""))
    if user is None:
        messages.error(request, _("Choose a member."))
    else:
        _perform(
            request,
            lambda: leader_services.appoint_leader(
                actor=request.user, community=community, user=user
            ),
            _("%(name)s is now a group leader.") % {"name": user},
        )
    return _back_to(community, "leaders")


@login_required
@require_POST
def leader_revoke(request, public_id, user_id):
    community = _community_or_404(public_id)
    user = _person_or_none(user_id)
    if user is not None:
        _perform(
            request,
            lambda: leader_services.revoke_leader(
                actor=request.user, community=community, user=user
            ),
            _("%(name)s is no longer a group leader.") % {"name": user},
        )
    return _back_to(community, "leaders")
