"""Crowdsourcing task pages: parse the form, call a service or selector, render. A DomainError's
message is shown on the page; 'not found' and 'not yours' become the site's 404 and 403 pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.catalog.selectors import shop_of, visible_shop
from shoploop.core.errors import DomainError, NotFound, PermissionDenied
from shoploop.coupons.selectors import shop_coupons_with_counts
from shoploop.crowdtasks import forms, selectors, services

LIST_LIMIT = 100


def _run(request, action, *, success: str) -> bool:
    """Run a POST action; its DomainError message is shown as a flash on the next page."""
    try:
        action()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as failure:
        messages.error(request, failure.message)
        return False
    messages.success(request, success)
    return True


def _own_shop(request):
    shop = shop_of(user=request.user)
    if shop is None:
        raise Http404(_("You do not have a shop yet."))
    return shop


# --- members ------------------------------------------------------------------------------------


def shop_tasks(request, shop_id):
    shop = visible_shop(public_id=shop_id, viewer=request.user)
    tasks = selectors.shop_tasks(shop=shop)[:LIST_LIMIT]
    return render(request, "crowdtasks/shop.html", {"shop": shop, "tasks": tasks})


def _detail_context(request, task, form=None) -> dict:
    mine = selectors.entry_of(task=task, user=request.user)
    can_enter = (
        mine is None and task.accepts_entries and selectors.may_enter(task=task, user=request.user)
    )
    return {
        "task": task,
        "mine": mine,
        "can_enter": can_enter,
        "form": form or (forms.EntryForm() if can_enter else None),
        "winners": selectors.task_winners(task=task),
        "is_owner": request.user.is_authenticated and task.shop.owner_id == request.user.pk,
    }


def task_detail(request, task_id):
    task = selectors.visible_task(public_id=task_id, viewer=request.user)
    return render(request, "crowdtasks/detail.html", _detail_context(request, task))


@require_POST
@login_required
def enter(request, task_id):
    task = selectors.visible_task(public_id=task_id, viewer=request.user)
    form = forms.EntryForm(request.POST, request.FILES)
    error = None
    if form.is_valid():
        try:
            services.submit_entry(
                task=task,
                author=request.user,
                text=form.cleaned_data["text"],
                photo=form.cleaned_data.get("photo"),
            )
        except DomainError as failure:
            error = failure.message
        else:
            messages.success(request, _("Your entry is in. Good luck!"))
            return redirect("crowdtasks:detail", task_id=task.public_id)
    context = _detail_context(request, task, form=form)
    context.update(error=error, form=form, can_enter=True)
    return render(request, "crowdtasks/detail.html", context, status=422 if error else 200)


@login_required
def my_entries(request):
    entries = selectors.my_entries(user=request.user)[:LIST_LIMIT]
    return render(request, "crowdtasks/mine.html", {"entries": entries, "nav_active": "me"})


# --- merchants ----------------------------------------------------------------------------------


@login_required
def console_tasks(request):
    shop = _own_shop(request)
    tasks = selectors.shop_tasks(shop=shop)[:LIST_LIMIT]
    return render(
        request, "crowdtasks/console/list.html", {"shop": shop, "tasks": tasks, "nav_active": "me"}
    )


@login_required
def console_new(request):
    shop = _own_shop(request)
    coupons = shop_coupons_with_counts(shop=shop)
    form = forms.TaskForm(request.POST or None, coupons=coupons)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            task = services.publish_task(actor=request.user, shop=shop, **form.service_arguments())
        except DomainError as failure:
            error = failure.message
        else:
            messages.success(request, _("Task published."))
            return redirect("crowdtasks:console_task", task_id=task.public_id)
    return render(
        request,
        "crowdtasks/console/new.html",
        {"shop": shop, "form": form, "error": error, "nav_active": "me"},
    )


@login_required
def console_task(request, task_id):
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    entries = selectors.task_entries(task=task)
    return render(
        request,
        "crowdtasks/console/task.html",
        {"task": task, "entries": entries, "nav_active": "me"},
    )


@require_POST
@login_required
def console_pick(request, task_id, entry_id):
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    _run(
        request,
        lambda: services.pick_winner(actor=request.user, task=task, entry_public_id=entry_id),
        success=_("Winner picked; the reward is on its way."),
    )
    return redirect("crowdtasks:console_task", task_id=task.public_id)


@require_POST
@login_required
def console_cancel(request, task_id):
    task = selectors.owned_task(public_id=task_id, actor=request.user)
    _run(
        request,
        lambda: services.cancel_task(actor=request.user, task=task),
        success=_("Task cancelled; its reward went back to your balance."),
    )
    return redirect("crowdtasks:console_task", task_id=task.public_id)
