"""The fixed training harness. Owned by the task, never written by an agent (nanoGPT-style)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from archlab.errors import CandidateTrainError

CURVE_POINTS = 20  # the learning curve keeps this many points whatever the step budget
Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    batch_size: int
    lr: float = 1e-2
    weight_decay: float = 1e-4
    seed: int = 0


@dataclass
class TrainResult:
    final_loss: float
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0


def task_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for either task kind: (B, K) vs (B,), or (B, T, V) vs (B, T) over every position."""
    if logits.dim() == 3:
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return nn.functional.cross_entropy(logits, targets)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> TrainResult:
    """Classification: random mini-batches of (x, y)."""
    gen = torch.Generator().manual_seed(cfg.seed)

    def sample() -> Batch:
        idx = torch.randint(0, len(x), (cfg.batch_size,), generator=gen).to(x.device)
        return x[idx], y[idx]

    return fit(model, sample, cfg)


def train_lm(model: nn.Module, stream: torch.Tensor, length: int, cfg: TrainConfig) -> TrainResult:
    """Language modelling: random windows of length + 1 bytes from the training stream."""
    gen = torch.Generator().manual_seed(cfg.seed)
    offsets = torch.arange(length + 1)

    def sample() -> Batch:
        starts = torch.randint(0, len(stream) - length - 1, (cfg.batch_size, 1), generator=gen)
        window = stream[(starts + offsets).to(stream.device)].long()  # (B, T + 1)
        return window[:, :-1], window[:, 1:]

    return fit(model, sample, cfg)


def fit(model: nn.Module, sample: Callable[[], Batch], cfg: TrainConfig) -> TrainResult:
    """AdamW with a one-cycle schedule; fails loudly on a non-finite loss."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)
    every = max(1, cfg.steps // CURVE_POINTS)
    result, window, start = TrainResult(final_loss=math.nan), [], time.perf_counter()
    model.train()
    for step in range(1, cfg.steps + 1):
        xb, yb = sample()
        loss = task_loss(model(xb), yb)
        if not torch.isfinite(loss):
            raise CandidateTrainError(f"training loss became {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        window.append(loss.item())
        if step % every == 0 or step == cfg.steps:
            result.curve.append((step, float(np.mean(window))))
            window = []
    result.final_loss = result.curve[-1][1]
    result.seconds = time.perf_counter() - start
    return result


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> list[int]:
    model.eval()
    with torch.no_grad():
        chunks = [model(x[i:i + batch_size]).argmax(dim=1) for i in range(0, len(x), batch_size)]
    return torch.cat(chunks).cpu().tolist()


def evaluate_lm(model: nn.Module, windows: torch.Tensor, batch_size: int = 32) -> tuple[list[float], list[int]]:
    """Per-window sums of next-byte negative log-likelihood (nats) and the argmax byte at every position."""
    model.eval()
    nll, pred = [], []
    with torch.no_grad():
        for i in range(0, len(windows), batch_size):
            chunk = windows[i:i + batch_size].long()
            logits = model(chunk[:, :-1]).float()  # (B, T, V)
            losses = nn.functional.cross_entropy(logits.transpose(1, 2), chunk[:, 1:], reduction="none")  # (B, T)
            nll += losses.sum(dim=1).tolist()
            pred += logits.argmax(dim=-1).reshape(-1).tolist()
    return nll, pred
