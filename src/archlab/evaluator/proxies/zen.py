"""zen: log E‖f(x) − f(x + αε)‖_F + Σ_i log σ̄_i, with x, ε ~ N(0, 1), α = 0.01, every Conv and Linear
weight drawn from N(0, 1), batch norm in training mode, and σ̄_i = sqrt(mean_j σ²_ij) the root mean
batch variance over the channels j of the i-th batch-norm layer (Lin et al., "Zen-NAS: A Zero-Shot NAS
for High-Performance Image Recognition", ICCV 2021). Data-free: the inputs are Gaussian noise.

Generic form: f is the network's output (the paper takes the feature map before global pooling; with
a linear head the output is a random linear map of it), the norm is taken per sample and averaged,
and for token inputs x is the first embedding's output, perturbed there. A copy of the model is used
in float64 (N(0, 1) weights overflow float32 in deep networks); the model itself is untouched.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from archlab.evaluator.proxies.base import NORMS, WEIGHT_LAYERS, ProxyBatch, first_embedding

ALPHA = 0.01
SEED = 0


def zen(model: nn.Module, batch: ProxyBatch) -> float:
    net = copy.deepcopy(model).double().train()
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, WEIGHT_LAYERS):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=torch.float64))
                if m.bias is not None:
                    m.bias.zero_()
    variances: list[float] = []

    def record(module: nn.Module, args: tuple) -> None:
        x = args[0]
        dims = [d for d in range(x.dim()) if d != 1]
        variances.append(float(x.var(dim=dims, unbiased=False).mean()))

    handles = [m.register_forward_pre_hook(record) for m in net.modules() if isinstance(m, NORMS)]
    try:
        with torch.no_grad():
            clean, noisy = _outputs(net, batch, gen)
    finally:
        for handle in handles:
            handle.remove()
    delta = (clean - noisy).reshape(len(clean), -1).norm(dim=1).mean()
    bn_terms = variances[: len(variances) // 2]  # the clean pass's layers (the noisy pass repeats them)
    return float(torch.log(delta)) + sum(0.5 * math.log(v) for v in bn_terms if v > 0)


def _outputs(net: nn.Module, batch: ProxyBatch, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = batch.x
    if x.is_floating_point():
        base = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device)
        noise = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.device)
        return net(base), net(base + ALPHA * noise)
    width = first_embedding(net).embedding_dim
    shape = (*x.shape, width)
    base = torch.randn(shape, generator=gen, dtype=torch.float64).to(x.device)
    noise = torch.randn(shape, generator=gen, dtype=torch.float64).to(x.device)
    return _embedded(net, x, base), _embedded(net, x, base + ALPHA * noise)


def _embedded(net: nn.Module, tokens: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    handle = first_embedding(net).register_forward_hook(lambda module, args, output: hidden)
    try:
        return net(tokens)
    finally:
        handle.remove()
