"""The address book: services (every rule and bad input), API and pages."""

import pytest
from django.urls import reverse

from shoploop.core.errors import NotAuthenticated, NotFound, ValidationFailed
from shoploop.orders import address_services, regions
from shoploop.orders.models import Address

pytestmark = pytest.mark.django_db


# --- regions ----------------------------------------------------------------------------------


def test_regions_are_data_with_provinces_cities_and_districts():
    names = {region.name for region in regions.provinces()}
    assert {"北京市", "广东省", "新疆维吾尔自治区"} <= names
    assert "深圳市" in {city.name for city in regions.children_of("44")}
    assert "南山区" in {district.name for district in regions.children_of("4403")}
    assert regions.label("44", "4403", "440305") == "广东省 深圳市 南山区"
    assert regions.label("11", "1101", "110108") == "北京市 海淀区"
    assert regions.children_of("nope") == ()


@pytest.mark.parametrize(
    "codes",
    [
        ("44", "4403", "110108"),  # a district of another city
        ("44", "1101", "110108"),  # a city of another province
        ("99", "9901", "990101"),  # unknown codes
        ("44", "4403", "4403"),  # the city given as its own district
        ("4403", "440305", ""),  # shifted by one level
        ("", "", ""),
    ],
)
def test_an_unknown_or_inconsistent_region_is_refused(codes):
    with pytest.raises(ValidationFailed) as caught:
        regions.validate(province_code=codes[0], city_code=codes[1], district_code=codes[2])
    assert caught.value.code == "region_unknown"


# --- services ---------------------------------------------------------------------------------


def test_the_first_address_becomes_the_default_and_the_phone_is_normalised(buyer, make_address):
    address = make_address(buyer)
    assert address.is_default
    assert address.phone == "+8613812345678"
    assert address.region_label == "广东省 深圳市 南山区"
    second = make_address(buyer, street="另一条街 2 号")
    assert not second.is_default


def test_a_city_without_districts_stores_its_nine_digit_street_code(buyer, make_address):
    """东莞市 has no districts: its streets (9-digit codes) stand in the district place, and the
    columns hold them (6 characters gave a DataError on PostgreSQL)."""
    address = make_address(buyer, province_code="44", city_code="4419", district_code="441900003")
    address.refresh_from_db()
    assert address.district_code == "441900003"
    assert address.region_label.startswith("广东省 东莞市")


def test_one_default_at_a_time(buyer, make_address):
    first = make_address(buyer)
    second = make_address(buyer, make_default=True)
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    address_services.set_default_address(user=buyer, address_public_id=first.public_id)
    assert list(Address.objects.filter(user=buyer, is_default=True)) == [first]


def test_deleting_the_default_promotes_the_newest_remaining(buyer, make_address):
    first = make_address(buyer)
    second = make_address(buyer)
    third = make_address(buyer)
    address_services.delete_address(user=buyer, address_public_id=first.public_id)
    assert Address.objects.get(is_default=True) == third
    address_services.delete_address(user=buyer, address_public_id=second.public_id)
    assert Address.objects.get(is_default=True) == third


