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
The unsorted draws (``draws_v1``) carry the "earlier positions heavier" property themselves;
the tests check it there, where sorting cannot make it true by itself.

Versions: a bargain's cuts are recomputed from its seed at each help, so the algorithm a bargain
started with must stay computable until it ends. Each bargain stores ``cuts_version``; every
version ever shipped stays in ``ALGORITHMS`` (never edit one: add a new version and make it
``CURRENT_VERSION``), and ``cut_sequence(version=…)`` picks it.
"""

import hashlib
from collections.abc import Callable

UNIT_BITS = 32


def _unit(seed: str, helpers: int, total: int, index: int) -> int:
    digest = hashlib.sha256(f"{seed}:{helpers}:{total}:{index}".encode()).digest()
    return int.from_bytes(digest[: UNIT_BITS // 8], "big") + 1  # 1 … 2**32


def _check(helpers: int, total: int) -> None:
    if helpers < 1:
        raise ValueError("at least one helper is needed")
    if total < helpers:
        raise ValueError("every help must cut at least 1 fen: total must be >= helpers")


def largest_remainder(rest: int, weights: list[int]) -> list[int]:
    """Share ``rest`` fen in proportion to ``weights``, exactly: each gets its rounded-down share,
    then the fen left by rounding go one each to the largest remainders (ties: earlier first)."""
    weight_sum = sum(weights)
    shares = [rest * weight // weight_sum for weight in weights]
    remainders = [rest * weight % weight_sum for weight in weights]
    left = rest - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


def draws_v1(*, seed: str, helpers: int, total: int) -> list[int]:
    """Version 1's cuts per position before sorting (steps 1-3 above)."""
    _check(helpers, total)
    weights = [_unit(seed, helpers, total, i) * (helpers - i) for i in range(helpers)]
    return [1 + share for share in largest_remainder(total - helpers, weights)]


def cut_sequence_v1(*, seed: str, helpers: int, total: int) -> list[int]:
    return sorted(draws_v1(seed=seed, helpers=helpers, total=total), reverse=True)


# Every version ever used by a bargain; a bargain keeps the one it started with.
ALGORITHMS: dict[int, Callable[..., list[int]]] = {1: cut_sequence_v1}
CURRENT_VERSION = 1


def cut_sequence(
    *, seed: str, helpers: int, total: int, version: int = CURRENT_VERSION
) -> list[int]:
    """The N cuts, largest first; each >= 1 and their sum is exactly ``total``."""
    algorithm = ALGORITHMS.get(version)
    if algorithm is None:
        raise ValueError(f"unknown cut algorithm version {version!r}")
    return algorithm(seed=seed, helpers=helpers, total=total)


def cut_at(
    *, seed: str, helpers: int, total: int, position: int, version: int = CURRENT_VERSION
) -> int:
    """The cut of the help at ``position`` (1-based: the first helper cuts ``cut_at(..., 1)``)."""
    if not 1 <= position <= helpers:
        raise ValueError("position out of range")
    return cut_sequence(seed=seed, helpers=helpers, total=total, version=version)[position - 1]
