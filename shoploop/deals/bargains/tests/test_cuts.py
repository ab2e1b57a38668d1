"""The cut sequence: proved for random N, start and floor (see cuts.py for the algorithm)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoploop.deals.bargains import cuts


@st.composite
def bargains(draw):
    helpers = draw(st.integers(min_value=1, max_value=100))
    floor = draw(st.integers(min_value=0, max_value=1_000_000))
    start = floor + draw(st.integers(min_value=helpers, max_value=10_000_000))
    seed = draw(st.text(min_size=1, max_size=40))
    return seed, helpers, start, floor


@given(bargains())
@settings(max_examples=300, deadline=None)
def test_every_cut_is_at_least_one_fen_and_they_sum_to_the_cut(bargain):
    seed, helpers, start, floor = bargain
    sequence = cuts.cut_sequence(seed=seed, helpers=helpers, total=start - floor)
    assert len(sequence) == helpers
    assert all(isinstance(cut, int) and cut >= 1 for cut in sequence)
    assert sum(sequence) == start - floor


@given(bargains())
@settings(max_examples=300, deadline=None)
def test_exactly_n_helps_reach_exactly_the_floor(bargain):
    seed, helpers, start, floor = bargain
    price = start
    for position in range(1, helpers + 1):
        price -= cuts.cut_at(seed=seed, helpers=helpers, total=start - floor, position=position)
        if position < helpers:
            assert price > floor
    assert price == floor


@given(bargains())
@settings(max_examples=200, deadline=None)
def test_the_cut_at_a_position_is_a_function_of_seed_n_total_and_position(bargain):
    seed, helpers, start, floor = bargain
    total = start - floor
    first = [
        cuts.cut_at(seed=seed, helpers=helpers, total=total, position=k)
        for k in range(1, helpers + 1)
    ]
    # Asked again in another order (a retried help, another worker): the same cuts.
    again = [
        cuts.cut_at(seed=seed, helpers=helpers, total=total, position=k)
        for k in range(helpers, 0, -1)
    ]
    assert first == list(reversed(again))


@given(bargains())
@settings(max_examples=300, deadline=None)
def test_cuts_never_increase_so_the_first_half_cuts_at_least_as_much(bargain):
    seed, helpers, start, floor = bargain
    sequence = cuts.cut_sequence(seed=seed, helpers=helpers, total=start - floor)
    assert all(a >= b for a, b in itertools.pairwise(sequence))
    half = helpers // 2
    if half:
        first, second = sequence[:half], sequence[-half:]
        assert sum(first) / half >= sum(second) / half


@given(
    st.integers(min_value=2, max_value=30),
    st.integers(min_value=1_000, max_value=100_000),
)
@settings(max_examples=30, deadline=None)
def test_across_seeds_the_mean_cut_decreases_with_the_position(helpers, extra):
    total = helpers + extra
    sums = [0] * helpers
    for seed in range(200):
        for index, cut in enumerate(
            cuts.cut_sequence(seed=str(seed), helpers=helpers, total=total)
        ):
            sums[index] += cut
    assert all(a >= b for a, b in itertools.pairwise(sums))
    assert sums[0] > sums[-1]


def test_different_seeds_give_different_sequences():
    sequences = {tuple(cuts.cut_sequence(seed=str(s), helpers=5, total=5000)) for s in range(50)}
    assert len(sequences) > 40


def test_one_helper_cuts_everything_and_n_equal_to_total_cuts_one_fen_each():
    assert cuts.cut_sequence(seed="x", helpers=1, total=4321) == [4321]
    assert cuts.cut_sequence(seed="x", helpers=7, total=7) == [1] * 7


@pytest.mark.parametrize(("helpers", "total"), [(0, 10), (5, 4), (-1, 10)])
def test_impossible_sequences_are_refused(helpers, total):
    with pytest.raises(ValueError):
        cuts.cut_sequence(seed="x", helpers=helpers, total=total)


def test_position_out_of_range_is_refused():
    with pytest.raises(ValueError):
        cuts.cut_at(seed="x", helpers=3, total=10, position=4)
    with pytest.raises(ValueError):
        cuts.cut_at(seed="x", helpers=3, total=10, position=0)
