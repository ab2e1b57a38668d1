"""Irreversible one-tap actions ask once more, without JavaScript.

The action's button posts to its own URL. Without ``confirm=1`` the view answers with
``confirmation_page``: the question and a second button that posts the same fields again with
``confirm=1``; only that second post calls the service. A plain POST therefore changes nothing.
"""

from django.shortcuts import render

CONFIRM_FIELD = "confirm"


def is_confirmed(request) -> bool:
    return request.POST.get(CONFIRM_FIELD) == "1"


def confirmation_page(request, *, question, button, cancel_url: str, details: str = "", keep=()):
    """The "are you sure?" page for the POST in ``request``; ``keep`` names the posted fields
    to send again with the confirmed post (e.g. a reason typed in the first form)."""
    fields = [(name, request.POST.get(name)) for name in keep if request.POST.get(name) is not None]
    return render(
        request,
        "web/confirm.html",
        {
            "question": question,
            "details": details,
            "button": button,
            "action": request.path,
            "fields": fields,
            "cancel_url": cancel_url,
        },
    )
