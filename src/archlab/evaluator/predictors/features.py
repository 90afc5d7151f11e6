"""Feature vectors for the learned predictors: a candidate's derivation encoding, its cost, the structure of
its traced graph (evaluator.structure), its zero-cost proxies and, when present, early learning-curve
points.

Every candidate gives a `FeatureRecord`; `FeatureTable` fixes the column names from the records it is
fitted on (so later records map onto the same columns) and turns records into a matrix. Heavy-tailed
values (params, FLOPs, synflow reaches 1e40) are compressed with a signed log, sign(v)·log(1 + |v|).
A value that is missing stays NaN: the tree models handle NaN themselves, the GP sees column medians;
but a structure feature a traced record lacks is an op it does not have, so it counts zero.

`column_weights` lets the distance-based members weigh the derivation encoding as a whole like
ENCODING_WEIGHT measured features: its columns are many (31 one-hot columns for NAS-Bench-201, more for
seq1d) and, unweighted, they drown the few that measure the network. On NAS-Bench-201 this lifts
Kendall tau by about 0.01-0.03 at 10-209 training cells (benchmarks/evaluator_predictor_nb201.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

COST_KEYS = ("params", "flops")
ENCODING_WEIGHT = 3.0


@dataclass(frozen=True)
class FeatureRecord:
    encoding: Sequence[float] = ()  # Space.encode(tree); empty for a free-form candidate
    cost: dict[str, float] = field(default_factory=dict)
    proxies: dict[str, float | None] = field(default_factory=dict)
    structure: dict[str, float] = field(default_factory=dict)  # evaluator.structure; empty when not traced
    curve: dict[str, float] = field(default_factory=dict)  # e.g. {"loss@25": 1.9, "val@200": 0.7}

    def named(self) -> dict[str, float]:
        values = {f"enc{i}": float(v) for i, v in enumerate(self.encoding)}
        values |= {f"cost:{k}": signed_log(self.cost.get(k)) for k in COST_KEYS if k in self.cost}
        values |= {f"struct:{k}": float(v) for k, v in self.structure.items()}
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
    def fit(cls, records: Sequence[FeatureRecord], groups: Sequence[str] = ("enc", "cost", "struct", "proxy", "curve")
            ) -> FeatureTable:
        """Columns: every feature some record has, of the chosen groups, in a stable order."""
        seen: dict[str, None] = {}
        for record in records:
            for name in record.named():
                if name.split(":")[0].rstrip("0123456789") in groups:
                    seen.setdefault(name)
        return cls(sorted(seen, key=_order))

    def matrix(self, records: Sequence[FeatureRecord]) -> np.ndarray:
        rows = [(record.named(), bool(record.structure)) for record in records]
        return np.array([[row.get(name, 0.0 if traced and name.startswith("struct:") else math.nan)
                          for name in self.names] for row, traced in rows], dtype=np.float64)

    def column_weights(self) -> np.ndarray:
        """Per column: the encoding's columns sqrt(ENCODING_WEIGHT / their number) when they are more than
        ENCODING_WEIGHT, every other column 1."""
        encoding = sum(name.startswith("enc") for name in self.names)
        scale = math.sqrt(ENCODING_WEIGHT / encoding) if encoding > ENCODING_WEIGHT else 1.0
        return np.array([scale if name.startswith("enc") else 1.0 for name in self.names], dtype=np.float64)


def _order(name: str) -> tuple[int, int | str]:
    if name.startswith("enc"):
        return 0, int(name[3:])
    return 1, name
