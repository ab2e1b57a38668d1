"""Crowdfunding pages: the project page, "my pledges" and the merchant console. Thin: parse,
call a service or selector, render or redirect; a DomainError's message is shown on the page."""

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.accounts.returning import sign_in_then_back
from shoploop.catalog.forms import ImageForm  # the product photo's upload form
from shoploop.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from shoploop.core.money import parse_yuan
from shoploop.deals.crowdfunding import selectors, services
from shoploop.deals.crowdfunding.models import MAX_PROJECT_IMAGES, Project
from shoploop.deals.views import confirm_page, refused
from shoploop.orders import selectors as order_selectors

TIER_ROWS = 3


def _show_error(request, error: DomainError) -> None:
    if isinstance(error, NotFound | PermissionDenied):
        raise error
    messages.error(request, error.message)


def project_list(request):
    return render(
        request,
        "deals/crowdfunding/list.html",
        {"projects": selectors.live_projects()[:50], "nav_active": "home"},
    )


def project_page(request, project_id):
    project = selectors.project_by_public_id(public_id=project_id)
    return render(
        request,
        "deals/crowdfunding/project.html",
        {
            "project": project,
            "tiers": list(project.tiers.all()),
            "images": list(project.images.all()),
            "updates": selectors.updates_of(project=project)[:20],
            "my_pledges": selectors.pledges_of_viewer(project=project, user=request.user),
            "is_owner": request.user.is_authenticated and project.shop.owner_id == request.user.pk,
            "share_url": request.build_absolute_uri(),
        },
    )


def _pay_redirect(request, pledge):
    next_url = reverse("deals_crowdfunding:project", args=[pledge.project.public_id])
    return redirect(order_selectors.pay_url(checkout=pledge.order.checkout, next_url=next_url))


def back_tier(request, tier_id):
    """GET: the confirm step (the tier, its price, the reward's delivery address); POST (its
    button): pledge, then pay. A visitor signs in first and comes back to this page."""
    tier = selectors.tier_by_public_id(public_id=tier_id)
    here = reverse("deals_crowdfunding:back", args=[tier.public_id])
    project_page = reverse("deals_crowdfunding:project", args=[tier.project.public_id])
    if not request.user.is_authenticated:
        return sign_in_then_back(here)
    if request.method != "POST":
        return confirm_page(
            request,
            heading=_("Back this project"),
            quote_of=lambda address_id: selectors.pledge_quote(
                tier=tier, user=request.user, address_id=address_id
            ),
            action_url=here,
            back_url=project_page,
        )
    try:
        pledge = services.back(
            tier=tier, user=request.user, address_id=request.POST.get("address", "")
        )
    except DomainError as error:
        return refused(request, error, confirm=here, back=project_page, show=_show_error)
    pledge.project = tier.project
    return _pay_redirect(request, pledge)


@login_required
def pay(request, pledge_id):
    pledge = selectors.pledge_for_backer(public_id=pledge_id, user=request.user)
    if pledge.state != pledge.State.PENDING_PAYMENT or pledge.order is None:
        return redirect("deals_crowdfunding:mine")
    return _pay_redirect(request, pledge)


@login_required
@require_POST
def cancel(request, pledge_id):
    pledge = selectors.pledge_for_backer(public_id=pledge_id, user=request.user)
    try:
        services.cancel_pledge(pledge=pledge, actor=request.user)
        messages.success(request, _("Your pledge was cancelled; any payment is refunded."))
    except DomainError as error:
        _show_error(request, error)
    if request.POST.get("next") == "project":
        return redirect("deals_crowdfunding:project", project_id=pledge.project.public_id)
    return redirect("deals_crowdfunding:mine")


@login_required
def mine(request):
    return render(
        request,
        "deals/crowdfunding/mine.html",
        {"pledges": selectors.my_pledges(user=request.user)[:100], "nav_active": "me"},
    )


# --- merchant console -----------------------------------------------------------------------


def _console_shop(request):
    try:
        return services.creator_shop(actor=request.user)
    except DomainError:
        return None


@login_required
def console(request):
    shop = _console_shop(request)
    return render(
        request,
        "deals/crowdfunding/console.html",
        {
            "shop": shop,
            "projects": selectors.shop_projects(shop=shop) if shop else [],
            "tier_rows": range(TIER_ROWS),
            "form": {},
            "nav_active": "me",
        },
    )


