"""Cart: quantities 1..99 within stock, server prices, anonymous carts merged at sign-in."""

import pytest

from shoploop.catalog import services as catalog
from shoploop.core.errors import DomainError, NotAuthenticated, NotFound
from shoploop.orders import selectors, services
from shoploop.orders.models import Cart, CartLine

pytestmark = pytest.mark.django_db


def _quantities(user):
    return {line.sku.public_id: line.quantity for line in CartLine.objects.filter(cart__user=user)}


def test_add_and_view_cart_with_server_prices(buyer, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    view = selectors.cart_view(user=buyer)
    assert [group.shop for group in view.groups] == [sku.product.shop, other_sku.product.shop]
    assert view.total_fen == 2 * 5900 + 1999
    assert view.count == 3 and view.can_check_out


def test_adding_again_adds_up(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    assert _quantities(buyer) == {sku.public_id: 5}


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**9, "2", 2.5, None, True])
def test_bad_quantities_are_refused_and_change_nothing(buyer, sku, quantity):
    with pytest.raises(DomainError) as caught:
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=quantity)
    assert caught.value.status == 422
    assert not CartLine.objects.exists()


def test_more_than_stock_is_refused(buyer, sku):
    with pytest.raises(DomainError) as caught:
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=11)
    assert caught.value.code == "not_enough_stock"
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=10)
    with pytest.raises(DomainError):
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    assert _quantities(buyer) == {sku.public_id: 10}


def test_total_over_99_is_refused(buyer, make_sku, shop):
    big = make_sku(shop=shop, stock=500, title="大包装")
    services.add_to_cart(user=buyer, sku_public_id=big.public_id, quantity=99)
    with pytest.raises(DomainError) as caught:
        services.add_to_cart(user=buyer, sku_public_id=big.public_id, quantity=1)
    assert caught.value.code == "quantity_out_of_range"


@pytest.mark.parametrize("sku_id", ["nope", "", None, 123, "x" * 10_000])
def test_unknown_skus_are_404(buyer, sku_id):
    with pytest.raises(NotFound):
        services.add_to_cart(user=buyer, sku_public_id=sku_id, quantity=1)
    assert not Cart.objects.exists()


def test_unpublished_or_inactive_skus_cannot_be_added(buyer, sku):
    catalog.update_sku(sku=sku, actor=sku.product.shop.owner, is_active=False)
    with pytest.raises(DomainError) as caught:
        services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    assert caught.value.code == "not_on_sale"


def test_a_merchant_cannot_buy_from_their_own_shop(merchant, sku):
    with pytest.raises(DomainError) as caught:
        services.add_to_cart(user=merchant, sku_public_id=sku.public_id, quantity=1)
    assert caught.value.code == "own_shop"


def test_set_quantity_and_remove(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=4)
    assert _quantities(buyer) == {sku.public_id: 4}
    with pytest.raises(DomainError):
        services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=0)
    with pytest.raises(DomainError):
        services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=11)
    assert _quantities(buyer) == {sku.public_id: 4}
    services.remove_from_cart(user=buyer, sku_public_id=sku.public_id)
    assert _quantities(buyer) == {}
    with pytest.raises(NotFound):
        services.remove_from_cart(user=buyer, sku_public_id=sku.public_id)


def test_setting_quantity_of_an_item_not_in_cart_is_404(buyer, sku):
    with pytest.raises(NotFound):
        services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=1)


def test_cart_needs_a_user_or_a_session(sku):
    with pytest.raises(NotAuthenticated):
        services.add_to_cart(sku_public_id=sku.public_id, quantity=1)


def test_stock_dropping_below_cart_quantity_blocks_checkout_view(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=5)
    catalog.adjust_stock(sku=sku, delta=-8, actor=sku.product.shop.owner)
    view = selectors.cart_view(user=buyer)
    assert not view.can_check_out
    assert view.groups[0].lines[0].problem


def test_anonymous_cart_merges_into_the_users_cart(buyer, sku, other_sku):
    services.add_to_cart(session_key="anon-1", sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(session_key="anon-1", sku_public_id=other_sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    merged = services.merge_session_cart(session_key="anon-1", user=buyer)
    assert merged == 2
    assert _quantities(buyer) == {sku.public_id: 5, other_sku.public_id: 1}
    assert not Cart.objects.filter(session_key="anon-1").exists()
    assert services.merge_session_cart(session_key="anon-1", user=buyer) == 0


def test_merge_caps_at_stock(buyer, sku):
    services.add_to_cart(session_key="anon-2", sku_public_id=sku.public_id, quantity=8)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=8)
    services.merge_session_cart(session_key="anon-2", user=buyer)
    assert _quantities(buyer) == {sku.public_id: 10}


def test_sign_in_merges_the_session_cart_through_the_pages(client, buyer, sku):
    client.post("/cart/add/", {"sku_id": sku.public_id, "quantity": "2"})
    assert Cart.objects.filter(session_key__isnull=False).count() == 1
    client.force_login(buyer)
    assert _quantities(buyer) == {sku.public_id: 2}
    assert not Cart.objects.filter(session_key__isnull=False).exists()
