"""The MNIST-1D benchmark: a real offline run, then its best architecture against hand-designed models
and random architectures of the same space, each trained by the task's own harness with the same seeds.

Every training goes through the sandbox and the store like a run's (an evaluation keyed by fingerprint,
task, steps and seed is never repeated, so a second bench run reuses them). The hand-designed models
are the reference models of the MNIST-1D paper (Greydanus 2020, the `mnist1d` package's models.py):
an MLP (100, 100), a CNN (three convolutions of 25 channels, strides 2) and a bidirectional GRU
(6 units) — written here as candidate sources, so they are built, fingerprinted and trained exactly like
a candidate.
"""

from __future__ import annotations

import hashlib
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from archlab.agents.context import RunContext
from archlab.agents.evaluation.stages import run_build, run_train
from archlab.errors import InfraError
from archlab.run import lifecycle
from archlab.run.settings import load_config
from archlab.run.workspace import Workspace
from archlab.store import Candidate
from archlab.store import records as store

MLP = '''
from torch import nn


def build_model(task):
    channels, length = task.input_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * length, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, task.num_outputs))
'''

CNN = '''
from torch import nn


def build_model(task):
    channels, length = task.input_shape
    for kernel in (5, 3, 3):  # each convolution: stride 2, padding 1
        length = (length + 2 - kernel) // 2 + 1
    return nn.Sequential(
        nn.Conv1d(channels, 25, 5, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(25 * length, task.num_outputs))
'''

GRU = '''
import torch
from torch import nn


class BiGRU(nn.Module):
    def __init__(self, channels, length, outputs, hidden=6):
        super().__init__()
        self.gru = nn.GRU(channels, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden * length, outputs)

    def forward(self, x):  # (B, C, L) -> (B, L, C) for the GRU, every step's state into the head
        states, _ = self.gru(x.transpose(1, 2))
        return self.head(torch.flatten(states, 1))


def build_model(task):
    channels, length = task.input_shape
    return BiGRU(channels, length, task.num_outputs)
'''

BASELINES = {"mlp": MLP, "cnn": CNN, "gru": GRU}
# Rejected proposals in a row before a capped search gives up: below the CNN's 5,210 parameters, about four
# in five fresh samples of seq1d are too big (each costs a build, not a training).
CAPPED_ATTEMPTS = 250
RANDOM_DRAWS = 20  # samples drawn per random architecture before the bench gives up on finding one under the cap


@dataclass(frozen=True)
class MnistBenchSettings:
    budget_s: float = 1800.0
    seeds: int = 3
    strategy: str = "local"
    random_samples: int = 8
    task: str = "mnist1d"
    space: str = "seq1d"
    search_seed: int = 0
    steps: int | None = None  # training steps of every model, search included; None: the task's default
    max_params: int | str | None = "cnn"  # the search's parameter cap: below the CNN's ("cnn"), a number, or None


