"""The figures a benchmark prints, computed from its raw results (so they can be recomputed later)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BUDGETS = (10, 25, 50, 100, 300)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample standard deviation / sqrt(n)); se 0 for one value."""
    arr = np.asarray(values, dtype=np.float64)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return float(arr.mean()), se


def budgets_upto(budget: int) -> list[int]:
    return [b for b in BUDGETS if b < budget] + [budget]


def curve_summary(curves: Sequence[Sequence[float]], budgets: Sequence[int]) -> dict[str, dict[str, float]]:
    """{budget: {mean, se}} of each curve's value after that many queries."""
    out = {}
    for b in budgets:
        mean, se = mean_se([c[min(b, len(c)) - 1] for c in curves])
        out[str(b)] = {"mean": mean, "se": se}
    return out
