"""The cart (orders/services/cart.py), pinned where mutation testing showed that a changed line
passed the suite (docs/mutation.md): each refusal's code, message and field, the edges of the
quantity and stock ranges, the state a refusal leaves, anonymous carts and their merge."""

import pytest

from shoploop.catalog.models import SKU, Product, Shop
from shoploop.core.errors import DomainError, NotAuthenticated
from shoploop.orders import services
from shoploop.orders.models import Cart, CartLine
from shoploop.orders.services import cart as cart_services

# The messages are pinned in English (the msgids), whatever the default language.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _refusal(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    return caught.value


def _quantities(**owner):
    return {
        line.sku.public_id: line.quantity
        for line in CartLine.objects.filter(**{f"cart__{k}": v for k, v in owner.items()})
    }


# --- whose cart --------------------------------------------------------------------------------


def test_a_signed_in_users_cart_is_theirs_even_with_a_session(buyer):
    cart = services.cart_for(user=buyer, session_key="anon-9")
    assert cart.user == buyer and cart.session_key is None
    assert services.cart_for(user=buyer) == cart
    assert Cart.objects.count() == 1


def test_an_anonymous_users_cart_is_the_sessions():
    from django.contrib.auth.models import AnonymousUser

    cart = services.cart_for(user=AnonymousUser(), session_key="anon-1")
    assert cart.session_key == "anon-1" and cart.user is None
    assert services.cart_for(session_key="anon-1") == cart


def test_no_user_and_no_session_is_refused():
    with pytest.raises(NotAuthenticated) as caught:
        services.cart_for(session_key="")
    assert str(caught.value.message) == "Please sign in or enable cookies to use the cart."
    assert not Cart.objects.exists()


def test_a_cart_created_meanwhile_is_found(buyer, monkeypatch):
    """Two first uses at once: the loser's insert breaks the unique owner and it reads the
    winner's cart (replayed here by making the first look miss)."""
    existing = Cart.objects.create(user=buyer)
    real_filter = Cart.objects.filter
    calls = []

    def first_miss(**kwargs):
        calls.append(kwargs)
        found = real_filter(**kwargs)
        return found.none() if len(calls) == 1 else found

    monkeypatch.setattr(Cart.objects, "filter", first_miss)
    assert services.cart_for(user=buyer) == existing
    assert Cart.objects.count() == 1


# --- adding ------------------------------------------------------------------------------------


def test_add_returns_the_line_with_its_quantity(buyer, other_user, sku):
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=1)
    line = services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    assert (line.sku, line.quantity, line.cart.user) == (sku, 3, buyer)
    again = services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    assert again.pk == line.pk and again.quantity == 5
    assert _quantities(user=other_user) == {sku.public_id: 1}  # only this cart's line grew


def test_add_by_default_adds_one(buyer, sku):
    assert services.add_to_cart(user=buyer, sku_public_id=sku.public_id).quantity == 1


def test_exactly_the_stock_can_be_added_in_steps(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=9)
    assert services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1).quantity == 10
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=sku.public_id, quantity=1)
    assert (error.code, error.fields) == ("not_enough_stock", {"quantity": "above_stock"})
    assert str(error.message) == "Only 10 of “手冲咖啡豆” left."
    assert _quantities(user=buyer) == {sku.public_id: 10}


def test_ninety_nine_in_steps_and_not_one_more(buyer, make_sku, shop):
    big = make_sku(shop=shop, stock=500, title="大包装")
    services.add_to_cart(user=buyer, sku_public_id=big.public_id, quantity=98)
    assert services.add_to_cart(user=buyer, sku_public_id=big.public_id, quantity=1).quantity == 99
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=big.public_id, quantity=1)
    assert (error.code, error.fields) == ("quantity_out_of_range", {"quantity": "range"})
    assert str(error.message) == "At most 99 of one item per order."
    assert _quantities(user=buyer) == {big.public_id: 99}


def test_the_stock_is_checked_against_the_total_not_the_addition(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=6)
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=sku.public_id, quantity=5)
    assert error.code == "not_enough_stock"
    assert _quantities(user=buyer) == {sku.public_id: 6}


def test_the_conditional_update_refuses_what_a_concurrent_add_filled(buyer, sku, monkeypatch):
    """The check above runs on the quantity read; a concurrent add that raised the line meanwhile
    is caught by the conditional UPDATE (replayed: the line grows after the read)."""
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=5)
    real = cart_services._within_stock

    def then_someone_adds(*, sku, quantity):
        real(sku=sku, quantity=quantity)
        CartLine.objects.update(quantity=9)

    monkeypatch.setattr(cart_services, "_within_stock", then_someone_adds)
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=sku.public_id, quantity=2)
    assert (error.code, str(error.message)) == (
        "not_enough_stock",
        "That is more than you can buy.",
    )
    assert CartLine.objects.get().quantity == 5  # the refusal rolled the whole add back


