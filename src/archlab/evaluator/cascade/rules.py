"""Promotion rules: which results earn the next, more expensive stage.

- `successive_halving(scores, keep)`: of one batch, the best ceil(keep * n) go on (Jamieson and
  Talwalkar 2016; with keep = 1/eta, one rung of Hyperband).
- `promote_on_arrival(score, history, keep, min_history)`: the asynchronous form used while candidates
  arrive one at a time (ASHA, Li et al. 2020): a result goes on when it ranks within the best
  ceil(keep * n) of the n results its rung has seen, itself included; a rung promotes everything
  until it has seen `min_history` results, since a rank among two means little.
Scores are "higher is better"; ties rank in the candidate's favour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    promote: bool
    rank: int  # 1 = best of the rung so far
    of: int  # results the rung has seen, this one included
    reason: str


def quota(n: int, keep: float) -> int:
    return max(1, math.ceil(keep * n - 1e-9))


def successive_halving(scores: Sequence[float], keep: float) -> list[int]:
    """Indices of the scores that go on, best first."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return order[: quota(len(scores), keep)] if scores else []


def promote_on_arrival(score: float, history: Sequence[float], keep: float, min_history: int = 3) -> Decision:
    """history: the rung's earlier results (this one not included)."""
    rank = 1 + sum(other > score for other in history)
    n = len(history) + 1
    if n < min_history:
        return Decision(True, rank, n, f"warm-up: {n} of {min_history} results seen")
    allowed = quota(n, keep)
    if rank <= allowed:
        return Decision(True, rank, n, f"rank {rank} of {n}, within the best {allowed}")
    return Decision(False, rank, n, f"rank {rank} of {n}, outside the best {allowed}")
