"""Crowdfunding reads."""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from shoploop.core import clock
from shoploop.core.errors import NotFound, PermissionDenied
from shoploop.deals.crowdfunding.models import Pledge, Project, ProjectImage, RewardTier, Update


def _projects() -> QuerySet[Project]:
    return Project.objects.select_related("shop", "shop__owner").prefetch_related(
        Prefetch("tiers", queryset=RewardTier.objects.order_by("position", "pk")),
        Prefetch("images", queryset=ProjectImage.objects.order_by("position", "created_at", "pk")),
    )


def project_by_public_id(*, public_id: str) -> Project:
    project = _projects().filter(public_id=public_id).first()
    if project is None:
        raise NotFound(_("No such project."), code="project_not_found")
    return project


def project_for_owner(*, public_id: str, actor) -> Project:
    project = project_by_public_id(public_id=public_id)
    if not getattr(actor, "is_authenticated", False) or project.shop.owner_id != actor.pk:
        raise PermissionDenied(_("This is another shop's project."), code="not_your_project")
    return project


def image_by_public_id(*, public_id: str) -> ProjectImage:
    image = (
        ProjectImage.objects.select_related("project", "project__shop")
        .filter(public_id=public_id)
        .first()
    )
    if image is None:
        raise NotFound(_("No such image."), code="image_not_found")
    return image


def tier_by_public_id(*, public_id: str) -> RewardTier:
    tier = RewardTier.objects.select_related("project__shop").filter(public_id=public_id).first()
    if tier is None:
        raise NotFound(_("No such reward tier."), code="tier_not_found")
    return tier


def live_projects(*, shops=None) -> QuerySet[Project]:
    projects = _projects().filter(state=Project.State.LIVE, deadline__gt=clock.now())
    if shops is not None:
        projects = projects.filter(shop__in=shops)
    return projects.order_by("deadline", "pk")


def live_projects_in_community(*, community, limit: int = 5) -> list[Project]:
    """Live projects of the shops listed in a community, the nearest deadline first."""
    return list(live_projects().filter(shop__communities=community).distinct()[:limit])


def shop_projects(*, shop) -> QuerySet[Project]:
    return _projects().filter(shop=shop).order_by("-created_at", "-pk")


def updates_of(*, project: Project) -> QuerySet[Update]:
    return project.updates.order_by("-created_at", "-pk")


def _pledges() -> QuerySet[Pledge]:
    return Pledge.objects.select_related("project", "tier", "order", "order__checkout", "backer")


def my_pledges(*, user) -> QuerySet[Pledge]:
    if not getattr(user, "is_authenticated", False):
        return Pledge.objects.none()
    return _pledges().filter(backer=user).order_by("-created_at", "-pk")


def pledges_of_viewer(*, project: Project, user) -> list[Pledge]:
    return list(my_pledges(user=user).filter(project=project))


def pledge_for_backer(*, public_id: str, user) -> Pledge:
    pledge = _pledges().filter(public_id=public_id).first()
    if pledge is None:
        raise NotFound(_("No such pledge."), code="pledge_not_found")
    if not getattr(user, "is_authenticated", False) or pledge.backer_id != user.pk:
        raise PermissionDenied(_("This is not your pledge."), code="not_your_pledge")
    return pledge


# --- the confirm step -------------------------------------------------------------------------


def pledge_quote(*, tier: RewardTier, user, address_id: str = ""):
    """What backing the tier charges: its price, for its reward (a physical good, shipped)."""
    from shoploop.deals.quotes import build_quote

    return build_quote(
        user=user,
        kind="pledge",
        title=tier.project.title,
        options={"tier": tier.title},
        unit_price_fen=tier.price_fen,
        address_id=address_id,
    )