def test_the_conditional_update_allows_exactly_the_stock(buyer, sku, monkeypatch):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=5)
    real = cart_services._within_stock

    def then_someone_adds(*, sku, quantity):
        real(sku=sku, quantity=quantity)
        CartLine.objects.update(quantity=8)

    monkeypatch.setattr(cart_services, "_within_stock", then_someone_adds)
    line = services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    assert line.quantity == 10


def test_a_line_inserted_meanwhile_is_added_to(buyer, other_user, sku, other_sku, monkeypatch):
    """Two first adds of one SKU at once: the loser's insert breaks the unique line and it adds
    to the winner's line instead (replayed by a line that appears after the first look). Other
    lines, of this cart and of others, are not that line."""
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    cart = services.cart_for(user=buyer)
    real_filter = CartLine.objects.filter
    looked = []

    def first_miss(*args, **kwargs):
        found = real_filter(*args, **kwargs)
        if not looked and kwargs.get("sku") == sku:
            looked.append(True)
            CartLine.objects.create(cart=cart, sku=sku, quantity=2)
            return found.none()
        return found

    monkeypatch.setattr(CartLine.objects, "filter", first_miss)
    line = services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=3)
    assert line.quantity == 5 and CartLine.objects.get(cart=cart, sku=sku).quantity == 5


@pytest.mark.parametrize("sku_id", ["", None, 7])
def test_a_missing_sku_id_is_not_found(buyer, sku_id):
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=sku_id)
    assert (error.code, error.status, str(error.message)) == ("sku_not_found", 404, "No such SKU.")


def test_an_unknown_sku_is_not_found(buyer):
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id="nope")
    assert (error.code, str(error.message)) == ("sku_not_found", "No such SKU.")


@pytest.mark.parametrize("what", ["sku", "product", "shop"])
def test_off_sale_at_any_level_is_refused(buyer, sku, what):
    if what == "sku":
        SKU.objects.filter(pk=sku.pk).update(is_active=False)
    elif what == "product":
        Product.objects.filter(pk=sku.product_id).update(is_published=False)
    else:
        Shop.objects.filter(pk=sku.product.shop_id).update(status=Shop.Status.PENDING)
    error = _refusal(services.add_to_cart, user=buyer, sku_public_id=sku.public_id)
    assert (error.code, error.status) == ("not_on_sale", 409)
    assert str(error.message) == "“手冲咖啡豆” is not on sale any more."
    assert not CartLine.objects.exists()


def test_own_shop_refusal_and_an_anonymous_visitor_may_add(merchant, sku):
    error = _refusal(services.add_to_cart, user=merchant, sku_public_id=sku.public_id)
    assert (error.code, str(error.message)) == ("own_shop", "You cannot buy from your own shop.")
    line = services.add_to_cart(session_key="anon-3", sku_public_id=sku.public_id)
    assert line.cart.session_key == "anon-3"


# --- setting and removing ----------------------------------------------------------------------


def test_set_quantity_to_the_stock_and_the_line_returned(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    line = services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=10)
    assert (line.sku, line.quantity) == (sku, 10)
    error = _refusal(
        services.set_cart_quantity, user=buyer, sku_public_id=sku.public_id, quantity=11
    )
    assert (error.code, error.fields) == ("not_enough_stock", {"quantity": "above_stock"})
    assert _quantities(user=buyer) == {sku.public_id: 10}