def _parse_deadline(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(
            _("Give the deadline as a date and time."), fields={"deadline": "invalid"}
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def _parse_int(text: str, *, field: str, allow_empty: bool = False) -> int | None:
    text = (text or "").strip()
    if not text and allow_empty:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed(
            _("This must be a whole number."), fields={field: "invalid"}
        ) from None


def _parse_date(text: str, *, field: str) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            _("The estimated delivery must be a date after the deadline."),
            fields={field: "invalid"},
        ) from None


def _tiers_from(post) -> list[services.TierSpec]:
    tiers = []
    for i in range(TIER_ROWS):
        title = post.get(f"tier_title_{i}", "").strip()
        if not title:
            continue
        tiers.append(
            services.TierSpec(
                title=title,
                price_fen=parse_yuan(post.get(f"tier_price_{i}", ""), field=f"tiers.{i}.price"),
                units=_parse_int(post.get(f"tier_units_{i}", "1") or "1", field="units"),
                limit=_parse_int(post.get(f"tier_limit_{i}", ""), field="limit", allow_empty=True),
                estimated_delivery=_parse_date(
                    post.get(f"tier_delivery_{i}", ""), field="estimated_delivery"
                ),
            )
        )
    return tiers


@login_required
@require_POST
def console_create(request):
    post = request.POST
    try:
        kind = post.get("target_kind", Project.TargetKind.FEN)
        target = post.get("target", "")
        project = services.create_project(
            actor=request.user,
            title=post.get("title", ""),
            story=post.get("story", ""),
            target_kind=kind,
            target_value=parse_yuan(target, field="target")
            if kind == Project.TargetKind.FEN
            else _parse_int(target, field="target"),
            deadline=_parse_deadline(post.get("deadline", "")),
            tiers=_tiers_from(post),
        )
    except DomainError as error:
        _show_error(request, error)
        shop = _console_shop(request)
        return render(
            request,
            "deals/crowdfunding/console.html",
            {
                "shop": shop,
                "projects": selectors.shop_projects(shop=shop) if shop else [],
                "tier_rows": range(TIER_ROWS),
                "form": post,
                "nav_active": "me",
            },
            status=422,
        )
    messages.success(request, _("Your project is live."))
    return redirect("deals_crowdfunding:console_project", project_id=project.public_id)


@login_required
def console_project(request, project_id):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    return render(
        request,
        "deals/crowdfunding/console_project.html",
        {
            "project": project,
            "tiers": list(project.tiers.all()),
            "images": list(project.images.all()),
            "image_form": ImageForm(),
            "max_images": MAX_PROJECT_IMAGES,
            "updates": selectors.updates_of(project=project)[:20],
            "nav_active": "me",
        },
    )


def _console_step(request, project, step, success):
    """Run ``step()`` and come back to the project's console page saying ``success`` or, for a
    refusal, why (a missing or foreign project is still a 404/403)."""
    try:
        step()
        messages.success(request, success)
    except DomainError as error:
        _show_error(request, error)
    return redirect("deals_crowdfunding:console_project", project_id=project.public_id)


@login_required
@require_POST
def console_image_add(request, project_id):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    form = ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose an image to upload."))
        return redirect("deals_crowdfunding:console_project", project_id=project.public_id)
    upload = form.cleaned_data["image"]
    return _console_step(
        request,
        project,
        lambda: services.add_project_image(project=project, actor=request.user, upload=upload),
        _("Image added."),
    )


@login_required
@require_POST
def console_image_remove(request, image_id):
    image = selectors.image_by_public_id(public_id=image_id)
    return _console_step(
        request,
        image.project,
        lambda: services.remove_project_image(image=image, actor=request.user),
        _("Image removed."),
    )


@login_required
def console_counts(request, project_id):
    """The live counts, polled by htmx every few seconds."""
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    return render(
        request,
        "deals/crowdfunding/_counts.html",
        {"project": project, "tiers": list(project.tiers.all())},
    )


@login_required
@require_POST
def post_update(request, project_id):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    body = request.POST.get("body", "")
    return _console_step(
        request,
        project,
        lambda: services.post_update(project=project, actor=request.user, body=body),
        _("Update posted."),
    )


@login_required
@require_POST
def pause_project(request, project_id):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    if request.POST.get("action") == "resume":
        service, success = services.resume_project, _("The project takes pledges again.")
    else:
        service, success = (
            services.pause_project,
            _("The project is paused: it takes no new pledges."),
        )
    return _console_step(
        request, project, lambda: service(project=project, actor=request.user), success
    )


@login_required
@require_POST
def cancel_project(request, project_id):
    project = selectors.project_for_owner(public_id=project_id, actor=request.user)
    return _console_step(
        request,
        project,
        lambda: services.cancel_project(project=project, actor=request.user),
        _("The project was cancelled; every backer is refunded."),
    )
