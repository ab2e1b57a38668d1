"""A flash buy with a JSON array for a body once bought an item (ninja read the array as an object
with every field at its default). Now it is refused and nothing is bought."""

import pytest

from shoploop.deals.flash.models import FlashPurchase

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", [[], [{"quantity": 1}], 1])
def test_a_buy_whose_body_is_not_an_object_buys_nothing(api, sale, user, body):
    answer = api.post(f"/deals/flash-sales/{sale.public_id}/buy", body, user=user)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid"
    assert not FlashPurchase.objects.filter(sale=sale).exists()


def test_an_object_body_still_buys(api, sale, user, ship_to):
    body = {"address_id": ship_to(user)}
    answer = api.post(f"/deals/flash-sales/{sale.public_id}/buy", body, user=user)
    assert answer.status_code == 201, answer.content
    assert FlashPurchase.objects.filter(sale=sale, buyer=user).count() == 1
