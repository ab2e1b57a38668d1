"""The buyer's address book pages: list, add, edit, delete, set default.

Works without JavaScript: the region selects are refreshed by a plain submit ("Update the lists")
that re-renders the form without saving; with htmx the same partial is swapped in on change.
A ``next`` URL (the checkout's confirm page) brings the buyer back after saving.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shoploop.core.errors import DomainError, NotFound
from shoploop.orders import address_services, regions, selectors

FORM_FIELDS = (
    "recipient_name",
    "phone",
    "province_code",
    "city_code",
    "district_code",
    "street",
    "postcode",
)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def region_choices(*, province_code: str = "", city_code: str = "") -> dict:
    """The three lists of a region picker for the codes chosen so far."""
    cities = regions.children_of(province_code) if province_code else ()
    if city_code and city_code not in {city.code for city in cities}:
        city_code = ""
    return {
        "provinces": regions.provinces(),
        "cities": cities,
        "districts": regions.children_of(city_code) if city_code else (),
    }


def _form_context(request, *, data: dict, address=None, error=None) -> dict:
    return {
        "data": data,
        "address": address,
        "error": error,
        "next": _next_url(request),
        "nav_active": "me",
        **region_choices(
            province_code=data.get("province_code", ""), city_code=data.get("city_code", "")
        ),
    }


def _posted(request) -> dict:
    return {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}


def _done(request, message: str):
    messages.success(request, message)
    return redirect(_next_url(request) or reverse("orders:addresses"))


@login_required
def address_list(request):
    return render(
        request,
        "orders/address_list.html",
        {
            "addresses": list(selectors.addresses_of(user=request.user)),
            "next": _next_url(request),
            "nav_active": "me",
        },
    )


@login_required
def address_regions(request):
    """The region selects for the codes in the query (htmx swaps this partial in)."""
    data = {name: request.GET.get(name, "") for name in ("province_code", "city_code")}
    data["district_code"] = request.GET.get("district_code", "")
    return render(
        request,
        "orders/_region_selects.html",
        {"data": data, **region_choices(**{k: data[k] for k in ("province_code", "city_code")})},
    )


@login_required
def address_add(request):
    data = _posted(request) if request.method == "POST" else {}
    if request.method == "POST" and not request.POST.get("refresh"):
        try:
            address_services.add_address(
                user=request.user, make_default=bool(request.POST.get("is_default")), **data
            )
            return _done(request, _("Address saved."))
        except DomainError as error:
            return render(
                request, "orders/address_form.html", _form_context(request, data=data, error=error)
            )
    return render(request, "orders/address_form.html", _form_context(request, data=data))


@login_required
def address_edit(request, address_id):
    address = selectors.address_of(user=request.user, public_id=address_id)
    if request.method != "POST":
        data = {name: getattr(address, name) for name in FORM_FIELDS}
        data["phone"] = address.national_phone
        return render(
            request, "orders/address_form.html", _form_context(request, data=data, address=address)
        )
    data = _posted(request)
    if not request.POST.get("refresh"):
        try:
            address_services.update_address(
                user=request.user, address_public_id=address.public_id, **data
            )
            return _done(request, _("Address saved."))
        except DomainError as error:
            if isinstance(error, NotFound):
                raise
            context = _form_context(request, data=data, address=address, error=error)
            return render(request, "orders/address_form.html", context)
    return render(
        request, "orders/address_form.html", _form_context(request, data=data, address=address)
    )


@login_required
@require_POST
def address_delete(request, address_id):
    address_services.delete_address(user=request.user, address_public_id=address_id)
    return _done(request, _("Address deleted."))


@login_required
@require_POST
def address_default(request, address_id):
    address_services.set_default_address(user=request.user, address_public_id=address_id)
    return _done(request, _("Default address changed."))
