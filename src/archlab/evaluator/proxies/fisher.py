"""fisher: Σ_layers Σ_channels ½·mean_batch[(Σ_positions a ⊙ ∂L/∂a)²] over the output activations a of
every Conv and Linear layer — the Fisher information of removing a channel (Theis et al., "Faster
gaze prediction with dense networks and Fisher pruning", 2018; as a NAS proxy Turner et al.,
"BlockSwap", ICLR 2020, in Abdelfattah et al.'s form). Conv outputs have channels on dim 1 and
positions after it; Linear outputs channels on the last dim and positions (tokens) between.
"""

from __future__ import annotations

import torch
from torch import nn

from archlab.evaluator.proxies.base import ProxyBatch, weight_layers


def fisher(model: nn.Module, batch: ProxyBatch) -> float:
    activations: list[tuple[nn.Module, torch.Tensor]] = []

    def keep(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.retain_grad()
            activations.append((module, output))

    handles = [m.register_forward_hook(keep) for m in weight_layers(model)]
    try:
        batch.loss(model).backward()
    finally:
        for handle in handles:
            handle.remove()
    total = 0.0
    for module, act in activations:
        if act.grad is None:
            continue
        prod = act.detach() * act.grad
        if isinstance(module, nn.Linear):
            prod = prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(dim=1)  # (B, channels)
        else:
            prod = prod.reshape(prod.shape[0], prod.shape[1], -1).sum(dim=2)  # (B, channels)
        total += float((0.5 * prod.pow(2).mean(dim=0)).sum())
    return total
