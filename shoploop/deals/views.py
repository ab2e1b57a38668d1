from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from shoploop.deals import registry


def _links(area: str) -> list[dict]:
    return [{"label": link.label, "url": reverse(link.url_name)} for link in registry.links(area)]


@login_required
def mine(request):
    """The buyer's groups, bargains, pledges and flash-sale reservations, one link per kind."""
    return render(
        request,
        "deals/hub.html",
        {"links": _links("mine"), "heading": "mine", "nav_active": "me"},
    )


@login_required
def console(request):
    """The merchant's campaigns, one link per kind."""
    return render(
        request,
        "deals/hub.html",
        {"links": _links("console"), "heading": "console", "nav_active": "me"},
    )
