"""团长 (group leaders): the community owner appoints themself or an active member, and may
revoke. A leader runs pickup points (``orders.services.pickup``). One transaction each, events
inside it (the outbox delivers them after commit)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from shoploop.communities import selectors
from shoploop.communities.models import Community, CommunityLeader
from shoploop.communities.services import (
    _require_active,
    _require_owner_or_operator,
    _require_signed_in,
)
from shoploop.core import clock
from shoploop.core.errors import Conflict, PermissionDenied
from shoploop.core.events import publish


def _publish(name: str, leadership: CommunityLeader, *, actor) -> None:
    publish(
        name,
        aggregate=f"communities.community:{leadership.community.public_id}",
        community_public_id=leadership.community.public_id,
        leader_public_id=leadership.user.public_id,
        actor_public_id=actor.public_id,
    )


def appoint_leader(*, actor, community: Community, user) -> CommunityLeader:
    """The owner (or an operator) makes ``user`` a 团长 of the community: the owner themself or an
    active member. Already a leader → ``already_leader``."""
    _require_owner_or_operator(actor, community)
    _require_active(community)
    if not selectors.is_member(user=user, community=community):
        raise Conflict(
            _("Only an active member of the community can be a group leader."),
            code="not_member",
        )
    try:
        with transaction.atomic():
            leadership = CommunityLeader.objects.create(
                community=community, user=user, appointed_by=actor, appointed_at=clock.now()
            )
            _publish("communities.leader.appointed", leadership, actor=actor)
    except IntegrityError:
        # The partial unique constraint: one active leadership per person per community.
        raise Conflict(
            _("This person is already a group leader of this community."), code="already_leader"
        ) from None
    return leadership


def revoke_leader(*, actor, community: Community, user) -> CommunityLeader:
    """The owner (or an operator) ends a leadership; a leader may also step down. Their pickup
    points stop being offered at once (checkout asks for an active leadership); orders already
    at a point are still handed over by an operator or a new leader the owner appoints."""
    _require_signed_in(actor)
    if actor.pk != user.pk:
        _require_owner_or_operator(actor, community)
    with transaction.atomic():
        leadership = (
            CommunityLeader.objects.select_for_update()
            .filter(community=community, user=user, revoked_at__isnull=True)
            .first()
        )
        if leadership is None:
            raise Conflict(_("That person is not a group leader here."), code="not_leader")
        leadership.revoked_at = clock.now()
        leadership.save(update_fields=["revoked_at"])
        _publish("communities.leader.revoked", leadership, actor=actor)
    return leadership


def require_leader(*, user, community: Community) -> None:
    """For other apps' services: ``user`` is an active 团长 of ``community``."""
    if not selectors.is_leader(user=user, community=community):
        raise PermissionDenied(
            _("Only a group leader of this community can do that."), code="not_leader"
        )
