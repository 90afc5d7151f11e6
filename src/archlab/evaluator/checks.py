"""Checks of a built model before any training: one forward and backward pass, and causality for LMs.

Both run inside the sandbox on an untrusted model and raise CandidateBuildError with a reason the coder
and the critic can read.
"""

from __future__ import annotations

import torch
from torch import nn

from archlab.errors import CandidateBuildError
from archlab.evaluator.harness import task_loss
from archlab.evaluator.task import TaskSpec

BUILD_BATCH = 16
CAUSAL_BATCH = 4
CAUSAL_SEED = 4321
# Outputs before the cut may move by float noise only (FFT or chunked kernels reorder sums); a leak of
# the future moves them by orders of magnitude more than this, relative to the logits' scale.
CAUSAL_TOLERANCE = 1e-4


def check_forward_backward(model: nn.Module, task: TaskSpec, device: torch.device) -> None:
    """One training-mode forward and backward pass; shapes and finiteness checked."""
    gen = torch.Generator().manual_seed(0)
    x = task.example(BUILD_BATCH, gen).to(device)
    y = task.random_targets(BUILD_BATCH, gen).to(device)
    model.train()
    out = model(x)
    expected = task.output_shape(BUILD_BATCH)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CandidateBuildError(f"output shape {got}, expected {expected}")
    if not out.is_floating_point():
        raise CandidateBuildError(f"output dtype {out.dtype}, expected floating-point logits")
    if not torch.isfinite(out).all():
        raise CandidateBuildError("output contains NaN or Inf")
    task_loss(out, y).backward()
    if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in model.parameters()):
        raise CandidateBuildError("gradients contain NaN or Inf")


def causal_cuts(length: int) -> list[int]:
    """Where the probe changes the future: near the start, inside, and at the last position."""
    return sorted(cut for cut in {1, length // 3, length // 2 + 1, length - 1} if 0 < cut < length)


def check_causal(model: nn.Module, task: TaskSpec, device: torch.device) -> None:
    """Changing the tokens at positions >= t must not change the outputs at positions < t.

    Checked in eval mode and in training mode (with the same random state for both forwards, so that
    dropout draws alike): a model that reads the future only while training leaks as surely, and
    batch norm across positions is such a leak. A model that leaks is rejected.
    """
    if task.kind != "lm":
        return
    gen = torch.Generator().manual_seed(CAUSAL_SEED)
    x = task.example(CAUSAL_BATCH, gen).to(device)
    length = x.shape[1]
    was_training = model.training
    try:
        for training in (False, True):
            model.train(training)
            for cut in causal_cuts(length):
                _probe(model, task, x, cut, gen, training)
    finally:
        model.train(was_training)


def _probe(model: nn.Module, task: TaskSpec, x: torch.Tensor, cut: int, gen: torch.Generator,
           training: bool) -> None:
    changed = x.clone()
    # Every future token changes (shifted by a non-zero amount modulo the vocabulary).
    shift = torch.randint(1, task.num_outputs, changed[:, cut:].shape, generator=gen).to(x.device)
    changed[:, cut:] = (changed[:, cut:] + shift) % task.num_outputs
    with torch.no_grad():
        before = _seeded_forward(model, x)[:, :cut]
        after = _seeded_forward(model, changed)[:, :cut]
    scale = 1.0 + float(before.abs().max())
    moved = float((before - after).abs().max())
    if not moved <= CAUSAL_TOLERANCE * scale:  # `not <=` also catches NaN
        mode = "training" if training else "eval"
        raise CandidateBuildError(
            f"not causal: changing tokens from position {cut} on changed the outputs before it by {moved:.3g} "
            f"({mode} mode); a language model may only read positions up to the one it predicts from")


def _seeded_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(CAUSAL_SEED)
        return model(x).float()