def test_set_quantity_of_a_line_not_in_the_cart(buyer, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    error = _refusal(
        services.set_cart_quantity, user=buyer, sku_public_id=sku.public_id, quantity=2
    )
    assert (error.code, str(error.message)) == ("not_in_cart", "This item is not in your cart.")
    assert _quantities(user=buyer) == {other_sku.public_id: 1}


def test_set_quantity_changes_only_the_owners_line(buyer, other_user, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=2)
    services.set_cart_quantity(user=buyer, sku_public_id=sku.public_id, quantity=4)
    assert _quantities(user=buyer) == {sku.public_id: 4}
    assert _quantities(user=other_user) == {sku.public_id: 2}


def test_remove_only_the_owners_line(buyer, other_user, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    services.add_to_cart(user=other_user, sku_public_id=sku.public_id, quantity=2)
    services.remove_from_cart(user=buyer, sku_public_id=sku.public_id)
    assert _quantities(user=buyer) == {other_sku.public_id: 1}
    assert _quantities(user=other_user) == {sku.public_id: 2}
    error = _refusal(services.remove_from_cart, user=buyer, sku_public_id=sku.public_id)
    assert (error.code, str(error.message)) == ("not_in_cart", "This item is not in your cart.")


# --- merging at sign-in ------------------------------------------------------------------------


def test_nothing_to_merge_without_a_session_or_a_user(buyer, sku):
    from django.contrib.auth.models import AnonymousUser

    services.add_to_cart(session_key="anon-4", sku_public_id=sku.public_id, quantity=1)
    assert services.merge_session_cart(session_key="", user=buyer) == 0
    assert services.merge_session_cart(session_key=None, user=buyer) == 0
    assert services.merge_session_cart(session_key="anon-4", user=None) == 0
    assert services.merge_session_cart(session_key="anon-4", user=AnonymousUser()) == 0
    assert _quantities(session_key="anon-4") == {sku.public_id: 1}


def test_merge_into_an_empty_cart_moves_the_lines(buyer, sku, other_sku):
    services.add_to_cart(session_key="anon-5", sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(session_key="anon-5", sku_public_id=other_sku.public_id, quantity=3)
    assert services.merge_session_cart(session_key="anon-5", user=buyer) == 2
    assert _quantities(user=buyer) == {sku.public_id: 2, other_sku.public_id: 3}
    assert not Cart.objects.filter(session_key="anon-5").exists()


def test_merge_caps_at_ninety_nine(buyer, make_sku, shop):
    big = make_sku(shop=shop, stock=500, title="大包装")
    services.add_to_cart(session_key="anon-6", sku_public_id=big.public_id, quantity=60)
    services.add_to_cart(user=buyer, sku_public_id=big.public_id, quantity=50)
    services.merge_session_cart(session_key="anon-6", user=buyer)
    assert _quantities(user=buyer) == {big.public_id: 99}


def test_merge_up_to_exactly_the_stock(buyer, sku):
    services.add_to_cart(session_key="anon-7", sku_public_id=sku.public_id, quantity=4)
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=6)
    services.merge_session_cart(session_key="anon-7", user=buyer)
    assert _quantities(user=buyer) == {sku.public_id: 10}


def test_merge_of_a_sold_out_sku_keeps_one(buyer, sku):
    """A line of a sold-out SKU is kept at the minimum (1): the cart shows it as a problem
    rather than dropping what the visitor chose."""
    services.add_to_cart(session_key="anon-8", sku_public_id=sku.public_id, quantity=3)
    SKU.objects.filter(pk=sku.pk).update(stock=0)
    assert services.merge_session_cart(session_key="anon-8", user=buyer) == 1
    assert _quantities(user=buyer) == {sku.public_id: 1}


def test_merge_skips_the_users_own_products(merchant, sku, other_sku):
    services.add_to_cart(session_key="anon-10", sku_public_id=sku.public_id, quantity=2)
    services.add_to_cart(session_key="anon-10", sku_public_id=other_sku.public_id, quantity=1)
    assert services.merge_session_cart(session_key="anon-10", user=merchant) == 1
    assert _quantities(user=merchant) == {other_sku.public_id: 1}
    assert not Cart.objects.filter(session_key="anon-10").exists()


def test_merge_of_an_unknown_session_changes_nothing(buyer, sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=2)
    assert services.merge_session_cart(session_key="never-seen", user=buyer) == 0
    assert _quantities(user=buyer) == {sku.public_id: 2}


def test_an_anonymous_visitor_sets_and_removes_lines(sku, other_sku):
    services.add_to_cart(session_key="anon-11", sku_public_id=sku.public_id, quantity=1)
    services.add_to_cart(session_key="anon-11", sku_public_id=other_sku.public_id, quantity=1)
    line = services.set_cart_quantity(
        session_key="anon-11", sku_public_id=sku.public_id, quantity=3
    )
    assert (line.sku, line.quantity) == (sku, 3)
    services.remove_from_cart(session_key="anon-11", sku_public_id=other_sku.public_id)
    assert _quantities(session_key="anon-11") == {sku.public_id: 3}


def test_set_quantity_returns_the_line_of_that_sku_among_several(buyer, sku, other_sku):
    services.add_to_cart(user=buyer, sku_public_id=sku.public_id, quantity=1)
    services.add_to_cart(user=buyer, sku_public_id=other_sku.public_id, quantity=1)
    line = services.set_cart_quantity(user=buyer, sku_public_id=other_sku.public_id, quantity=2)
    assert (line.sku, line.quantity) == (other_sku, 2)
    assert _quantities(user=buyer) == {sku.public_id: 1, other_sku.public_id: 2}


def test_a_merchant_cannot_set_a_quantity_of_their_own_product(merchant, sku):
    """A line of one's own product cannot be added, but one may be there (the shop was bought
    or changed hands after it was added): changing its quantity is refused as adding is."""
    CartLine.objects.create(cart=services.cart_for(user=merchant), sku=sku, quantity=1)
    error = _refusal(
        services.set_cart_quantity, user=merchant, sku_public_id=sku.public_id, quantity=2
    )
    assert error.code == "own_shop"
    assert CartLine.objects.get().quantity == 1


def test_something_that_is_not_a_user_is_no_user():
    cart = services.cart_for(user=object(), session_key="anon-12")
    assert cart.session_key == "anon-12" and cart.user is None
