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
from archlab.evaluator.checks import check_causal, check_forward_backward
from archlab.evaluator.graph import model_graph
from archlab.evaluator.harness import TrainConfig, TrainResult, evaluate_lm, predict, predict_proba, train, train_lm
from archlab.evaluator.proxies import DEFAULT_BATCH, PROXY_SEED, compute_proxies, make_batch
from archlab.evaluator.rows import Rows, load_arrays
from archlab.evaluator.structure import structure_features
from archlab.evaluator.task import TaskSpec

__all__ = ["STAGES", "StageInput", "build_model", "check_causal", "check_forward_backward", "run_stage"]


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

    def data(self) -> dict[str, np.ndarray | Rows] | None:
        """The job's data file (the task's candidate view), or None when the job carries none."""
        name = self.params.get("data")
        if not name:
            return None
        return load_arrays(self.workdir / name)  # a large array as Rows, read as batches need it


def builder(inp: StageInput) -> Callable[[TaskSpec], nn.Module]:
    """Imports the candidate once; each call builds it with the stage's seed, so weights are reproducible."""
    module = load_module(inp.source_path)

    def build(task: TaskSpec) -> nn.Module:
        torch.manual_seed(inp.seed)
        model = module.build_model(task)
        if not isinstance(model, nn.Module):
            raise CandidateBuildError(f"build_model returned {type(model).__name__}, not a torch.nn.Module")
        return model.to(inp.device)

    return build


def build_model(inp: StageInput) -> nn.Module:
    """Import the candidate and build it with a fixed seed, so the same source gives the same weights."""
    return builder(inp)(inp.task)


def build_stage(inp: StageInput) -> dict[str, Any]:
    """Build, fingerprint, count cost, check one forward/backward pass and, for an LM, causality; draw
    the model's graph (evaluator.graph) for the report."""
    model = build_model(inp)
    task = inp.task
    model.eval()  # fingerprints and FLOPs from the fresh initialisation, before BN statistics move
    vocab = task.num_outputs if task.kind == "lm" else None
    fp_probe = fingerprint.probe_hash(model, task.input_shape, inp.device, vocab=vocab)
    traced = fingerprint.trace(model)
    graph, method = fingerprint.traced_hash(model, traced)
    flops = cost.count_flops(model, task.example(1, torch.Generator().manual_seed(0)).to(inp.device))
    check_forward_backward(model, task, inp.device)
    check_causal(model, task, inp.device)
    metrics = {"params": cost.count_params(model), "flops": flops, "graph_hash": graph,
               "graph_method": method, "probe_hash": fp_probe, "device": inp.device.type}
    # The drawing travels as an output: metrics stay numbers, and the host stores it as an artifact.
    return {"metrics": metrics, "outputs": {"graph": model_graph(model, traced)}}


def cost_stage(inp: StageInput) -> dict[str, Any]:
    """Params, FLOPs, latency at batch 1 and the task's batch, training-step memory (and for an LM,
    tokens/s and memory at params['lengths'])."""
    lengths = tuple(int(n) for n in inp.params.get("lengths", ()))
    return {"metrics": cost.cost_profile(builder(inp), inp.task, inp.device, lengths), "outputs": {}}


def proxies_stage(inp: StageInput) -> dict[str, Any]:
    """Zero-cost proxies on one batch: the job's training data when it carries some, else synthetic."""
    build = builder(inp)
    size = int(inp.params.get("proxy_batch", DEFAULT_BATCH[inp.task.kind]))
    seed = int(inp.params.get("proxy_seed", PROXY_SEED))
    batch, source = make_batch(inp.task, size, seed, inp.data())
    report = compute_proxies(lambda: build(inp.task), batch, inp.params.get("proxies"), seed=seed, source=source,
                             device=inp.device)
    return {"metrics": report.as_metrics(), "outputs": {}}


def screen_stage(inp: StageInput) -> dict[str, Any]:
    """Cost, proxies and the traced structure (evaluator.structure) in one job: the cheap first stage of
    the cascade. With params['cost'] false only params and FLOPs are counted (latency and memory timing
    cost more than the proxies on big inputs)."""
    started = time.perf_counter()
    model = build_model(inp).eval()
    if inp.params.get("cost", True):
        cost_metrics = cost_stage(inp)["metrics"]
    else:
        example = inp.task.example(1, torch.Generator().manual_seed(0)).to(inp.device)
        cost_metrics = {"params": cost.count_params(model), "flops": cost.count_flops(model, example)}
    metrics = {**cost_metrics, **proxies_stage(inp)["metrics"]}
    traced = fingerprint.trace(model)
    if traced is not None:  # an untraceable model has no structure features; the predictor does without
        metrics["structure"] = structure_features(traced)
    metrics["stage_seconds"] = time.perf_counter() - started
    return {"metrics": metrics, "outputs": {}}


