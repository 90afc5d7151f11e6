"""Acquisition rules: how much a candidate is worth evaluating, from a predicted mean and uncertainty.

- ucb: mean + kappa * std (upper confidence bound; Srinivas et al. 2010).
- ei: expected improvement over the best score so far, E[max(0, f - best - xi)] with f ~ N(mean, std^2)
  (Jones et al. 1998): (mean - best - xi) * Phi(z) + std * phi(z), z = (mean - best - xi) / std.
- mean: the prediction alone (pure exploitation).
Scores are "higher is better" throughout.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


def ucb(mean: np.ndarray, std: np.ndarray, kappa: float = 1.0) -> np.ndarray:
    return mean + kappa * std


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    gain = mean - best - xi
    safe = np.maximum(std, 1e-12)
    z = gain / safe
    return np.where(std > 1e-12, gain * norm.cdf(z) + std * norm.pdf(z), np.maximum(gain, 0.0))


def acquire(rule: str, mean: np.ndarray, std: np.ndarray, *, best: float | None, kappa: float = 1.0,
            xi: float = 0.0) -> np.ndarray:
    if rule == "ucb":
        return ucb(mean, std, kappa)
    if rule == "ei":
        # With nothing measured yet there is nothing to improve on: rank by the mean.
        return mean if best is None else expected_improvement(mean, std, best, xi)
    if rule == "mean":
        return mean
    raise ValueError(f"unknown acquisition rule {rule!r}; known: ucb, ei, mean")