def test_update_changes_the_fields(buyer, make_address):
    address = make_address(buyer)
    updated = address_services.update_address(
        user=buyer,
        address_public_id=address.public_id,
        recipient_name="李雷",
        phone="13900001111",
        province_code="11",
        city_code="1101",
        district_code="110108",
        street="中关村大街 1 号",
        postcode="",
    )
    assert (updated.recipient_name, updated.phone, updated.region_label) == (
        "李雷",
        "+8613900001111",
        "北京市 海淀区",
    )
    assert updated.is_default


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone", "12345", "phone_invalid"),
        ("phone", "010 6552 9988", "phone_not_mobile"),
        ("phone", "+1 650 253 0000", "phone_region_unsupported"),
        ("phone", "", "phone_required"),
        ("recipient_name", "", "invalid"),
        ("recipient_name", "名" * 41, "invalid"),
        ("street", "  ", "invalid"),
        ("postcode", "51800", "postcode_invalid"),
        ("postcode", "ABCDEF", "postcode_invalid"),
        ("district_code", "110108", "region_unknown"),
        ("city_code", "9999", "region_unknown"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(buyer, address_fields, field, value, code):
    with pytest.raises(ValidationFailed) as caught:
        address_services.add_address(user=buyer, **{**address_fields, field: value})
    assert caught.value.code == code
    assert not Address.objects.exists()


def test_a_bad_update_changes_nothing(buyer, make_address, address_fields):
    address = make_address(buyer)
    with pytest.raises(ValidationFailed):
        address_services.update_address(
            user=buyer, address_public_id=address.public_id, **{**address_fields, "phone": "1"}
        )
    address.refresh_from_db()
    assert address.phone == "+8613812345678"


def test_another_users_address_is_not_found(buyer, other_user, make_address, address_fields):
    theirs = make_address(other_user)
    for action in (
        lambda: address_services.set_default_address(
            user=buyer, address_public_id=theirs.public_id
        ),
        lambda: address_services.delete_address(user=buyer, address_public_id=theirs.public_id),
        lambda: address_services.update_address(
            user=buyer, address_public_id=theirs.public_id, **address_fields
        ),
    ):
        with pytest.raises(NotFound):
            action()
    theirs.refresh_from_db()
    assert theirs.is_default and theirs.user == other_user


def test_anonymous_cannot_add(address_fields):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        address_services.add_address(user=AnonymousUser(), **address_fields)


# --- API --------------------------------------------------------------------------------------


def test_api_address_book_round_trip(api, buyer, address_fields):
    created = api.post("/orders/addresses", address_fields, user=buyer)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["phone"] == "13812345678" and body["is_default"] is True
    assert body["region"] == "广东省 深圳市 南山区"
    second = api.post(
        "/orders/addresses", {**address_fields, "is_default": True}, user=buyer
    ).json()
    listed = api.get("/orders/addresses", user=buyer).json()
    assert [item["id"] for item in listed] == [second["id"], body["id"]]
    changed = api.put(
        f"/orders/addresses/{body['id']}",
        {**address_fields, "street": "新地址 9 号"},
        user=buyer,
    )
    assert changed.json()["street"] == "新地址 9 号"
    made_default = api.post(f"/orders/addresses/{body['id']}/default", user=buyer)
    assert made_default.json()["is_default"] is True
    assert api.delete(f"/orders/addresses/{second['id']}", user=buyer).status_code == 204
    assert len(api.get("/orders/addresses", user=buyer).json()) == 1


def test_api_refuses_bad_input_with_a_code(api, buyer, address_fields, english):
    response = api.post("/orders/addresses", {**address_fields, "phone": "123"}, user=buyer)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "phone_invalid"
    response = api.post(
        "/orders/addresses", {**address_fields, "district_code": "110108"}, user=buyer
    )
    assert response.json()["error"]["code"] == "region_unknown"
    assert not Address.objects.exists()


def test_api_another_users_address_is_404(api, buyer, other_user, make_address):
    theirs = make_address(other_user)
    assert api.get(f"/orders/addresses/{theirs.public_id}", user=buyer).status_code == 404
    response = api.delete(f"/orders/addresses/{theirs.public_id}", user=buyer)
    assert response.status_code == 404
    assert api.get("/orders/addresses").status_code == 401


def test_api_regions_lists_each_level(api, buyer):
    provinces = api.get("/orders/regions", user=buyer).json()
    assert {"code": "44", "name": "广东省"} in provinces
    cities = api.get("/orders/regions", user=buyer, parent="44").json()
    assert {"code": "4403", "name": "深圳市"} in cities


# --- pages ------------------------------------------------------------------------------------


def test_page_add_edit_default_delete_without_javascript(client, buyer, address_fields, english):
    client.force_login(buyer)
    response = client.post(reverse("orders:address_add"), address_fields)
    assert response.status_code == 302 and response.url == reverse("orders:addresses")
    address = Address.objects.get()
    page = client.get(reverse("orders:addresses")).content.decode()
    assert "王小明" in page and "138****5678" in page and "广东省 深圳市 南山区" in page
    response = client.post(
        reverse("orders:address_edit", args=[address.public_id]),
        {**address_fields, "street": "新街 8 号"},
    )
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.street == "新街 8 号"
    other = client.post(reverse("orders:address_add"), {**address_fields, "street": "第二个"})
    assert other.status_code == 302
    second = Address.objects.get(street="第二个")
    client.post(reverse("orders:address_default", args=[second.public_id]))
    second.refresh_from_db()
    assert second.is_default
    client.post(reverse("orders:address_delete", args=[second.public_id]))
    address.refresh_from_db()
    assert address.is_default and Address.objects.count() == 1


def test_page_refresh_button_fills_the_next_list_and_saves_nothing(client, buyer, english):
    client.force_login(buyer)
    response = client.post(reverse("orders:address_add"), {"province_code": "44", "refresh": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "深圳市" in page and "南山区" not in page
    response = client.post(
        reverse("orders:address_add"),
        {"province_code": "44", "city_code": "4403", "refresh": "1"},
    )
    assert "南山区" in response.content.decode()
    assert not Address.objects.exists()


def test_page_htmx_partial_lists_districts(client, buyer):
    client.force_login(buyer)
    response = client.get(
        reverse("orders:address_regions"), {"province_code": "44", "city_code": "4403"}
    )
    assert "南山区" in response.content.decode()


def test_page_shows_the_error_and_keeps_the_input(client, buyer, address_fields, english):
    client.force_login(buyer)
    response = client.post(reverse("orders:address_add"), {**address_fields, "phone": "123"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid mobile number" in page and "科技园南区" in page
    assert not Address.objects.exists()


def test_page_returns_to_a_safe_next_url_only(client, buyer, address_fields):
    client.force_login(buyer)
    back = reverse("orders:cart")
    response = client.post(reverse("orders:address_add"), {**address_fields, "next": back})
    assert response.url == back
    response = client.post(
        reverse("orders:address_add"), {**address_fields, "next": "https://evil.example/"}
    )
    assert response.url == reverse("orders:addresses")


def test_page_another_users_address_is_404(client, buyer, other_user, make_address):
    theirs = make_address(other_user)
    client.force_login(buyer)
    assert client.get(reverse("orders:address_edit", args=[theirs.public_id])).status_code == 404
    response = client.post(reverse("orders:address_delete", args=[theirs.public_id]))
    assert response.status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()
