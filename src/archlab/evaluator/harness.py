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
from archlab.evaluator.rows import Rows

CURVE_POINTS = 20  # the learning curve keeps this many points whatever the step budget
Batch = tuple[torch.Tensor, torch.Tensor]


OPTIMIZERS = ("adamw", "sgd")
MAX_CHECKS = 100
SCHEDULES = ("onecycle", "cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. The defaults are the built-in tasks' recipe; a task card may set every field."""

    steps: int
    batch_size: int
    lr: float = 1e-2
    weight_decay: float = 1e-4
    seed: int = 0
    optimizer: str = "adamw"  # adamw | sgd (momentum 0.9, Nesterov)
    schedule: str = "onecycle"  # onecycle | cosine (annealed to 0) | constant
    label_smoothing: float = 0.0
    class_weights: tuple[float, ...] | None = None  # the loss' weight per class; None: every class weighs 1
    checks: int = 0  # early stopping: points of training (evenly spaced, the last step among them) to predict at

    @classmethod
    def from_params(cls, params: dict, seed: int) -> TrainConfig:
        """The recipe a train job's params carry (the host puts the task's recipe there); bad values refused."""
        cfg = cls(steps=int(params["steps"]), batch_size=int(params.get("batch_size", 128)),
                  lr=float(params.get("lr", 1e-2)), weight_decay=float(params.get("weight_decay", 1e-4)), seed=seed,
                  optimizer=str(params.get("optimizer", "adamw")), schedule=str(params.get("schedule", "onecycle")),
                  label_smoothing=float(params.get("label_smoothing", 0.0)),
                  class_weights=tuple(float(w) for w in params["class_weights"]) if params.get("class_weights")
                  else None, checks=int(params.get("checks", 0)))
        if cfg.optimizer not in OPTIMIZERS or cfg.schedule not in SCHEDULES:
            raise ValueError(f"unknown optimizer {cfg.optimizer!r} or schedule {cfg.schedule!r}")
        if not 0 <= cfg.checks <= MAX_CHECKS:
            raise ValueError(f"checks must be 0..{MAX_CHECKS}, got {cfg.checks}")
        return cfg

    def check_steps(self) -> list[int]:
        """The steps early stopping predicts at: `checks` evenly spaced ones ending at the last step."""
        if not self.checks:
            return []
        return sorted({max(1, round(self.steps * i / self.checks)) for i in range(1, self.checks + 1)})


@dataclass
class TrainResult:
    final_loss: float
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0


def task_loss(logits: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig | None = None) -> torch.Tensor:
    """Cross-entropy for either task kind: (B, K) vs (B,), or (B, T, V) vs (B, T) over every position;
    with the recipe's label smoothing and class weights for a classification task."""
    if logits.dim() == 3:
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    if cfg is None:
        return nn.functional.cross_entropy(logits, targets)
    weight = (torch.tensor(cfg.class_weights, dtype=logits.dtype, device=logits.device)
              if cfg.class_weights else None)
    return nn.functional.cross_entropy(logits, targets, weight=weight, label_smoothing=cfg.label_smoothing)


def train(model: nn.Module, x: torch.Tensor | Rows, y: torch.Tensor, cfg: TrainConfig,
          on_check: Callable[[int], None] | None = None) -> TrainResult:
    """Classification: random mini-batches of (x, y). x is a tensor on y's device, or the Rows of a large training
    set, read a batch at a time (the same seeded indices pick the same rows either way)."""
    gen = torch.Generator().manual_seed(cfg.seed)

    def sample() -> Batch:
        idx = torch.randint(0, len(x), (cfg.batch_size,), generator=gen)
        if isinstance(x, torch.Tensor):
            idx = idx.to(x.device)
            return x[idx], y[idx]
        return torch.from_numpy(x[idx.numpy()]).to(y.device), y[idx.to(y.device)]

    return fit(model, sample, cfg, on_check)


def train_lm(model: nn.Module, stream: torch.Tensor, length: int, cfg: TrainConfig) -> TrainResult:
    """Language modelling: random windows of length + 1 bytes from the training stream."""
    gen = torch.Generator().manual_seed(cfg.seed)
    offsets = torch.arange(length + 1)

    def sample() -> Batch:
        starts = torch.randint(0, len(stream) - length - 1, (cfg.batch_size, 1), generator=gen)
        window = stream[(starts + offsets).to(stream.device)].long()  # (B, T + 1)
        return window[:, :-1], window[:, 1:]

    return fit(model, sample, cfg)


def optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                               weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def schedule(opt: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate over the job's steps: a lower fidelity runs the whole schedule in fewer steps."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    if cfg.schedule == "constant":
        return torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)


def fit(model: nn.Module, sample: Callable[[], Batch], cfg: TrainConfig,
        on_check: Callable[[int], None] | None = None) -> TrainResult:
    """The recipe's optimiser and schedule (AdamW, one-cycle by default); fails loudly on a non-finite loss.
    on_check(step) runs at cfg.check_steps() (early stopping's predictions), the model back in training mode after."""
    checks = set(cfg.check_steps()) if on_check is not None else set()
    opt = optimizer(model, cfg)
    sched = schedule(opt, cfg)
    every = max(1, cfg.steps // CURVE_POINTS)
    result, window, start = TrainResult(final_loss=math.nan), [], time.perf_counter()
    model.train()
    for step in range(1, cfg.steps + 1):
        xb, yb = sample()
        loss = task_loss(model(xb), yb, cfg)
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
        if step in checks:
            on_check(step)  # type: ignore[misc]
            model.train()
    result.final_loss = result.curve[-1][1]
    result.seconds = time.perf_counter() - start
    return result


def predict(model: nn.Module, x: torch.Tensor | Rows, batch_size: int = 512,
            device: torch.device | None = None) -> list[int]:
    return _logits(model, x, batch_size, device).argmax(dim=1).cpu().tolist()


def predict_proba(model: nn.Module, x: torch.Tensor | Rows, batch_size: int = 512,
                  device: torch.device | None = None) -> list[list[float]]:
    """Softmax probabilities per row, rounded to 6 decimals (for AUROC and log-loss, computed on the host)."""
    probs = torch.softmax(_logits(model, x, batch_size, device).double(), dim=1)
    return torch.round(probs, decimals=6).cpu().tolist()


def _logits(model: nn.Module, x: torch.Tensor | Rows, batch_size: int, device: torch.device | None) -> torch.Tensor:
    """The model's outputs over x in chunks; Rows are read a chunk at a time and moved to `device`."""
    model.eval()
    with torch.no_grad():
        chunks = (x[i:i + batch_size] for i in range(0, len(x), batch_size))
        return torch.cat([model(c if isinstance(c, torch.Tensor) else torch.from_numpy(c).to(device)) for c in chunks])


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
