"""Proxies from the loss gradient of the weights at initialisation (Abdelfattah et al. 2021 form:
a value per weight, summed over every Conv and Linear layer).

- grad_norm: Σ_l ‖∂L/∂W_l‖₂ — the per-layer Euclidean norm of the gradient (Abdelfattah et al.,
  "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
- snip: Σ |W ⊙ ∂L/∂W| — connection sensitivity (Lee et al., "SNIP: Single-shot Network Pruning based
  on Connection Sensitivity", ICLR 2019).
- grasp: Σ −W ⊙ (H ∂L/∂W) — gradient signal preservation, with H the Hessian of the loss in the
  weights, computed as the gradient of (∂L/∂W)ᵀ·stopgrad(∂L/∂W) (Wang et al., "Picking Winning
  Tickets Before Training by Preserving Gradient Flow", ICLR 2020).
- l2_norm: Σ_l ‖W_l‖₂ — needs no data (NASLib's l2_norm; Abdelfattah et al. 2021).

L is the task's cross-entropy on the proxy batch, the model in training mode.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from archlab.evaluator.proxies.base import ProxyBatch, weight_layers


def _weight_grads(model: nn.Module, batch: ProxyBatch) -> list[tuple[torch.Tensor, torch.Tensor]]:
    layers = weight_layers(model)
    model.zero_grad(set_to_none=True)
    batch.loss(model).backward()
    return [(m.weight.detach(), m.weight.grad.detach() if m.weight.grad is not None else torch.zeros_like(m.weight))
            for m in layers]


def grad_norm(model: nn.Module, batch: ProxyBatch) -> float:
    return float(sum(g.norm() for _, g in _weight_grads(model, batch)))


def snip(model: nn.Module, batch: ProxyBatch) -> float:
    return float(sum((w * g).abs().sum() for w, g in _weight_grads(model, batch)))


def grasp(model: nn.Module, batch: ProxyBatch) -> float:
    # The fused attention kernels have no double backward; the math kernel computes the same function.
    with sdpa_kernel([SDPBackend.MATH]):
        return _grasp(model, batch)


def _grasp(model: nn.Module, batch: ProxyBatch) -> float:
    weights = [m.weight for m in weight_layers(model)]
    first = torch.autograd.grad(batch.loss(model), weights, allow_unused=True)
    grad_w = [g.detach() if g is not None else torch.zeros_like(w) for g, w in zip(first, weights, strict=True)]
    grad_f = torch.autograd.grad(batch.loss(model), weights, create_graph=True, allow_unused=True)
    z = sum((gw * gf).sum() for gw, gf in zip(grad_w, grad_f, strict=True) if gf is not None)
    if not isinstance(z, torch.Tensor) or not z.requires_grad:
        return 0.0  # no weight reaches the loss twice: the Hessian-gradient product is zero
    hessian_grad = torch.autograd.grad(z, weights, allow_unused=True)
    return float(sum((-w.detach() * hg).sum() for w, hg in zip(weights, hessian_grad, strict=True) if hg is not None))


def l2_norm(model: nn.Module, batch: ProxyBatch) -> float:
    return float(sum(m.weight.detach().norm() for m in weight_layers(model)))
