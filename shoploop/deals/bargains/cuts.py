"""How a bargain's price falls: the cut each helper makes. Pure functions, no database.

The problem: a bargain starts at ``start`` and must reach exactly ``floor`` after exactly ``N``
helps, each help cutting at least 1 fen, the first helps cutting more than the last ones — and
the cut of the k-th help must not depend on who helps or when, so a retried or replayed help
gives the same cut. So the whole sequence is a function of (seed, N, total) and the k-th help
reads its entry.

Algorithm (``cut_sequence(seed=, helpers=N, total=start - floor)``):

1. Every help gets 1 fen up front; ``rest = total - N`` fen remain to share (``total >= N``).
2. Each position i (0-based) draws a weight ``w_i = u_i * (N - i)``, where ``u_i`` is a
   uniform integer in [1, 2**32] taken from SHA-256 of (seed, N, total, i). The factor
   ``N - i`` makes earlier positions heavier on average; ``u_i`` makes the split random
   (one early help often takes a large share, as buyers expect from a bargain).
3. ``rest`` is shared in proportion to the weights by the largest-remainder method, in exact
   integer arithmetic: position i gets ``rest * w_i // W`` (W = sum of weights), and the
   fen left by rounding (fewer than N) go one each to the largest remainders (ties: earlier
   position first).
4. The cuts are sorted from largest to smallest, so they never increase from one help to
   the next (a stronger form of "earlier cuts larger on average").

Properties (proved by the hypothesis tests in ``tests/test_cuts.py``): every cut >= 1 fen; the
cuts sum exactly to ``total``, so after k < N helps the price is still above the floor (every
remaining cut is >= 1) and after exactly N helps it equals the floor; the sequence is a pure
function of its arguments (no floating point, no global random state); cuts never increase.
"""

import hashlib

UNIT_BITS = 32


def _unit(seed: str, helpers: int, total: int, index: int) -> int:
    digest = hashlib.sha256(f"{seed}:{helpers}:{total}:{index}".encode()).digest()
    return int.from_bytes(digest[: UNIT_BITS // 8], "big") + 1  # 1 … 2**32


def _check(helpers: int, total: int) -> None:
    if helpers < 1:
        raise ValueError("at least one helper is needed")
    if total < helpers:
        raise ValueError("every help must cut at least 1 fen: total must be >= helpers")


def cut_sequence(*, seed: str, helpers: int, total: int) -> list[int]:
    """The N cuts, largest first; each >= 1 and their sum is exactly ``total``."""
    _check(helpers, total)
    rest = total - helpers
    weights = [_unit(seed, helpers, total, i) * (helpers - i) for i in range(helpers)]
    weight_sum = sum(weights)
    shares = [rest * weight // weight_sum for weight in weights]
    remainders = [rest * weight % weight_sum for weight in weights]
    left = rest - sum(shares)
    # Largest remainders first; an earlier position wins a tie so the result is deterministic.
    for index in sorted(range(helpers), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return sorted((1 + share for share in shares), reverse=True)


def cut_at(*, seed: str, helpers: int, total: int, position: int) -> int:
    """The cut of the help at ``position`` (1-based: the first helper cuts ``cut_at(..., 1)``)."""
    if not 1 <= position <= helpers:
        raise ValueError("position out of range")
    return cut_sequence(seed=seed, helpers=helpers, total=total)[position - 1]
