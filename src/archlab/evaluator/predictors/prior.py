"""The cold-start prior: before enough results exist to fit a predictor, candidates are ranked by the
mean z-score of a few zero-cost proxies (signed-log values standardised over the candidates screened so
far). Its scale is z-units, not accuracy, so it ranks and gates but predicts no score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from archlab.evaluator.predictors.features import FeatureRecord, signed_log


def proxy_prior(records: Sequence[FeatureRecord], proxies: Sequence[str]) -> np.ndarray:
    """One score per record; 0 for a record none of whose proxies could be computed."""
    values = np.array([[signed_log(r.proxies.get(name)) for name in proxies] for r in records], dtype=np.float64)
    if values.size == 0:
        return np.zeros(len(records))
    with np.errstate(all="ignore"):
        mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        z = (values - mean) / np.where(std > 0, std, 1.0)
        scores = np.nanmean(z, axis=1)
    return np.nan_to_num(scores)
