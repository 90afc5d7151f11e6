"""zico: Σ_l log(Σ_{θ ∈ l} E_n|g_θ| / σ_n(g_θ)), over every Conv and Linear layer l, with g_θ the loss
gradient of weight θ on mini-batch n (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of
Variation on Gradients", ICLR 2023): high mean and low variance of the gradients across batches
predict fast, stable training. The proxy batch is cut into N_BATCHES mini-batches; weights whose
gradient never varies (σ = 0) are left out, as in the paper's code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from archlab.evaluator.proxies.base import ProxyBatch, weight_layers

N_BATCHES = 4


def zico(model: nn.Module, batch: ProxyBatch) -> float:
    layers = weight_layers(model)
    grads: list[list[torch.Tensor]] = [[] for _ in layers]
    for part in batch.splits(N_BATCHES):
        model.zero_grad(set_to_none=True)
        part.loss(model).backward()
        for i, m in enumerate(layers):
            if m.weight.grad is not None:
                grads[i].append(m.weight.grad.detach().reshape(-1).clone())
    total = 0.0
    for per_batch in grads:
        if len(per_batch) < 2:
            continue
        g = torch.stack(per_batch)  # (N, weights)
        std = g.std(dim=0)
        keep = std > 0
        if keep.any():
            value = float((g.abs().mean(dim=0)[keep] / std[keep]).sum())
            if value > 0:
                total += math.log(value)
    return total
