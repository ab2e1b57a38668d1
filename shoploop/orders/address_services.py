"""Every write of the buyer's address book (the address room of the orders services).

Each function owns its transaction and first locks the user's address rows in primary-key order,
so two requests changing the default at once wait for each other instead of both deciding from
a stale read; the database's "one default per user" constraint is the backstop.
"""

import re

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shoploop.accounts.phones import normalize_phone
from shoploop.core.errors import NotAuthenticated, NotFound, ValidationFailed
from shoploop.core.text import clean_text
from shoploop.orders import regions
from shoploop.orders.models import RECIPIENT_MAX_LENGTH, STREET_MAX_LENGTH, Address

_POSTCODE = re.compile(r"^\d{6}$")


def _require_user(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def _clean_postcode(value) -> str:
    text = str(value or "").strip()
    if text and not _POSTCODE.match(text):
        raise ValidationFailed(
            _("A postcode is six digits."),
            code="postcode_invalid",
            fields={"postcode": _("Six digits.")},
        )
    return text


def clean_address_fields(
    *, recipient_name, phone, province_code, city_code, district_code, street, postcode=""
) -> dict:
    """The fields of an address, checked and normalised; raises on the first bad one."""
    province, city, district = regions.validate(
        province_code=province_code, city_code=city_code, district_code=district_code
    )
    return {
        "recipient_name": clean_text(
            recipient_name, field="recipient_name", max_length=RECIPIENT_MAX_LENGTH, required=True
        ),
        "phone": normalize_phone(phone),
        "province_code": province,
        "city_code": city,
        "district_code": district,
        "street": clean_text(street, field="street", max_length=STREET_MAX_LENGTH, required=True),
        "postcode": _clean_postcode(postcode),
    }


def _lock_addresses(user) -> list[Address]:
    return list(Address.objects.select_for_update().filter(user=user).order_by("pk"))


def _own(locked: list[Address], public_id) -> Address:
    for address in locked:
        if address.public_id == str(public_id or ""):
            return address
    raise NotFound(_("No such address."), code="address_not_found")


def _make_default(*, user, address: Address) -> None:
    Address.objects.filter(user=user, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True


def add_address(
    *,
    user,
    recipient_name,
    phone,
    province_code,
    city_code,
    district_code,
    street,
    postcode="",
    make_default: bool = False,
) -> Address:
    """A new address; the first one (or one asked to be) becomes the default."""
    _require_user(user)
    fields = clean_address_fields(
        recipient_name=recipient_name,
        phone=phone,
        province_code=province_code,
        city_code=city_code,
        district_code=district_code,
        street=street,
        postcode=postcode,
    )
    with transaction.atomic():
        locked = _lock_addresses(user)
        address = Address.objects.create(user=user, **fields)
        if make_default or not any(item.is_default for item in locked):
            _make_default(user=user, address=address)
    return address


def update_address(
    *,
    user,
    address_public_id,
    recipient_name,
    phone,
    province_code,
    city_code,
    district_code,
    street,
    postcode="",
) -> Address:
    """Change an address of the user's book. Orders keep the copy they were placed with."""
    _require_user(user)
    fields = clean_address_fields(
        recipient_name=recipient_name,
        phone=phone,
        province_code=province_code,
        city_code=city_code,
        district_code=district_code,
        street=street,
        postcode=postcode,
    )
    with transaction.atomic():
        address = _own(_lock_addresses(user), address_public_id)
        Address.objects.filter(pk=address.pk).update(**fields)
        address.refresh_from_db()
    return address


def set_default_address(*, user, address_public_id) -> Address:
    _require_user(user)
    with transaction.atomic():
        address = _own(_lock_addresses(user), address_public_id)
        _make_default(user=user, address=address)
    return address


def delete_address(*, user, address_public_id) -> None:
    """Remove an address; if it was the default, the newest remaining one becomes the default."""
    _require_user(user)
    with transaction.atomic():
        locked = _lock_addresses(user)
        address = _own(locked, address_public_id)
        Address.objects.filter(pk=address.pk).delete()
        remaining = [item for item in locked if item.pk != address.pk]
        if address.is_default and remaining:
            newest = max(remaining, key=lambda item: (item.created_at, item.pk))
            _make_default(user=user, address=newest)


def address_snapshot(address: Address) -> dict:
    """The ``Order.ship_*`` copy of an address: names as well as the district's code, so the
    order reads the same even if the divisions data or the address book change later."""
    return {
        "ship_recipient": address.recipient_name,
        "ship_phone": address.phone,
        "ship_province": regions.name_of(address.province_code),
        "ship_city": regions.name_of(address.city_code),
        "ship_district": regions.name_of(address.district_code),
        "ship_district_code": address.district_code,
        "ship_street": address.street,
        "ship_postcode": address.postcode,
    }


def own_address(*, user, address_public_id) -> Address:
    """One of the user's addresses (read for a checkout); another user's is not found."""
    _require_user(user)
    found = Address.objects.filter(user=user, public_id=str(address_public_id or "")[:40]).first()
    if found is None:
        raise NotFound(_("No such address."), code="address_not_found")
    return found
