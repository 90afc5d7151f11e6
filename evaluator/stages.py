"""Evaluation stages that run INSIDE the sandbox worker, on an untrusted candidate.

Each stage takes a StageInput and returns {"metrics": {...}, "outputs": {...}}; both must be JSON.
Raising a CandidateError (or anything else) is the candidate's fault; the worker records it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archlab.errors import CandidateBuildError
from archlab.evaluator import cost, fingerprint
from archlab.evaluator.candidate import load_module
from archlab.evaluator.harness import TrainConfig, predict, train
from archlab.evaluator.task import TaskSpec

BUILD_BATCH = 16


@dataclass(frozen=True)
class StageInput:
    source_path: Path
    task: TaskSpec
    params: dict[str, Any]
    workdir: Path

    @property
    def seed(self) -> int:
        return int(self.params.get("seed", 0))

    @property
    def device(self) -> torch.device:
        wanted = self.params.get("device", "auto")
        if wanted == "auto":
            wanted = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(wanted)


def build_model(inp: StageInput) -> nn.Module:
    """Import the candidate and build it with a fixed seed, so the same source gives the same weights."""
    module = load_module(inp.source_path)
    torch.manual_seed(inp.seed)
    model = module.build_model(inp.task)
    if not isinstance(model, nn.Module):
        raise CandidateBuildError(f"build_model returned {type(model).__name__}, not a torch.nn.Module")
    return model.to(inp.device)


def check_forward_backward(model: nn.Module, task: TaskSpec, device: torch.device) -> None:
    """One training-mode forward and backward pass; shapes and finiteness checked."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((BUILD_BATCH, *task.input_shape), generator=gen).to(device)
    y = torch.randint(0, task.num_outputs, (BUILD_BATCH,), generator=gen).to(device)
    model.train()
    out = model(x)
    expected = (BUILD_BATCH, task.num_outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CandidateBuildError(f"output shape {got}, expected {expected}")
    if not torch.isfinite(out).all():
        raise CandidateBuildError("output contains NaN or Inf")
    nn.functional.cross_entropy(out, y).backward()
    if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in model.parameters()):
        raise CandidateBuildError("gradients contain NaN or Inf")


def build_stage(inp: StageInput) -> dict[str, Any]:
    """Build, fingerprint, count cost, and check one forward/backward pass. No training."""
    model = build_model(inp)
    model.eval()  # fingerprints and FLOPs from the fresh initialisation, before BN statistics move
    fp_probe = fingerprint.probe_hash(model, inp.task.input_shape, inp.device)
    graph, method = fingerprint.graph_hash(model)
    flops = cost.count_flops(model, torch.zeros((1, *inp.task.input_shape), device=inp.device))
    check_forward_backward(model, inp.task, inp.device)
    metrics = {"params": cost.count_params(model), "flops": flops, "graph_hash": graph,
               "graph_method": method, "probe_hash": fp_probe, "device": inp.device.type}
    return {"metrics": metrics, "outputs": {}}


def train_stage(inp: StageInput) -> dict[str, Any]:
    """Train with the fixed harness for params['steps'] steps; return predictions, not scores."""
    started = time.perf_counter()
    with np.load(inp.workdir / inp.params.get("data", "data.npz")) as data:
        x, y = (torch.as_tensor(data[k]).to(inp.device) for k in ("x_train", "y_train"))
        x_val, x_test = (torch.as_tensor(data[k]).to(inp.device) for k in ("x_val", "x_test"))
    model = build_model(inp)
    cfg = TrainConfig(steps=int(inp.params["steps"]), batch_size=int(inp.params.get("batch_size", 128)),
                      lr=float(inp.params.get("lr", 1e-2)), seed=inp.seed)
    result = train(model, x, y, cfg)
    outputs = {"val_pred": predict(model, x_val), "test_pred": predict(model, x_test)}
    metrics = {"train_loss": result.final_loss, "curve": result.curve, "steps": cfg.steps,
               "train_seconds": result.seconds, "stage_seconds": time.perf_counter() - started,
               "device": inp.device.type}
    return {"metrics": metrics, "outputs": outputs}


def grammar_check_stage(inp: StageInput) -> dict[str, Any]:
    """Build each sampled derivation of a new grammar and run one forward/backward pass.

    params['samples'] names the candidate files in the work dir. A failure is recorded per sample,
    with the line of the sample file where it happened, so the host can point into the grammar's code.
    """
    results = []
    for name in inp.params["samples"]:
        path = inp.workdir / name
        try:
            model = build_model(StageInput(path, inp.task, inp.params, inp.workdir))
            check_forward_backward(model, inp.task, inp.device)
            results.append({"sample": name, "ok": True, "params": cost.count_params(model)})
        except Exception as exc:  # noqa: BLE001 - every failure of a sample is a finding, not a crash
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == name]
            line = frames[-1].lineno if frames else None
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            results.append({"sample": name, "ok": False, "error": error, "line": line})
    built = sum(r["ok"] for r in results)
    return {"metrics": {"built": built, "samples": len(results)}, "outputs": {"results": results}}


STAGES: dict[str, Callable[[StageInput], dict[str, Any]]] = {
    "build": build_stage, "train": train_stage, "grammar_check": grammar_check_stage,
}


def run_stage(name: str, source_path: Path, task: dict[str, Any], params: dict[str, Any],
              workdir: Path) -> dict[str, Any]:
    """Entry point for the sandbox worker."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; known: {', '.join(STAGES)}")
    inp = StageInput(source_path=source_path, task=TaskSpec.model_validate(task), params=params,
                     workdir=workdir)
    return STAGES[name](inp)
