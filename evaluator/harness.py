"""The fixed training harness. Owned by the task, never written by an agent (nanoGPT-style)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from archlab.errors import CandidateTrainError

CURVE_POINTS = 20  # the learning curve keeps this many points whatever the step budget


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


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> TrainResult:
    """AdamW with a one-cycle schedule on random mini-batches; fails loudly on a non-finite loss."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    every = max(1, cfg.steps // CURVE_POINTS)
    result, window, start = TrainResult(final_loss=math.nan), [], time.perf_counter()
    model.train()
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(x), (cfg.batch_size,), generator=gen).to(x.device)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
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