def train_stage(inp: StageInput) -> dict[str, Any]:
    """Train with the fixed harness for params['steps'] steps; return predictions, not scores."""
    started = time.perf_counter()
    data = inp.data() or {}
    model = build_model(inp)
    cfg = TrainConfig.from_params(inp.params, inp.seed)
    if inp.task.kind == "lm":
        result, outputs = _train_lm(model, inp, data, cfg)
    else:
        checked: list[tuple[int, dict[str, list]]] = []
        result = train(model, _on_device(data["x_train"], inp.device), torch.as_tensor(data["y_train"]).to(inp.device),
                       cfg, on_check=lambda step: checked.append((step, _predictions(model, inp, data))))
        outputs = checked[-1][1] if checked else _predictions(model, inp, data)
        if checked:  # early stopping: the host picks the check by the validation metric
            outputs = {**outputs, "check_steps": [step for step, _ in checked],
                       **{f"{key}_at": [o[key] for _, o in checked] for key in checked[0][1]}}
    metrics = {"train_loss": result.final_loss, "curve": result.curve, "steps": cfg.steps,
               "train_seconds": result.seconds, "stage_seconds": time.perf_counter() - started,
               "device": inp.device.type}
    return {"metrics": metrics, "outputs": outputs}


def _predictions(model: nn.Module, inp: StageInput, data: dict[str, np.ndarray]) -> dict[str, list]:
    """Class predictions for val and test; with params['probabilities'] (a task reporting AUROC or log-loss),
    the class probabilities too."""
    outputs: dict[str, list] = {}
    for split in ("val", "test"):
        x = _on_device(data[f"x_{split}"], inp.device)
        outputs[f"{split}_pred"] = predict(model, x, device=inp.device)
        if inp.params.get("probabilities"):
            outputs[f"{split}_prob"] = predict_proba(model, x, device=inp.device)
    return outputs


def _whole(x: np.ndarray | Rows) -> np.ndarray:
    """A language model's byte stream is sampled at any offset: read whole."""
    return x[:] if isinstance(x, Rows) else x


def _on_device(x: np.ndarray | Rows, device: torch.device) -> torch.Tensor | Rows:
    """A small array as one tensor on the device; Rows stay in the file, read a batch or chunk at a time."""
    return x if isinstance(x, Rows) else torch.as_tensor(x).to(device)


def _train_lm(model: nn.Module, inp: StageInput, data: dict[str, np.ndarray],
              cfg: TrainConfig) -> tuple[TrainResult, dict[str, list]]:
    stream = torch.as_tensor(_whole(data["x_train"])).to(inp.device)
    result = train_lm(model, stream, inp.task.input_shape[0], cfg)
    # Probed again on the trained weights: held-out bytes are scored only by a model that cannot see them.
    check_causal(model, inp.task, inp.device)
    outputs: dict[str, list] = {}
    for split in ("val", "test"):
        nll, pred = evaluate_lm(model, torch.as_tensor(_whole(data[f"x_{split}"])).to(inp.device))
        outputs[f"{split}_nll"], outputs[f"{split}_pred"] = nll, pred
    return result, outputs


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
            check_causal(model, inp.task, inp.device)
            results.append({"sample": name, "ok": True, "params": cost.count_params(model)})
        except Exception as exc:  # noqa: BLE001 - every failure of a sample is a finding, not a crash
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == name]
            line = frames[-1].lineno if frames else None
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            results.append({"sample": name, "ok": False, "error": error, "line": line})
    built = sum(r["ok"] for r in results)
    return {"metrics": {"built": built, "samples": len(results)}, "outputs": {"results": results}}


STAGES: dict[str, Callable[[StageInput], dict[str, Any]]] = {
    "build": build_stage, "cost": cost_stage, "proxies": proxies_stage, "screen": screen_stage,
    "train": train_stage, "grammar_check": grammar_check_stage,
}


def run_stage(name: str, source_path: Path, task: dict[str, Any], params: dict[str, Any],
              workdir: Path) -> dict[str, Any]:
    """Entry point for the sandbox worker."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; known: {', '.join(STAGES)}")
    inp = StageInput(source_path=source_path, task=TaskSpec.model_validate(task), params=params,
                     workdir=workdir)
    return STAGES[name](inp)
