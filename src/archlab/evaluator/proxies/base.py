"""What every zero-cost proxy shares: the batch it scores on and the parts of a model it reads.

A proxy scores an untrained model, `fn(model, batch) -> float`, from one batch: no training step.
Models are any `nn.Module` (conv, linear, attention, recurrence) for either task kind. "Weight
layers" are the Conv and Linear modules, the layers the proxies' papers score; a proxy that needs the
gradient with respect to the input takes it at the input for float inputs and at the output of the
first `nn.Embedding` for token inputs. A proxy that cannot apply to a model (no activation modules for
NASWOT, no embedding for token inputs) raises ProxyNotApplicable rather than returning a made-up value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from archlab.evaluator.harness import task_loss
from archlab.evaluator.task import TaskSpec

WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Mish, nn.Hardswish)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class ProxyNotApplicable(Exception):
    """The proxy's definition does not apply to this model; its value is missing, not zero."""


@dataclass(frozen=True)
class ProxyBatch:
    x: torch.Tensor  # (B, *input_shape): floats, or int64 token ids for kind "lm"
    y: torch.Tensor  # (B,) class labels, or (B, T) next tokens
    task: TaskSpec

    def loss(self, model: nn.Module, x: torch.Tensor | None = None) -> torch.Tensor:
        return task_loss(model(self.x if x is None else x), self.y)

    @property
    def labels(self) -> torch.Tensor:
        """One label per sample: the class, or for a sequence the next token after its last position."""
        return self.y if self.y.dim() == 1 else self.y[:, -1]

    def splits(self, parts: int) -> list[ProxyBatch]:
        size = max(1, len(self.x) // parts)
        return [ProxyBatch(self.x[i:i + size], self.y[i:i + size], self.task)
                for i in range(0, size * parts, size) if i < len(self.x)]


def weight_layers(model: nn.Module) -> list[nn.Module]:
    layers = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    if not layers:
        raise ProxyNotApplicable("the model has no Conv or Linear layer")
    return layers


def first_embedding(model: nn.Module) -> nn.Embedding:
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return module
    raise ProxyNotApplicable("token inputs and no nn.Embedding to take the input gradient at")


@contextmanager
def input_leaf(model: nn.Module, x: torch.Tensor, replace: torch.Tensor | None = None
               ) -> Iterator[list[torch.Tensor]]:
    """Makes the model's (continuous) input a leaf that requires grad; yields a list that holds it once a
    forward pass has run. For token inputs the leaf is the first embedding's output, optionally replaced
    by `replace` (B, T, D)."""
    holder: list[torch.Tensor] = []
    if x.is_floating_point():
        holder.append(x.detach().clone().requires_grad_(True))
        yield holder
        return

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        leaf = (output if replace is None else replace.to(output.dtype)).detach().requires_grad_(True)
        holder.append(leaf)
        return leaf

    handle = first_embedding(model).register_forward_hook(hook)
    try:
        yield holder
    finally:
        handle.remove()


def forward_from_input(model: nn.Module, x: torch.Tensor, holder: list[torch.Tensor]) -> torch.Tensor:
    """Run the model so that its input leaf (see input_leaf) is part of the graph."""
    return model(holder[0] if x.is_floating_point() else x)


def per_sample_input_grads(model: nn.Module, batch: ProxyBatch) -> torch.Tensor:
    """J (B, d): the gradient of each sample's summed outputs with respect to its own input."""
    with input_leaf(model, batch.x) as holder:
        out = forward_from_input(model, batch.x, holder)
        out.sum().backward()  # samples do not interact in eval mode, so row i is sample i's gradient
    return holder[0].grad.reshape(len(batch.x), -1).detach()
