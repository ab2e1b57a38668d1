"""Provably fair cuts: commit to a bargain's seed at the start, reveal it at the end, recompute.

Every cut is a function of the bargain's secret seed (cuts.py). From the first moment the bargain
page shows a commitment to that seed, the SHA-256 hex digest of it; the seed itself stays secret
while the bargain runs (knowing it would tell everyone the cuts still to come). Once the bargain
has ended (bought or expired) the seed is revealed, and anyone can check that its digest is the
commitment shown all along and that every recorded help cut exactly what the seed gives for its
position. Reads only: nothing here writes.
"""

import hashlib
from dataclasses import dataclass, field

from shoploop.deals.bargains import cuts
from shoploop.deals.bargains.models import Bargain

# A bargain whose outcome is final. A buying one can still fall back to bargaining (an unpaid
# order), so its seed stays secret until it is bought.
ENDED_STATES = (Bargain.State.BOUGHT, Bargain.State.EXPIRED)


def seed_commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def seed_revealed(bargain: Bargain) -> bool:
    return bargain.state in ENDED_STATES


@dataclass(frozen=True)
class HelpCheck:
    position: int
    recorded_fen: int
    recomputed_fen: int

    @property
    def matches(self) -> bool:
        return self.recorded_fen == self.recomputed_fen


@dataclass
class Proof:
    commitment: str
    revealed: bool
    version: int
    helpers: int
    total_cut_fen: int
    seed: str | None = None
    checks: list[HelpCheck] = field(default_factory=list)

    @property
    def seed_matches_commitment(self) -> bool | None:
        return None if self.seed is None else seed_commitment(self.seed) == self.commitment

    @property
    def all_match(self) -> bool | None:
        """None until the seed is revealed; then True only if the seed opens the commitment and
        every help's recorded cut is the recomputed one."""
        if self.seed is None:
            return None
        return bool(self.seed_matches_commitment) and all(check.matches for check in self.checks)


def bargain_proof(*, bargain: Bargain) -> Proof:
    campaign = bargain.campaign
    proof = Proof(
        commitment=seed_commitment(bargain.seed),
        revealed=seed_revealed(bargain),
        version=bargain.cuts_version,
        helpers=campaign.helpers_needed,
        total_cut_fen=campaign.total_cut_fen,
    )
    if not proof.revealed:
        return proof
    proof.seed = bargain.seed
    sequence = cuts.cut_sequence(
        seed=bargain.seed,
        helpers=campaign.helpers_needed,
        total=campaign.total_cut_fen,
        version=bargain.cuts_version,
    )
    for position, cut_fen in bargain.helps.order_by("position").values_list("position", "cut_fen"):
        recomputed = sequence[position - 1] if 1 <= position <= len(sequence) else 0
        proof.checks.append(HelpCheck(position, cut_fen, recomputed))
    return proof
