"""A concept's confidence from its evidence, and when repeated evidence refutes it. Pure functions.

Confidence is the mean of a Beta posterior: the prior counts as PRIOR_STRENGTH observations, and
each independent result adds its weight to the supporting or the contradicting side. Results are
independent when they come from different candidates (several evaluations of one candidate are one
result: its heaviest counts). A result weighs more when it was trained longer and over more seeds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from archlab.store.evidence import Direction, EvidenceBase

PRIOR_STRENGTH = 2.0
REFUTE_MIN_CONTRADICTIONS = 3  # independent contradicting results before a concept can be retired
REFUTE_BELOW = 0.3  # ... and its confidence has fallen below this


@dataclass(frozen=True)
class Tally:
    confidence: float
    supports: int  # independent supporting results
    contradicts: int
    support_weight: float
    contradict_weight: float


def fidelity_weight(fidelity: int) -> float:
    """0.4 for a build-only result, 0.6 at 10 training steps, 0.8 at 100, 1.0 from 1000 on."""
    return min(1.0, 0.4 + 0.2 * math.log10(max(fidelity, 1)))


def seed_weight(seeds: int) -> float:
    """0.5 for one seed, 0.75 for two, 0.875 for three: a second seed matters most."""
    return 1.0 - 0.5 ** max(seeds, 1)


def weight(evidence: EvidenceBase) -> float:
    return fidelity_weight(evidence.fidelity) * seed_weight(evidence.seeds)


def tally(evidence: Iterable[EvidenceBase], prior: float) -> Tally:
    heaviest: dict[tuple[str, Direction], float] = {}
    for item in evidence:
        key = (item.candidate_id, Direction(item.direction))
        heaviest[key] = max(heaviest.get(key, 0.0), weight(item))
    sup = [w for (_, d), w in heaviest.items() if d == Direction.supports]
    con = [w for (_, d), w in heaviest.items() if d == Direction.contradicts]
    confidence = (prior * PRIOR_STRENGTH + sum(sup)) / (PRIOR_STRENGTH + sum(sup) + sum(con))
    return Tally(confidence=confidence, supports=len(sup), contradicts=len(con), support_weight=sum(sup),
                 contradict_weight=sum(con))


def refutation(result: Tally) -> str | None:
    """Why the concept should be retired, or None while the evidence does not refute it."""
    if result.contradicts < REFUTE_MIN_CONTRADICTIONS or result.confidence >= REFUTE_BELOW:
        return None
    return (f"refuted: {result.contradicts} independent results contradict it and {result.supports} support it; "
            f"confidence {result.confidence:.2f} < {REFUTE_BELOW}")
