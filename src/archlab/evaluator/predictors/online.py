"""The predictor as a search uses it: fitted on every result so far, asked about new candidates.

`OnlinePredictor.predict(labelled, targets, queries)` refits the ensemble when the labelled set has
changed (and only then), and falls back to the proxy prior while fewer than `min_points` results exist.
The caller keeps no model between calls: a resumed run rebuilds the same predictor from its stored
evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archlab.evaluator.predictors.ensemble import Ensemble
from archlab.evaluator.predictors.features import FeatureRecord, FeatureTable
from archlab.evaluator.predictors.prior import proxy_prior


@dataclass(frozen=True)
class Forecast:
    mean: np.ndarray
    std: np.ndarray
    source: str  # "model" (fitted on n_train results) or "prior" (cold start: proxy z-scores, std 1)
    n_train: int


class OnlinePredictor:
    def __init__(self, members: Sequence[str] = ("gp", "gbt", "ridge"), min_points: int = 8,
                 prior_proxies: Sequence[str] = ("synflow", "nwot", "zico"), seed: int = 0) -> None:
        self.members, self.min_points, self.prior_proxies, self.seed = list(members), min_points, prior_proxies, seed
        self._fitted_on: tuple | None = None
        self._table: FeatureTable | None = None
        self._model: Ensemble | None = None

    def predict(self, labelled: Sequence[FeatureRecord], targets: Sequence[float],
                queries: Sequence[FeatureRecord], pool: Sequence[FeatureRecord] = ()) -> Forecast:
        """`pool`: every candidate screened so far, labelled or not; the prior standardises over it
        (over the labelled ones alone, the candidates a gate let through would set the bar)."""
        if len(labelled) < self.min_points:
            reference = list(pool) or list(labelled)
            scores = proxy_prior([*reference, *queries], self.prior_proxies)[len(reference):]
            return Forecast(scores, np.ones(len(queries)), "prior", len(labelled))
        self._refit(labelled, targets)
        assert self._table is not None and self._model is not None
        mean, std = self._model.predict(self._table.matrix(queries))
        return Forecast(mean, std, "model", len(labelled))

    def _refit(self, labelled: Sequence[FeatureRecord], targets: Sequence[float]) -> None:
        table = FeatureTable.fit(labelled)
        x, y = table.matrix(labelled), np.asarray(targets, dtype=np.float64)
        key = (tuple(table.names), x.tobytes(), y.tobytes())
        if key == self._fitted_on:
            return
        self._table, self._model = table, Ensemble(self.members, seed=self.seed).fit(x, y, table.column_weights())
        self._fitted_on = key
