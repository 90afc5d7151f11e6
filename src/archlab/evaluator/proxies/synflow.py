"""synflow: Σ W ⊙ ∂R/∂W over every Conv and Linear weight, with R = Σ f(𝟙) the summed output of the
network on an all-ones input after every parameter has been replaced by its absolute value
(Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic flow",
NeurIPS 2020; as a NAS proxy Abdelfattah et al., ICLR 2021). Data-free: no batch is read.

Computed in float64 (the products overflow float32 in deep networks) with batch norm in eval mode:
fresh running statistics (mean 0, variance 1) make it the identity, as the reference implementations'
batch-norm-free copy of the network. For token inputs the ones are fed at the first embedding's output.
The parameters' signs are restored afterwards; the model stays in float64.
"""

from __future__ import annotations

import torch
from torch import nn

from archlab.evaluator.proxies.base import ProxyBatch, first_embedding, forward_from_input, input_leaf, weight_layers


def synflow(model: nn.Module, batch: ProxyBatch) -> float:
    layers = weight_layers(model)
    model.double().eval()
    signs = _linearize(model)
    try:
        model.zero_grad(set_to_none=True)
        x = batch.x[:1]
        if x.is_floating_point():
            ones = torch.ones_like(x, dtype=torch.float64)
            out = model(ones)
        else:
            ones = torch.ones(1, x.shape[1], first_embedding(model).embedding_dim, dtype=torch.float64)
            with input_leaf(model, x, replace=ones.to(x.device)) as holder:
                out = forward_from_input(model, x, holder)
        out.double().sum().backward()
        return float(sum((m.weight.detach() * m.weight.grad).sum() for m in layers if m.weight.grad is not None))
    finally:
        _restore(model, signs)


@torch.no_grad()
def _linearize(model: nn.Module) -> dict[str, torch.Tensor]:
    signs = {}
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            signs[name] = torch.sign(tensor)
            tensor.abs_()
    return signs


@torch.no_grad()
def _restore(model: nn.Module, signs: dict[str, torch.Tensor]) -> None:
    for name, tensor in model.state_dict().items():
        if name in signs:
            tensor.mul_(signs[name])
