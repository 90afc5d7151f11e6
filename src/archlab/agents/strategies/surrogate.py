"""The evaluator's ensemble predictor as a strategy uses it: fitted on the observations so far, asked
about candidates, refitted on a schedule.

Refitting after every result is what a run does (each result costs a training job, a fit is cheap by
comparison); in a tabular simulation a fit costs more than a result, so `refit_fraction` lets the model
be reused until the history has grown by that fraction (BANANAS evaluates in batches for the same reason).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from archlab.agents.strategies.base import Domain, Observation, scored
from archlab.evaluator.cascade.acquisition import acquire
from archlab.evaluator.predictors import Ensemble


@functools.cache
def _threads() -> ThreadpoolController:
    """Found once: each threadpool_limits() call scans the loaded libraries again (tens of ms)."""
    return ThreadpoolController()


@dataclass
class Surrogate:
    members: tuple[str, ...] = ("gp", "gbt", "ridge")
    min_points: int = 8  # below this many results there is no model: callers use the prior
    refit_fraction: float = 0.0  # 0: refit on every new result; 0.1: when the history grew by 10%
    seed: int = 0
    _model: Ensemble | None = field(default=None, repr=False)
    _fitted_n: int = field(default=0, repr=False)
    _cache: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def ready(self, history: Sequence[Observation]) -> bool:
        return len(scored(history)) >= self.min_points

    def predict(self, history: Sequence[Observation], domain: Domain,
                xs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of each candidate's score, from a model fitted on the scored history."""
        done = scored(history)
        due = max(1, math.ceil(self._fitted_n * self.refit_fraction))
        # One BLAS/OpenMP thread: on a few hundred rows more threads only fight over the cores.
        with _threads().limit(limits=1):
            if self._model is None or len(done) - self._fitted_n >= due or len(done) < self._fitted_n:
                y = np.array([o.score for o in done], dtype=np.float64)
                self._model = Ensemble(self.members, seed=self.seed).fit(domain.features([o.x for o in done]), y)
                self._fitted_n, self._cache = len(done), {}
            keys = [domain.key(x) for x in xs]
            missing = {k: x for k, x in zip(keys, xs, strict=True) if k not in self._cache}
            if missing:  # between refits a candidate's prediction does not change: ask only about new ones
                mean, std = self._model.predict(domain.features(list(missing.values())))
                self._cache.update(zip(missing, zip(mean, std, strict=True), strict=True))
        pairs = np.array([self._cache[k] for k in keys], dtype=np.float64).reshape(len(keys), 2)
        return pairs[:, 0], pairs[:, 1]


def rank_by_acquisition(surrogate: Surrogate, history: Sequence[Observation], domain: Domain, xs: Sequence[Any],
                        rule: str, kappa: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order of xs, best first; predicted mean; predicted std)."""
    mean, std = surrogate.predict(history, domain, xs)
    best = max(o.score for o in scored(history))
    value = acquire(rule, mean, std, best=best, kappa=kappa)
    return np.argsort(-value, kind="stable"), mean, std
