"""Evaluate node: train an accepted candidate at the run's fidelity through the sandbox."""

from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from archlab.agents.cascade_runner import run_cascade
from archlab.agents.context import RunContext
from archlab.agents.evaluation import run_train
from archlab.agents.state import DiscoveryState, Verdict
from archlab.knowledge import store

log = logging.getLogger(__name__)


def evaluate(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    verdict = Verdict.model_validate(state["verdict"])
    with ctx.session() as session:
        candidate = store.get_candidate(session=session, candidate_id=verdict.candidate_id)
    if ctx.evaluation.cascade.enabled:
        return cascade_step(ctx, candidate)
    evaluation = run_train(ctx, candidate)
    ok = evaluation.status == "ok"
    candidate.status = "evaluated" if ok else "failed"
    candidate.reason = None if ok else f"train {evaluation.status}: {evaluation.error}"
    with ctx.session() as session:
        store.upsert_candidate(session=session, candidate=candidate)
    if ok:
        log.info("candidate %s: val %.3f in %.1fs", candidate.id, evaluation.metrics["val_acc"],
                 evaluation.wall_s)
    else:
        log.info("candidate %s failed training: %s", candidate.id, candidate.reason)
    return {}


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
