"""The evaluator's cascade inside a run: `Cascade` decides, `SandboxRunner` runs each stage through the
sandbox (or the table, for a tabular task) and stores it, and `run_history` rebuilds what the cascade
knows about the run's earlier candidates from the store, so a resumed run decides as before."""

from __future__ import annotations

import logging

from archlab.agents.context import RunContext
from archlab.agents.evaluation.stages import record_prediction, run_screen, run_train
from archlab.errors import ConfigError
from archlab.evaluator.cascade import (
    Cascade,
    CascadeOutcome,
    HistoryEntry,
    StageResult,
    default_rungs,
    screened_features,
)
from archlab.evaluator.config import ConfirmConfig
from archlab.evaluator.predictors import FeatureRecord
from archlab.evaluator.tasks.nb201 import FIDELITIES
from archlab.store import Candidate
from archlab.store import records as store

log = logging.getLogger(__name__)


class SandboxRunner:
    def __init__(self, ctx: RunContext, candidate: Candidate) -> None:
        self.ctx, self.candidate = ctx, candidate

    def screen(self) -> StageResult:
        cfg = self.ctx.evaluation.cascade
        ev = run_screen(self.ctx, self.candidate, proxies=cfg.proxies, proxy_batch=cfg.proxy_batch, cost=cfg.cost)
        return StageResult(ok=ev.status == "ok", metrics=ev.metrics, error=ev.error)

    def train(self, steps: int, seed: int) -> StageResult:
        ev = run_train(self.ctx, self.candidate, steps=steps, seed=seed)
        if ev.status != "ok":
            return StageResult(ok=False, metrics=ev.metrics, error=f"{ev.status}: {ev.error}")
        return StageResult(ok=True, metrics=ev.metrics, score=self.ctx.task.score_of(ev.metrics))

    def record_prediction(self, metrics: dict) -> None:
        record_prediction(self.ctx, self.candidate, metrics)


def make_cascade(ctx: RunContext) -> Cascade:
    cfg = ctx.evaluation.cascade
    rungs = cfg.rungs or default_rungs(ctx.steps, FIDELITIES if ctx.task.tabular else None)
    if ctx.task.tabular:  # the table holds one value per cell, already a mean over seeds: nothing to confirm
        cfg = cfg.model_copy(update={"confirm": ConfirmConfig(top=0, seeds=0)})
    return Cascade(cfg, rungs, chance=ctx.task.chance, seed=ctx.evaluation.seed,
                   surrogate=ctx.evaluation.predictor)


def run_cascade(ctx: RunContext, candidate: Candidate) -> CascadeOutcome:
    history = run_history(ctx, exclude_id=candidate.id)
    outcome = make_cascade(ctx).run(SandboxRunner(ctx, candidate), encoded(ctx, candidate), history)
    log.info("candidate %s: %s (%s)", candidate.id, " → ".join(outcome.stages), outcome.failed or outcome.stopped)
    return outcome


def encoded(ctx: RunContext, candidate: Candidate) -> FeatureRecord:
    """The derivation's encoding; a free-form candidate (or one from another grammar) has none."""
    if candidate.derivation is None:
        return FeatureRecord()
    try:
        return FeatureRecord(encoding=ctx.space.encode(ctx.space.load_tree(candidate.derivation)))
    except ConfigError:
        return FeatureRecord()


def run_history(ctx: RunContext, exclude_id: str) -> list[HistoryEntry]:
    """Every other candidate of the run that the cascade has screened: its features and rung scores."""
    with ctx.session() as session:
        candidates = {c.id: c for c in store.run_candidates(session=session, run_id=ctx.run_id)}
        evaluations = store.run_evaluations(session=session, run_id=ctx.run_id)
    by_candidate: dict[str, list] = {}
    for ev in evaluations:
        if ev.candidate_id != exclude_id and ev.status == "ok" and ev.stage in ("screen", "predict", "train"):
            by_candidate.setdefault(ev.candidate_id, []).append(ev)
    history = []
    for cid, evs in by_candidate.items():
        if cid not in candidates:
            continue
        base = encoded(ctx, candidates[cid])
        screen = next((e for e in evs if e.stage == "screen"), None)
        features = screened_features(base.encoding, screen.metrics if screen else None)
        rungs = {e.fidelity: ctx.task.score_of(e.metrics) for e in evs
                 if e.stage == "train" and e.seed == ctx.evaluation.seed}
        history.append(HistoryEntry(features=features, rung_scores=rungs))
    return history
