"""The discount arithmetic for any subtotal and any valid coupon terms."""

from hypothesis import given
from hypothesis import strategies as st

from shoploop.core.money import MAX_PRICE_FEN
from shoploop.coupons.models import MAX_PERCENT_OFF, MIN_PERCENT_OFF, Coupon
from shoploop.coupons.pricing import discount_for

subtotals = st.integers(min_value=1, max_value=MAX_PRICE_FEN)
amounts = st.integers(min_value=1, max_value=MAX_PRICE_FEN)


@given(
    subtotal=subtotals,
    percent=st.integers(min_value=MIN_PERCENT_OFF, max_value=MAX_PERCENT_OFF),
    cap=amounts,
)
def test_percentage_discount_is_the_floor_capped_and_within_the_subtotal(subtotal, percent, cap):
    coupon = Coupon(kind=Coupon.Kind.PERCENT, percent_off=percent, max_discount_fen=cap)
    discount = discount_for(coupon=coupon, subtotal_fen=subtotal)
    assert isinstance(discount, int)
    assert 0 <= discount <= min(cap, subtotal)
    # Floor: the exact share is never exceeded, and it is reached unless the cap applies.
    assert discount * 100 <= subtotal * percent
    assert discount == cap or (discount + 1) * 100 > subtotal * percent


@given(subtotal=subtotals, amount=amounts)
def test_fixed_discount_is_the_amount_or_the_whole_subtotal(subtotal, amount):
    coupon = Coupon(kind=Coupon.Kind.FIXED, amount_off_fen=amount)
    assert discount_for(coupon=coupon, subtotal_fen=subtotal) == min(amount, subtotal)
