"""The learned predictors: each maps a feature matrix to a mean and a standard deviation per row.

- `GaussianProcess`: scikit-learn's GP regressor, a constant times a Matérn-5/2 kernel plus white
  noise, on standardised features (NaN -> the column's median), targets normalised; the posterior
  standard deviation is its uncertainty.
- `BoostedTrees`: scikit-learn's HistGradientBoostingRegressor (handles NaN itself), bagged: each of
  `bags` models is fitted on a bootstrap sample; the bags' mean and spread are the prediction and its
  uncertainty.
- `RidgeProxies`: a Bayesian ridge regression (scikit-learn's BayesianRidge) on standardised features; with few
  points it is the member that does not overfit, and it carries the proxies' linear signal.

A constant column and all-NaN columns are dropped at fit time. `weights` (FeatureTable.column_weights)
scale the standardised columns of the GP and the ridge: the derivation encoding's many one-hot columns
would otherwise outweigh the few measured ones in the GP's distances. The trees need no weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.linear_model import BayesianRidge
from threadpoolctl import threadpool_limits

Prediction = tuple[np.ndarray, np.ndarray]  # (mean, std), one per row


@dataclass
class _Standardiser:
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    median: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: np.ndarray | None = None

    def fit(self, x: np.ndarray, weights: np.ndarray | None = None) -> _Standardiser:
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        with np.errstate(all="ignore"):
            self.median = np.nan_to_num(np.nanmedian(x, axis=0)) if len(x) else np.zeros(x.shape[1])
            filled = np.where(np.isnan(x), self.median, x)
            self.mean, std = filled.mean(axis=0), filled.std(axis=0)
        self.keep = std > 1e-12
        self.scale = np.where(self.keep, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(x), self.median, x)
        z = (filled - self.mean) / self.scale
        if self.weights is not None:
            z = z * self.weights
        return z[:, self.keep]


class GaussianProcess:
    name = "gp"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._scaler = _Standardiser()
        self._gp: GaussianProcessRegressor | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> GaussianProcess:
        z = self._scaler.fit(x, weights).transform(x)
        width = np.sqrt(max(1, z.shape[1]))  # distances grow with the number of standardised features
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(length_scale=width, length_scale_bounds=(1e-1 * width,
                                                                                                  1e2 * width),
                                                           nu=2.5) + WhiteKernel(0.1, (1e-5, 1.0))
        with warnings.catch_warnings():
            # A hyperparameter at its bound is a finding about the data, not a fault; it is not worth a line.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=1,
                                                random_state=self.seed).fit(z, y)
        return self

    def predict(self, x: np.ndarray) -> Prediction:
        assert self._gp is not None, "fit first"
        mean, std = self._gp.predict(self._scaler.transform(x), return_std=True)
        return mean, std


class BoostedTrees:
    name = "gbt"

    def __init__(self, bags: int = 3, seed: int = 0) -> None:
        self.bags, self.seed = bags, seed
        self._models: list[HistGradientBoostingRegressor] = []

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> BoostedTrees:
        rng = np.random.default_rng(self.seed)
        leaf = max(2, min(20, len(y) // 10))  # the default 20 would make every tree a constant on few points
        self._models = []
        for bag in range(self.bags):
            idx = rng.integers(0, len(y), len(y)) if self.bags > 1 else np.arange(len(y))
            model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                                  min_samples_leaf=leaf, l2_regularization=1.0,
                                                  random_state=self.seed + bag)
            with threadpool_limits(1):  # OpenMP threads on a few hundred rows only fight over the cores
                self._models.append(model.fit(x[idx], y[idx]))
        return self

    def predict(self, x: np.ndarray) -> Prediction:
        with threadpool_limits(1):
            preds = np.stack([m.predict(x) for m in self._models])  # (bags, rows)
        return preds.mean(axis=0), preds.std(axis=0)


class RidgeProxies:
    name = "ridge"

    def __init__(self) -> None:
        self._scaler = _Standardiser()
        self._model = BayesianRidge()

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> RidgeProxies:
        self._model.fit(self._scaler.fit(x, weights).transform(x), y)
        return self

    def predict(self, x: np.ndarray) -> Prediction:
        mean, std = self._model.predict(self._scaler.transform(x), return_std=True)
        return mean, std
