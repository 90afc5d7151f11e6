"""Evaluate node: train an accepted candidate at the run's fidelity through the sandbox; with candidates in
flight (agents/evaluation/inflight.py), hand it to the training pipeline and go on proposing."""

from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.evaluation import inflight
from archlab.agents.evaluation.cascade import run_cascade
from archlab.agents.evaluation.stages import run_train
from archlab.agents.state import DiscoveryState, Verdict
from archlab.store import records as store

log = logging.getLogger(__name__)


def evaluate(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    if ctx.pipeline is not None:  # candidates in flight: training runs beside the next proposals
        return inflight.advance(ctx, state, lambda candidate_id: train(ctx, candidate_id))
    train(ctx, Verdict.model_validate(state["verdict"]).candidate_id)
    return {}


def train(ctx: RunContext, candidate_id: str) -> None:
    """Train the candidate (or run the cascade) and settle its status; safe to run beside other work."""
    with ctx.session() as session:
        candidate = store.get_candidate(session=session, candidate_id=candidate_id)
    if ctx.evaluation.cascade.enabled:
        cascade_step(ctx, candidate)
        return
    evaluation = run_train(ctx, candidate)
    ok = evaluation.status == "ok"
    candidate.status = "evaluated" if ok else "failed"
    candidate.reason = None if ok else f"train {evaluation.status}: {evaluation.error}"
    with ctx.session() as session:
        store.upsert_candidate(session=session, candidate=candidate)
    if ok:
        log.info("candidate %s: %s %.4f in %.1fs", candidate.id, ctx.objective.short,
                 ctx.objective.value(evaluation.metrics), evaluation.wall_s)
    else:
        log.info("candidate %s failed training: %s", candidate.id, candidate.reason)


def cascade_step(ctx: RunContext, candidate) -> dict:
    """Screen, predict, train at rising fidelities and confirm, as far as the candidate earns."""
    outcome = run_cascade(ctx, candidate)
    if outcome.failed:
        candidate.status, candidate.reason = ("evaluated" if outcome.trained else "failed"), outcome.failed
    elif outcome.trained:
        candidate.status, candidate.reason = "evaluated", None
    else:
        candidate.status, candidate.reason = "rejected", f"cascade: {outcome.stopped}"
    with ctx.session() as session:
        store.upsert_candidate(session=session, candidate=candidate)
    return {}
