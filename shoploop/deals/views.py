from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from shoploop.core.errors import DomainError, NotFound
from shoploop.deals import quotes, registry


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


def confirm_page(request, *, heading, quote_of, action_url: str, back_url: str, hidden=()):
    """The one confirm step every deal action goes through (GET): the product and its variant,
    the price, the amount to pay and the delivery address (the default preselected; an "add
    address" link comes back here). Its "Confirm and pay" button posts to ``action_url``, which
    does the action and goes on to the cashier. ``quote_of(address_id)`` is the kind's quote
    selector; ``?address=`` preselects one of the buyer's addresses."""
    quote = quotes.chosen_or_default(
        quote_of=quote_of, address_id=request.GET.get("address", "")[:40]
    )
    return render(
        request,
        "deals/confirm.html",
        {
            "heading": heading,
            "quote": quote,
            "action_url": action_url,
            "back_url": back_url,
            "hidden": list(hidden),
            "here": request.get_full_path(),
            "pickup_prefix": "pickup:",
        },
    )


# Refusals the buyer fixes on the confirm page itself: choose or add an address, choose a
# variant (or another one, when the chosen one sold out).
CONFIRM_ERRORS = (
    "address_required",
    "address_not_found",
    "pickup_point_required",
    "pickup_point_not_found",
    "pickup_not_offered",
    "variant_required",
    "variant_not_found",
    "variant_sold_out",
)


def show_refusal(request, error: DomainError) -> None:
    """The default for a refused deal action: its message; an unknown deal is a 404."""
    if isinstance(error, NotFound):
        raise error
    messages.error(request, error.message)


def refused(request, error: DomainError, *, confirm: str, back: str, show=show_refusal):
    """A refused action changes nothing. A missing or unknown address or variant: back to the
    confirm page (``confirm``) to choose again. Anything else (sold out, the group closed…) goes
    through the kind's own ``show`` (which may make it a 403 or 404) and back to the deal's page
    (``back``), which shows where the deal stands now."""
    if error.code in CONFIRM_ERRORS:
        messages.error(request, error.message)
        return redirect(confirm)
    show(request, error)
    return redirect(back)
