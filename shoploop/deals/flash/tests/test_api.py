"""Flash-sale API: merchant create/list/pause/end, public detail, buy, mine."""

from datetime import timedelta

import pytest

from shoploop.core import clock
from shoploop.deals.flash.models import FlashSale
from shoploop.ledger.verification import verify_ledger
from shoploop.orders.tests.conftest import address_id_for

pytestmark = pytest.mark.django_db

BASE = "/deals/flash-sales"


def _items(response) -> list[dict]:
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body["items"]


def _create_body(sku, **changes):
    body = {
        "sku_id": sku.public_id,
        "price_fen": 990,
        "stock": 3,
        "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
        "per_user_limit": 1,
    }
    body.update(changes)
    return body


def test_merchant_creates_lists_pauses_and_ends(api, merchant, sku):
    response = api.post(f"{BASE}/", _create_body(sku), user=merchant)
    assert response.status_code == 201, response.content
    sale = response.json()
    assert (sale["price_fen"], sale["remaining"], sale["status"]) == (990, 3, "live")
    assert sale["normal_price_fen"] == 5900 and sale["sku_id"] == sku.public_id

    listed = _items(api.get(f"{BASE}/shop", user=merchant))
    assert [row["id"] for row in listed] == [sale["id"]]
    assert (listed[0]["reserved"], listed[0]["sold"]) == (0, 0)

    paused = api.post(f"{BASE}/{sale['id']}/pause", user=merchant)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert api.post(f"{BASE}/{sale['id']}/pause", user=merchant).json()["error"]["code"] == (
        "not_pausable"
    )
    assert api.post(f"{BASE}/{sale['id']}/resume", user=merchant).json()["status"] == "live"
    ended = api.post(f"{BASE}/{sale['id']}/end", user=merchant)
    assert ended.json()["status"] == "ended" and ended.json()["remaining"] == 0
    sku.refresh_from_db()
    assert sku.stock == 10


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"price_fen": 5900}, 422, "price_not_below"),
        ({"stock": 11}, 422, "not_enough_stock"),
        ({"starts_at": "2020-01-01T00:00:00Z"}, 422, "starts_in_past"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, 422, "ends_before_start"),
        ({"price_fen": "abc"}, 422, "invalid"),
        ({"sku_id": "nope"}, 404, "sku_not_found"),
    ],
)
def test_bad_settings_answer_clear_errors(api, merchant, sku, changes, status, code):
    response = api.post(f"{BASE}/", _create_body(sku, **changes), user=merchant)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not FlashSale.objects.exists()


def test_another_merchant_gets_403(api, merchant, other_merchant, other_shop, buyer, sku):
    sale = api.post(f"{BASE}/", _create_body(sku), user=merchant).json()
    assert api.post(f"{BASE}/{sale['id']}/pause", user=other_merchant).status_code == 403
    assert api.post(f"{BASE}/{sale['id']}/end", user=other_merchant).status_code == 403
    # Someone else's SKU, and a buyer without a shop.
    assert api.post(f"{BASE}/", _create_body(sku), user=other_merchant).status_code == 403
    assert api.post(f"{BASE}/", _create_body(sku), user=buyer).status_code == 403
    assert api.post(f"{BASE}/", _create_body(sku)).status_code == 401


def test_public_detail_buy_and_mine(api, merchant, sku, buyer, make_user, pay):
    sale = api.post(f"{BASE}/", _create_body(sku, stock=2), user=merchant).json()
    detail = api.get(f"{BASE}/{sale['id']}")
    assert detail.status_code == 200
    assert detail.json()["remaining"] == 2
    assert [row["id"] for row in _items(api.get(f"{BASE}/"))] == [sale["id"]]

    assert api.post(f"{BASE}/{sale['id']}/buy", {"quantity": 1}).status_code == 401
    bought = api.post(
        f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer), "quantity": 1}, user=buyer
    )
    assert bought.status_code == 201, bought.content
    body = bought.json()
    assert body["order_id"] and body["pay_url"] and body["total_fen"] == 990
    assert body["state"] == "reserved" and body["order_state"] == "pending_payment"

    again = api.post(
        f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer), "quantity": 1}, user=buyer
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "limit_reached"
    last = make_user()
    api.post(f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(last)}, user=last)
    late = api.post(f"{BASE}/{sale['id']}/buy", user=make_user())
    assert late.status_code == 409 and late.json()["error"]["code"] == "sold_out"
    assert api.get(f"{BASE}/{sale['id']}").json()["remaining"] == 0

    from shoploop.orders.models import Order

    pay(Order.objects.get(public_id=body["order_id"]).checkout)
    mine = _items(api.get(f"{BASE}/mine", user=buyer))
    assert [(row["id"], row["state"], row["order_state"]) for row in mine] == [
        (body["id"], "paid", "paid")
    ]
    assert verify_ledger().ok


