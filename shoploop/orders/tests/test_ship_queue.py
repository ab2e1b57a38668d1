"""The merchant's ship queue: carriers as codes, tracking formats, shipping several at once,
the printable packing list and its CSV."""

import csv
import io

import pytest

from shoploop.core.errors import NotFound, PermissionDenied, ValidationFailed
from shoploop.orders import carriers, services
from shoploop.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("carrier", "number", "stored"),
    [
        ("sf", "SF123456789012", "SF123456789012"),
        ("sf", "sf 1234 5678 90123", "SF1234567890123"),
        ("zto", "781234567890", "781234567890"),
        ("zto", "781234567890123", "781234567890123"),
        ("yto", "YT1234567890123", "YT1234567890123"),
        ("jd", "JDVA12345678901", "JDVA12345678901"),
        ("jd", "jd0123456789abc", "JD0123456789ABC"),
        ("ems", "EA123456789CN", "EA123456789CN"),
        ("ems", "1234567890123", "1234567890123"),
        ("yunda", "4312345678901", "4312345678901"),
        ("sto", "773-0123-45678", "773012345678"),
        ("other", "ABC12345", "ABC12345"),
    ],
)
def test_tracking_numbers_in_the_carriers_format(carrier, number, stored):
    assert carriers.clean_tracking_number(carrier=carrier, value=number) == stored


@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        ("sf", "SF12345678901"),  # 11 digits
        ("sf", "SF12345678901234"),  # 14 digits
        ("sf", "123456789012"),  # no SF
        ("zto", "78123456789"),  # 11 digits
        ("zto", "ZT1234567890"),
        ("yto", "YT123456789012"),  # 12 digits
        ("yto", "1234567890123"),
        ("jd", "JD123456789012"),  # 12 after JD
        ("jd", "JD12345678901234567"),
        ("ems", "EA123456789US"),
        ("ems", "AA123456789CN"),
        ("ems", "123456789012"),
        ("yunda", "1234567"),  # 7
        ("other", "A" * 31),
        ("other", "漢字漢字漢字漢字"),
        ("other", ""),
        ("sf", None),
    ],
)
def test_tracking_numbers_outside_the_format_are_refused(carrier, number):
    with pytest.raises(ValidationFailed) as caught:
        carriers.clean_tracking_number(carrier=carrier, value=number)
    assert caught.value.code == "tracking_number_invalid"


@pytest.mark.parametrize("carrier", ["", "顺丰", "SF", "dhl", None, 5])
def test_unknown_carriers_are_refused(carrier):
    with pytest.raises(ValidationFailed) as caught:
        carriers.clean_carrier(carrier)
    assert caught.value.code == "carrier_unknown"


def test_carrier_is_stored_as_a_code_and_shown_by_name(english):
    assert carriers.label("sf") == "SF Express (顺丰)"
    assert carriers.label("some old text") == "some old text"


@pytest.fixture
def paid_orders(make_user, sku, place, pay):
    orders = []
    for name in ("甲", "乙", "丙"):
        buyer = make_user(display_name=name)
        checkout = place((sku, 1), user=buyer)
        pay(checkout)
        orders.append(checkout.orders.get())
    return orders


def _shipment(order, carrier="sf", number="SF123456789012"):
    return {"order_id": order.public_id, "carrier": carrier, "tracking_number": number}


def test_ship_several_at_once(paid_orders, shop):
    first, second, third = paid_orders
    outcomes = services.ship_orders(
        shop=shop,
        actor=shop.owner,
        shipments=[_shipment(first), _shipment(second, "zto", "781234567890")],
    )
    assert outcomes == {first.public_id: "shipped", second.public_id: "shipped"}
    states = dict(Order.objects.values_list("public_id", "state"))
    assert states[first.public_id] == states[second.public_id] == "shipped"
    assert states[third.public_id] == "paid"
    second.refresh_from_db()
    assert (second.carrier, second.tracking_number) == ("zto", "781234567890")


def test_one_bad_number_ships_nothing(paid_orders, shop):
    first, second, _third = paid_orders
    with pytest.raises(ValidationFailed) as caught:
        services.ship_orders(
            shop=shop,
            actor=shop.owner,
            shipments=[_shipment(first), _shipment(second, "yto", "YT1")],
        )
    assert caught.value.fields["order_id"] == second.public_id
    assert not Order.objects.filter(state="shipped").exists()


def test_an_order_cancelled_meanwhile_is_reported_and_the_others_ship(paid_orders, shop):
    first, second, _third = paid_orders
    services.cancel_order(order=second, actor=second.buyer)
    outcomes = services.ship_orders(
        shop=shop, actor=shop.owner, shipments=[_shipment(first), _shipment(second)]
    )
    assert outcomes == {first.public_id: "shipped", second.public_id: "cannot_ship"}


