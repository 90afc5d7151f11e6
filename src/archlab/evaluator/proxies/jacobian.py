"""Proxies from the input Jacobian J (one row per sample: ∂ Σ_k f_k(x_i) / ∂x_i).

- jacob_cov: −Σ_i [log(λ_i + k) + 1/(λ_i + k)], k = 1e-5, over the eigenvalues λ of the correlation
  matrix of J's rows (Mellor et al., "Neural Architecture Search without Training", arXiv v1, 2020):
  inputs the untrained network tells apart have weakly correlated Jacobians.
- epe_nas: Σ_c |Σ_{i,j} log(|Σ_c|_{ij} + k)|, with Σ_c the correlation matrix of the Jacobians of the
  samples of class c (Lopes et al., "EPE-NAS: Efficient Performance Estimation Without Training for
  Neural Architecture Search", ICANN 2021); for more than 100 classes the paper's normalised form
  Σ_c Σ_c' |s_c − s_c'| / C with s_c divided by the class's sample count. For a language model a
  sample's class is the token after its last position.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from archlab.evaluator.proxies.base import ProxyBatch, ProxyNotApplicable, per_sample_input_grads

K = 1e-5


def jacob_cov(model: nn.Module, batch: ProxyBatch) -> float:
    jac = per_sample_input_grads(model, batch).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant row: its correlations are NaN, then 0
        corrs = np.corrcoef(jac)
    eigenvalues = np.linalg.eigvalsh(np.nan_to_num(corrs))  # a constant row's correlation is undefined
    return float(-np.sum(np.log(eigenvalues + K) + 1.0 / (eigenvalues + K)))


def epe_nas(model: nn.Module, batch: ProxyBatch) -> float:
    jac = per_sample_input_grads(model, batch).double().cpu().numpy()
    labels = batch.labels.cpu().numpy()
    many = batch.task.num_outputs > 100
    scores = {}
    for c in np.unique(labels):
        rows = jac[labels == c]
        if len(rows) < 2:
            continue  # one sample has no correlation matrix
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(rows)
        s = float(np.sum(np.log(np.abs(np.nan_to_num(corr)) + K)))
        scores[c] = s / len(rows) if many else s
    if not scores:
        raise ProxyNotApplicable("no class has two samples in the batch")
    if not many:
        return float(sum(abs(s) for s in scores.values()))
    if len(scores) < 2:
        raise ProxyNotApplicable("the normalised form compares classes, and one class has two samples")
    values = np.array(list(scores.values()))
    return float(np.abs(values[:, None] - values[None, :]).sum() / max(1, len(values)))