def run_mnist1d_bench(cfg: MnistBenchSettings, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    ws = Workspace.from_env()
    settings = {"task": cfg.task, "space": cfg.space, "budget": cfg.budget_s, "seed": cfg.search_seed,
                "search": {"strategy": cfg.strategy}, "evaluation": {"steps": cfg.steps} if cfg.steps else None}
    cap = _cap(ws, load_config(None, settings), cfg.max_params)
    if cap is not None:  # most fresh samples of the space are above a small cap: rejections are not a stall
        settings["search"] = {**settings["search"], "max_attempts": CAPPED_ATTEMPTS}
    run_cfg = load_config(None, {**settings, "max_params": cap})
    run_id = lifecycle.start_run(ws, run_cfg)
    say(f"search: run {run_id}, strategy {cfg.strategy}, {cfg.budget_s:.0f}s"
        + (f", candidates of at most {cap:,} parameters" if cap else ""))
    lifecycle.execute(ws, run_id, run_cfg)
    ctx = lifecycle.make_context(ws, None, run_cfg)
    try:
        return {**_compare(ws, ctx, run_id, cfg, say), "max_params": cap}
    finally:
        ctx.sandbox.close()


def _cap(ws: Workspace, run_cfg, max_params: int | str | None) -> int | None:
    """The search's parameter cap: one fewer than the hand-designed CNN's ("cnn"; built to count them)."""
    if max_params != "cnn":
        return int(max_params) if max_params is not None else None
    ctx = lifecycle.make_context(ws, None, run_cfg)
    try:
        cnn = _candidate("cnn", CNN)
        build = run_build(ctx, cnn)
    finally:
        ctx.sandbox.close()
    if build.status != "ok":
        raise InfraError(f"the hand-designed CNN, the reference of this benchmark, failed to build: {build.error}")
    return int(cnn.params) - 1


def _compare(ws: Workspace, ctx: RunContext, run_id: str, cfg: MnistBenchSettings,
             say: Callable[[str], None]) -> dict[str, Any]:
    with Session(ws.engine) as session:
        board = store.leaderboard(session=session, run_id=run_id)
    if not board:
        raise InfraError(f"run {run_id} evaluated no candidate in {cfg.budget_s:.0f}s; give it a larger budget")
    seeds = list(range(cfg.seeds))
    models: dict[str, dict[str, Any]] = {}
    for name, source in BASELINES.items():
        say(f"training the hand-designed {name} with seeds {seeds}")
        models[name] = _trained(ctx, _candidate(name, source), seeds)
        say(_line(name, models[name]))
    if "mean" not in models["cnn"]:
        raise InfraError(f"the hand-designed CNN, the reference of this benchmark, failed: {models['cnn']['error']}")
    cnn_params = models["cnn"]["params"]
    best = board[0][0]
    small = next((c for c, _ in board if c.params < cnn_params), None)
    for name, cand in (("best found", best), ("best found < CNN params", small)):
        if cand is not None and (name == "best found" or cand.id != best.id):  # no second row for the same one
            say(f"training the {name} ({cand.id}) with seeds {seeds}")
            models[name] = {**_trained(ctx, cand, seeds), "summary": cand.summary, "candidate_id": cand.id}
            say(_line(name, models[name]))
    models["random (mean)"] = _random_mean(ctx, cfg, say)
    say(_line("random (mean)", models["random (mean)"]))
    return {"task": cfg.task, "space": cfg.space, "strategy": cfg.strategy, "budget_s": cfg.budget_s,
            "run_id": run_id, "seeds": cfg.seeds, "steps": ctx.steps, "evaluated": len(board), "models": models}


def _line(name: str, model: dict[str, Any]) -> str:
    if "mean" not in model:
        return f"  {name}: FAILED ({model['error']})"
    runs = ", ".join(f"{a:.3f}" for a in model["test_acc"])
    return f"  {name}: test {model['mean']:.4f} ± {model['sd']:.4f} ({runs}), {model['params']:,} params"


def _candidate(name: str, source: str) -> Candidate:
    return Candidate(id="b" + hashlib.sha256(source.encode()).hexdigest()[:10], origin="user", source=source,
                     summary=f"hand-designed {name}", rationale="archlab bench mnist1d baseline")


def _trained(ctx: RunContext, cand: Candidate, seeds: list[int]) -> dict[str, Any]:
    """Test accuracy of `cand` trained with each seed (built first when it has no fingerprint yet); a model
    that fails is reported with its error (a timeout on a loaded machine is a finding, not a crash)."""
    if not cand.fingerprint:
        build = run_build(ctx, cand)
        if build.status != "ok":
            return {"params": 0, "error": f"build {build.status}: {build.error}", "summary": cand.summary}
    accs = []
    for seed in seeds:
        ev = run_train(ctx, cand, seed=seed)
        if ev.status != "ok":
            return {"params": int(cand.params), "error": f"seed {seed}: {ev.status}: {ev.error}",
                    "summary": cand.summary}
        accs.append(float(ev.metrics["test_acc"]))
    return {"params": int(cand.params), "test_acc": accs, "mean": statistics.fmean(accs),
            "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0, "summary": cand.summary}


def _random_mean(ctx: RunContext, cfg: MnistBenchSettings, say: Callable[[str], None]) -> dict[str, Any]:
    """The space's random architectures, one training seed each: the bar a search must clear. Under the run's
    parameter cap they are drawn from the part of the space the search could propose: a sample above the
    cap is built (to count it), not trained, and another is drawn, up to RANDOM_DRAWS per architecture."""
    rng = random.Random(f"bench-random-{cfg.search_seed}")
    cap = ctx.task.spec.max_params
    results, drawn, above = [], 0, 0
    while len(results) < cfg.random_samples and drawn < cfg.random_samples * RANDOM_DRAWS:
        drawn += 1
        tree = ctx.space.sample(rng)
        cand = Candidate(id="r" + hashlib.sha256(ctx.space.canonical(tree).encode()).hexdigest()[:10], origin="sample",
                         source=ctx.space.compile(tree), derivation=tree.to_dict(), summary=ctx.space.summary(tree),
                         rationale="archlab bench mnist1d random architecture")
        build = run_build(ctx, cand)
        if build.status != "ok":
            continue
        if cand.params > cap:
            above += 1
            continue
        say(f"training random architecture {len(results) + 1}/{cfg.random_samples}: {cand.summary}")
        ev = run_train(ctx, cand, seed=0)
        if ev.status == "ok":
            results.append((float(ev.metrics["test_acc"]), int(cand.params)))
    under = f" of at most {cap:,} params" if above else ""
    drawn_note = f"{drawn} drawn, {above} above the cap" if above else f"{drawn} drawn"
    if not results:  # e.g. every sample timed out on a loaded machine: report it, keep the other figures
        return {"params": 0, "error": f"no random architecture{under} trained ({drawn_note})",
                "summary": "random architectures", "drawn": drawn, "above_cap": above}
    accs = [a for a, _ in results]
    return {"params": int(statistics.median(p for _, p in results)), "test_acc": accs, "mean": statistics.fmean(accs),
            "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0, "drawn": drawn, "above_cap": above,
            "summary": f"{len(accs)} random architectures{under}, one seed each ({drawn_note}; params: median)"}