def test_ship_several_refuses_other_shops_orders_and_strangers(
    paid_orders, shop, other_shop, other_merchant
):
    with pytest.raises(PermissionDenied):
        services.ship_orders(shop=shop, actor=other_merchant, shipments=[_shipment(paid_orders[0])])
    with pytest.raises(NotFound):
        services.ship_orders(
            shop=other_shop, actor=other_merchant, shipments=[_shipment(paid_orders[0])]
        )
    with pytest.raises(ValidationFailed):
        services.ship_orders(shop=shop, actor=shop.owner, shipments=[])
    with pytest.raises(ValidationFailed):
        services.ship_orders(shop=shop, actor=shop.owner, shipments=[_shipment(paid_orders[0])] * 2)
    assert not Order.objects.filter(state="shipped").exists()


def test_api_ships_several(api, paid_orders, shop):
    first, second, _third = paid_orders
    response = api.post(
        "/orders/shop/ship",
        {"shipments": [_shipment(first), _shipment(second, "ems", "EA123456789CN")]},
        user=shop.owner,
    )
    assert response.status_code == 200, response.content
    assert response.json()["results"] == {
        first.public_id: "shipped",
        second.public_id: "shipped",
    }
    bad = api.post(
        "/orders/shop/ship",
        {"shipments": [_shipment(paid_orders[2], "jd", "JD1")]},
        user=shop.owner,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "tracking_number_invalid"
    assert bad.json()["error"]["fields"]["order_id"] == paid_orders[2].public_id


def test_queue_page_shows_addresses_and_ships_the_selected(client, paid_orders, shop, english):
    first, second, third = paid_orders
    client.force_login(shop.owner)
    page = client.get("/console/orders/").content.decode()
    assert all(order.public_id in page for order in paid_orders)
    assert "收件人" in page and "广东省 深圳市 南山区 人民路 1 号" in page
    assert "SF Express (顺丰)" in page
    response = client.post(
        "/console/orders/ship/",
        {
            "order": [first.public_id, third.public_id],
            f"carrier_{first.public_id}": "sf",
            f"tracking_{first.public_id}": "SF123456789012",
            f"carrier_{third.public_id}": "yunda",
            f"tracking_{third.public_id}": "4312345678901",
            f"carrier_{second.public_id}": "sf",
            f"tracking_{second.public_id}": "not ticked",
        },
        follow=True,
    )
    assert "2 orders shipped." in response.content.decode()
    states = dict(Order.objects.values_list("public_id", "state"))
    assert (states[first.public_id], states[second.public_id], states[third.public_id]) == (
        "shipped",
        "paid",
        "shipped",
    )


def test_queue_page_keeps_what_was_typed_when_refused(client, paid_orders, shop, english):
    first, second, _third = paid_orders
    client.force_login(shop.owner)
    response = client.post(
        "/console/orders/ship/",
        {
            "order": [first.public_id, second.public_id],
            f"carrier_{first.public_id}": "sf",
            f"tracking_{first.public_id}": "SF123456789012",
            f"carrier_{second.public_id}": "yto",
            f"tracking_{second.public_id}": "YT99",
        },
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert f"{second.public_id}: This is not a YTO Express (圆通) tracking number" in page
    assert 'value="YT99"' in page and 'value="SF123456789012"' in page
    assert not Order.objects.filter(state="shipped").exists()


def test_packing_list_print_view_and_csv(client, paid_orders, shop, english):
    first, second, _third = paid_orders
    Order.objects.filter(pk=second.pk).update(ship_street="=HYPERLINK(1)")
    client.force_login(shop.owner)
    page = client.get("/console/orders/packing-list/", {"order": [first.public_id]})
    html = page.content.decode()
    assert first.public_id in html and second.public_id not in html
    assert "人民路 1 号" in html and "手冲咖啡豆" in html
    response = client.get("/console/orders/packing-list.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Order" and len(rows) == 4
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[first.public_id][2:8] == [
        "收件人",
        "13912345678",
        "广东省",
        "深圳市",
        "南山区",
        "人民路 1 号",
    ]
    assert by_id[second.public_id][7] == "'=HYPERLINK(1)"
    assert by_id[first.public_id][9] == "手冲咖啡豆 (250g) × 1"


def test_queue_pages_are_for_merchants_only(client, buyer):
    client.force_login(buyer)
    assert client.get("/console/orders/").status_code == 403
    assert client.get("/console/orders/packing-list.csv").status_code == 403
    assert client.post("/console/orders/ship/", {"order": ["x"]}).status_code == 403
