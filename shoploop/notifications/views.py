"""Pages: the inbox (open one, mark all read) and the preferences. Thin: a service or selector,
then a template; every page works without JavaScript."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.core.errors import DomainError
from shoploop.notifications import kinds, selectors, services
from shoploop.notifications.presenters import present

PER_PAGE = 30


@login_required
def inbox(request):
    page = Paginator(selectors.inbox(user=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "items": [{**present(n), "when": n.created_at} for n in page.object_list],
            "nav_active": "me",
        },
    )


@login_required
@require_POST
def open_notification(request, notification_id):
    """Mark it read and go to its page (a form per item, so no GET changes anything)."""
    notification = services.mark_read(user=request.user, public_id=notification_id)
    target = kinds.link(notification.kind, notification.params)
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    services.mark_all_read(user=request.user)
    return redirect("notifications:inbox")


@login_required
def preferences(request):
    if request.method == "POST":
        try:
            for choice in services.preferences_of(request.user):
                services.set_preference(
                    user=request.user,
                    kind=choice.kind,
                    in_app=request.POST.get(f"{choice.kind}-in_app") == "on",
                    sms=choice.sms_available and request.POST.get(f"{choice.kind}-sms") == "on",
                )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Your notification choices are saved."))
        return redirect("notifications:preferences")
    rows = [
        {"choice": choice, "label": kinds.KINDS[choice.kind].label}
        for choice in services.preferences_of(request.user)
    ]
    return render(request, "notifications/preferences.html", {"rows": rows, "nav_active": "me"})