def test_a_retry_with_the_same_idempotency_key_returns_the_first_purchase(
    api, merchant, sku, buyer
):
    from shoploop.deals.flash.models import FlashPurchase

    sale = api.post(f"{BASE}/", _create_body(sku, stock=5, per_user_limit=3), user=merchant).json()
    path, key = f"{BASE}/{sale['id']}/buy", {"Idempotency-Key": "tap-1"}
    ship = address_id_for(buyer)
    first = api.post(path, {"quantity": 1, "address_id": ship}, user=buyer, headers=key)
    retry = api.post(path, {"quantity": 1, "address_id": ship}, user=buyer, headers=key)
    assert (first.status_code, retry.status_code) == (201, 200), retry.content
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["pay_url"] == first.json()["pay_url"]

    other_body = api.post(path, {"quantity": 2, "address_id": ship}, user=buyer, headers=key)
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    assert FlashPurchase.objects.filter(buyer=buyer).count() == 1
    assert api.get(f"{BASE}/{sale['id']}").json()["remaining"] == 4

    # Without a key (or with a new one) a second tap is a second purchase, within the limit.
    assert api.post(path, {"quantity": 1, "address_id": ship}, user=buyer).status_code == 201
    assert FlashPurchase.objects.filter(buyer=buyer).count() == 2


def test_unknown_sale_and_bad_quantity(api, merchant, sku, buyer):
    assert api.get(f"{BASE}/nope").status_code == 404
    assert (
        api.post(f"{BASE}/nope/buy", {"address_id": address_id_for(buyer)}, user=buyer).status_code
        == 404
    )
    sale = api.post(f"{BASE}/", _create_body(sku), user=merchant).json()
    response = api.post(
        f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer), "quantity": 0}, user=buyer
    )
    assert response.status_code == 422
    response = api.post(
        f"{BASE}/{sale['id']}/buy",
        {"address_id": address_id_for(buyer), "quantity": "x"},
        user=buyer,
    )
    assert response.status_code == 422


def test_buying_before_the_start_is_refused(api, merchant, sku, buyer):
    starts_at = clock.now() + timedelta(minutes=30)
    body = _create_body(
        sku, starts_at=starts_at.isoformat(), ends_at=(starts_at + timedelta(hours=1)).isoformat()
    )
    sale = api.post(f"{BASE}/", body, user=merchant).json()
    assert sale["status"] == "scheduled"
    response = api.post(
        f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_started"


def test_the_limit_defaults_to_one(api, merchant, sku):
    body = _create_body(sku)
    del body["per_user_limit"]
    response = api.post(f"{BASE}/", body, user=merchant)
    assert response.status_code == 201 and response.json()["per_user_limit"] == 1


def test_merchant_watches_one_sale_and_another_merchant_gets_403(
    api, merchant, other_merchant, sku, buyer
):
    sale = api.post(f"{BASE}/", _create_body(sku, stock=3), user=merchant).json()
    api.post(f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer)
    watched = api.get(f"{BASE}/shop/{sale['id']}", user=merchant)
    assert watched.status_code == 200
    body = watched.json()
    assert (body["stock"], body["remaining"], body["reserved"], body["sold"]) == (3, 2, 1, 0)
    assert api.get(f"{BASE}/shop/{sale['id']}", user=other_merchant).status_code == 403
    assert api.get(f"{BASE}/shop/{sale['id']}", user=buyer).status_code == 403
    assert api.get(f"{BASE}/shop/{sale['id']}").status_code == 401
    assert api.get(f"{BASE}/shop/nope", user=merchant).status_code == 404


def test_a_buyer_reads_one_of_their_purchases_only(api, merchant, sku, buyer, make_user):
    sale = api.post(f"{BASE}/", _create_body(sku), user=merchant).json()
    bought = api.post(
        f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer
    ).json()
    mine = api.get(f"{BASE}/mine/{bought['id']}", user=buyer)
    assert mine.status_code == 200
    assert (mine.json()["sale_id"], mine.json()["state"]) == (sale["id"], "reserved")
    assert api.get(f"{BASE}/mine/{bought['id']}", user=make_user()).status_code == 404
    assert api.get(f"{BASE}/mine/{bought['id']}").status_code == 401


def test_sold_out_is_answered_without_a_transaction_a_lock_or_a_write(
    client, make_token, merchant, sku, buyer, make_user, api
):
    from unittest import mock

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    sale = api.post(f"{BASE}/", _create_body(sku, stock=1), user=merchant).json()
    api.post(f"{BASE}/{sale['id']}/buy", {"address_id": address_id_for(buyer)}, user=buyer)
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    url = f"/api/v1{BASE}/{sale['id']}"
    client.get(url, headers=headers)  # the token's last-use stamp is written once a minute
    entered = []
    real_enter = transaction.Atomic.__enter__

    def counting_enter(atomic):
        entered.append(atomic)
        return real_enter(atomic)

    with (
        mock.patch.object(transaction.Atomic, "__enter__", counting_enter),
        CaptureQueriesContext(connection) as captured,
    ):
        response = client.post(
            f"{url}/buy", data={}, content_type="application/json", headers=headers
        )
    assert response.status_code == 409 and response.json()["error"]["code"] == "sold_out"
    assert not entered
    statements = [q["sql"].lstrip().upper() for q in captured.captured_queries]
    assert statements and all(sql.startswith("SELECT") for sql in statements), statements
    assert not any("FOR UPDATE" in sql for sql in statements)
