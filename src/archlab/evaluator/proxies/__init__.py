"""Zero-cost proxies: scores of an untrained network from one batch, generic over nn.Module.

Each proxy lives in its own module with its formula and paper; `compute_proxies` runs a chosen set on
fresh copies of a model (each proxy changes gradients, weights or batch-norm statistics, so each gets
the model as built, with the same seed), times each, and records what it could not compute and why.
The batch, its size, its seed and whether it holds the task's data or synthetic inputs are recorded
with the values (`ProxyReport`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from archlab.evaluator.proxies.base import ProxyBatch, ProxyNotApplicable
from archlab.evaluator.proxies.fisher import fisher
from archlab.evaluator.proxies.gradients import grad_norm, grasp, l2_norm, snip
from archlab.evaluator.proxies.jacobian import epe_nas, jacob_cov
from archlab.evaluator.proxies.nwot import nwot
from archlab.evaluator.proxies.synflow import synflow
from archlab.evaluator.proxies.zen import zen
from archlab.evaluator.proxies.zico import zico
from archlab.evaluator.task import TaskSpec

ProxyFn = Callable[[nn.Module, ProxyBatch], float]
PROXIES: dict[str, ProxyFn] = {
    "grad_norm": grad_norm, "snip": snip, "grasp": grasp, "fisher": fisher, "jacob_cov": jacob_cov,
    "synflow": synflow, "nwot": nwot, "zen": zen, "epe_nas": epe_nas, "l2_norm": l2_norm, "zico": zico,
}
DATA_FREE = frozenset({"synflow", "zen", "l2_norm"})  # read no batch (zen draws its own Gaussian inputs)
DEFAULT_BATCH = {"classify": 64, "lm": 16}
PROXY_SEED = 0


@dataclass
class ProxyReport:
    values: dict[str, float | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why there is no value
    batch_size: int = 0
    seed: int = PROXY_SEED
    data: str = "synthetic"  # "train": the task's training data; "synthetic": Gaussian inputs, random labels

    def as_metrics(self) -> dict[str, Any]:
        return {"proxies": self.values, "proxy_seconds": self.seconds, "proxy_skipped": self.skipped,
                "proxy_batch": self.batch_size, "proxy_seed": self.seed, "proxy_data": self.data}


def make_batch(task: TaskSpec, batch_size: int, seed: int = PROXY_SEED,
               data: dict[str, np.ndarray] | None = None) -> tuple[ProxyBatch, str]:
    """(batch, its source): random training samples (windows for an LM) when data is given, else
    synthetic inputs of the task's shape with uniformly random labels."""
    gen = torch.Generator().manual_seed(seed)
    if data is None:
        return ProxyBatch(task.example(batch_size, gen), task.random_targets(batch_size, gen), task), "synthetic"
    if task.kind == "lm":
        stream = torch.as_tensor(data["x_train"])
        length = task.input_shape[0]
        starts = torch.randint(0, len(stream) - length - 1, (batch_size, 1), generator=gen)
        window = stream[starts + torch.arange(length + 1)].long()
        return ProxyBatch(window[:, :-1], window[:, 1:], task), "train"
    idx = torch.randint(0, len(data["x_train"]), (batch_size,), generator=gen).numpy()
    x = torch.as_tensor(data["x_train"][idx]).float()
    return ProxyBatch(x, torch.as_tensor(data["y_train"][idx]).long(), task), "train"


def compute_proxies(build: Callable[[], nn.Module], batch: ProxyBatch, names: list[str] | None = None, *,
                    seed: int = PROXY_SEED, source: str = "synthetic",
                    device: torch.device | None = None) -> ProxyReport:
    """Every named proxy (all by default) on a fresh `build()` made after torch.manual_seed(seed)."""
    device = device or torch.device("cpu")
    batch = ProxyBatch(batch.x.to(device), batch.y.to(device), batch.task)
    report = ProxyReport(batch_size=len(batch.x), seed=seed, data=source)
    for name in names or list(PROXIES):
        if name not in PROXIES:
            raise ValueError(f"unknown proxy {name!r}; known: {', '.join(PROXIES)}")
        report.values[name] = _one(name, build, batch, seed, device, report)
    return report


def _one(name: str, build: Callable[[], nn.Module], batch: ProxyBatch, seed: int, device: torch.device,
         report: ProxyReport) -> float | None:
    start = time.perf_counter()
    try:
        torch.manual_seed(seed)
        model = build().to(device).train()
        torch.manual_seed(seed)  # the same random state for whatever the proxy draws (dropout)
        value = PROXIES[name](model, batch)
    except ProxyNotApplicable as exc:
        report.skipped[name] = f"not applicable: {exc}"
        return None
    except Exception as exc:  # noqa: BLE001 - a model a proxy cannot handle still gets the other proxies
        report.skipped[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        return None
    finally:
        report.seconds[name] = time.perf_counter() - start
    if not math.isfinite(value):
        report.skipped[name] = f"non-finite value {value}"
        return None
    return value


__all__ = ["DATA_FREE", "DEFAULT_BATCH", "PROXIES", "ProxyBatch", "ProxyNotApplicable", "ProxyReport",
           "compute_proxies", "make_batch"]
