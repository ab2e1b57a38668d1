import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoploop.core.errors import ValidationFailed
from shoploop.core.money import MAX_PRICE_FEN, format_fen, parse_yuan, validate_fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "¥0.00"), (1, "¥0.01"), (1230, "¥12.30"), (129900, "¥1,299.00"), (-50, "-¥0.50")],
)
def test_format_fen(fen, text):
    assert format_fen(fen) == text


def test_format_fen_refuses_floats():
    with pytest.raises(TypeError):
        format_fen(12.3)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.3", 1230),
        ("12.30", 1230),
        ("¥12.30", 1230),
        ("￥1,299", 129900),
        (" 0.01 ", 1),
    ],
)
def test_parse_yuan_accepts_what_people_type(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "invalid"),
        ("abc", "invalid"),
        ("12.345", "invalid"),
        ("1e3", "invalid"),
        ("-5", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("999999999999", "too_large"),
        ("NaN", "invalid"),
        ("12.3.4", "invalid"),
    ],
)
def test_parse_yuan_rejects_with_a_reason(text, code):
    with pytest.raises(ValidationFailed) as caught:
        parse_yuan(text)
    assert caught.value.fields["price"] == code


def test_parse_yuan_allows_zero_when_asked():
    assert parse_yuan("0", allow_zero=True) == 0


@pytest.mark.parametrize("value", [1.5, "100", True, None])
def test_validate_fen_requires_an_integer(value):
    with pytest.raises(ValidationFailed):
        validate_fen(value)


@given(st.integers(min_value=1, max_value=MAX_PRICE_FEN))
def test_format_then_parse_round_trips(fen):
    assert parse_yuan(format_fen(fen)) == fen
