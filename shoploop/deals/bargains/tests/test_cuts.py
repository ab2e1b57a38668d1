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
def test_the_unsorted_draws_are_each_at_least_one_fen_and_sum_to_the_cut(bargain):
    # On the draws themselves: sorting could hide neither a zero cut nor a wrong sum from the
    # sorted sequence's tests, but it must not be what makes them hold either.
    seed, helpers, start, floor = bargain
    draws = cuts.draws_v1(seed=seed, helpers=helpers, total=start - floor)
    assert len(draws) == helpers
    assert all(isinstance(cut, int) and cut >= 1 for cut in draws)
    assert sum(draws) == start - floor
    # The sequence is exactly these draws, largest first, so it never increases.
    sequence = cuts.cut_sequence(seed=seed, helpers=helpers, total=start - floor)
    assert sequence == sorted(draws, reverse=True)
    assert all(a >= b for a, b in itertools.pairwise(sequence))


@given(
    st.integers(min_value=2, max_value=30),
    st.integers(min_value=1_000, max_value=100_000),
)
@settings(max_examples=30, deadline=None)
def test_across_seeds_earlier_positions_draw_more_before_any_sorting(helpers, extra):
    # The weights (N - i) make early positions heavier on average. Checked on the unsorted
    # draws: on the sorted sequence it would hold for any weights at all.
    total = helpers + extra
    sums = [0] * helpers
    for seed in range(200):
        for index, cut in enumerate(cuts.draws_v1(seed=str(seed), helpers=helpers, total=total)):
            sums[index] += cut
    half = helpers // 2
    assert sum(sums[:half]) > sum(sums[-half:])
    assert sums[0] > sums[-1]


def test_known_answer_for_a_seed():
    # Pinned: changing these numbers changes every open bargain's cuts (add a version instead).
    assert cuts.draws_v1(seed="shoploop", helpers=5, total=10000) == [1154, 3276, 2522, 2621, 427]
    assert cuts.cut_sequence(seed="shoploop", helpers=5, total=10000) == [
        3276,
        2621,
        2522,
        1154,
        427,
    ]
    assert cuts.cut_sequence(
        seed="a1b2c3d4e5f60718293a4b5c6d7e8f90", helpers=12, total=123456, version=1
    ) == [21826, 17444, 15849, 13842, 10979, 10902, 9119, 6650, 5833, 4559, 4220, 2233]
    assert [
        cuts.cut_at(seed="shoploop", helpers=5, total=10000, position=k) for k in range(1, 6)
    ] == [3276, 2621, 2522, 1154, 427]
    # A total this large shares by the weights down to their last unit: a draw that is off by
    # one, or reads fewer bytes of the digest, changes these (small totals round it away).
    assert cuts.draws_v1(seed="shoploop", helpers=4, total=10**15) == [
        240525203975011,
        182171973575950,
        384334301963723,
        192968520485316,
    ]


@pytest.mark.parametrize(
    ("rest", "weights", "shares"),
    [
        # 10·1/6 = 1 r4, 10·2/6 = 3 r2, 10·3/6 = 5 r0: the one fen left goes to the largest
        # remainder (the first), not the largest weight.
        (10, [1, 2, 3], [2, 3, 5]),
        # 7·2/10 = 1 r4, 7·3/10 = 2 r1, 7·5/10 = 3 r5: the largest remainder is the last.
        (7, [2, 3, 5], [1, 2, 4]),
        # Equal remainders: earlier positions first.
        (5, [1, 1, 1], [2, 2, 1]),
        # Nothing left by rounding: no one gets an extra fen.
        (12, [1, 2, 3], [2, 4, 6]),
        (0, [4, 9], [0, 0]),
    ],
)
def test_largest_remainder_rule(rest, weights, shares):
    assert cuts.largest_remainder(rest, weights) == shares


def test_every_version_stays_computable_and_an_unknown_one_is_refused():
    assert cuts.CURRENT_VERSION in cuts.ALGORITHMS
    for version in cuts.ALGORITHMS:
        sequence = cuts.cut_sequence(seed="s", helpers=4, total=100, version=version)
        assert sum(sequence) == 100
    with pytest.raises(ValueError, match="unknown cut algorithm version"):
        cuts.cut_sequence(seed="s", helpers=4, total=100, version=max(cuts.ALGORITHMS) + 1)
    with pytest.raises(ValueError, match="unknown cut algorithm version 0"):
        cuts.cut_at(seed="s", helpers=4, total=100, position=1, version=0)


def test_different_seeds_give_different_sequences():
    sequences = {tuple(cuts.cut_sequence(seed=str(s), helpers=5, total=5000)) for s in range(50)}
    assert len(sequences) > 40


def test_one_helper_cuts_everything_and_n_equal_to_total_cuts_one_fen_each():
    assert cuts.cut_sequence(seed="x", helpers=1, total=4321) == [4321]
    assert cuts.cut_sequence(seed="x", helpers=7, total=7) == [1] * 7


@pytest.mark.parametrize(
    ("helpers", "total", "message"),
    [
        (0, 10, r"^at least one helper is needed$"),
        (-1, 10, r"^at least one helper is needed$"),
        (5, 4, r"^every help must cut at least 1 fen: total must be >= helpers$"),
    ],
)
def test_impossible_sequences_are_refused(helpers, total, message):
    with pytest.raises(ValueError, match=message):
        cuts.cut_sequence(seed="x", helpers=helpers, total=total)
    with pytest.raises(ValueError, match=message):
        cuts.draws_v1(seed="x", helpers=helpers, total=total)


def test_position_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"^position out of range$"):
        cuts.cut_at(seed="x", helpers=3, total=10, position=4)
    with pytest.raises(ValueError, match=r"^position out of range$"):
        cuts.cut_at(seed="x", helpers=3, total=10, position=0)
