"""Feature vectors for the learned predictors: a candidate's derivation encoding, its cost, its zero-cost
proxies and, when present, early learning-curve points.

Every candidate gives a `FeatureRecord`; `FeatureTable` fixes the column names from the records it is
fitted on (so later records map onto the same columns) and turns records into a matrix. Heavy-tailed
values (params, FLOPs, synflow reaches 1e40) are compressed with a signed log, sign(v)·log(1 + |v|).
A value that is missing stays NaN: the tree models handle NaN themselves, the GP sees column medians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

COST_KEYS = ("params", "flops")


@dataclass(frozen=True)
class FeatureRecord:
    encoding: Sequence[float] = ()  # Space.encode(tree); empty for a free-form candidate
    cost: dict[str, float] = field(default_factory=dict)
    proxies: dict[str, float | None] = field(default_factory=dict)
    curve: dict[str, float] = field(default_factory=dict)  # e.g. {"loss@25": 1.9, "val@200": 0.7}

    def named(self) -> dict[str, float]:
        values = {f"enc{i}": float(v) for i, v in enumerate(self.encoding)}
        values |= {f"cost:{k}": signed_log(self.cost.get(k)) for k in COST_KEYS if k in self.cost}
        values |= {f"proxy:{k}": signed_log(v) for k, v in self.proxies.items()}
        values |= {f"curve:{k}": float(v) for k, v in self.curve.items()}
        return values


def signed_log(value: float | None) -> float:
    if value is None or not math.isfinite(value):
        return math.nan
    return math.copysign(math.log1p(abs(value)), value)


@dataclass
class FeatureTable:
    names: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, records: Sequence[FeatureRecord], groups: Sequence[str] = ("enc", "cost", "proxy", "curve")
            ) -> FeatureTable:
        """Columns: every feature some record has, of the chosen groups, in a stable order."""
        seen: dict[str, None] = {}
        for record in records:
            for name in record.named():
                if name.split(":")[0].rstrip("0123456789") in groups:
                    seen.setdefault(name)
        return cls(sorted(seen, key=_order))

    def matrix(self, records: Sequence[FeatureRecord]) -> np.ndarray:
        rows = [record.named() for record in records]
        return np.array([[row.get(name, math.nan) for name in self.names] for row in rows], dtype=np.float64)


def _order(name: str) -> tuple[int, int | str]:
    if name.startswith("enc"):
        return 0, int(name[3:])
    return 1, name
