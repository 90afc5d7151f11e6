"""Analyst, offline form: the child's objective (validation accuracy, bits per byte, ...) against its best
parent's, recorded."""

from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.roles.analyst.lessons import learn
from archlab.agents.state import DiscoveryState, Insight, Verdict
from archlab.store import records as store
from archlab.store.objective import ACCURACY, Objective

log = logging.getLogger(__name__)


def analyse(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    verdict = Verdict.model_validate(state["verdict"])
    with ctx.session() as session:
        board = store.leaderboard(session=session, run_id=ctx.run_id)
        scores = {c.id: ctx.objective.value(e.metrics) for c, e in board}
        child = store.get_candidate(session=session, candidate_id=verdict.candidate_id)
        insight = compare(child.id, child.parent_ids, scores, ctx.objective)
        if insight.delta is not None:
            child.parent_delta = insight.delta
            store.upsert_candidate(session=session, candidate=child)
        store.update_run(session=session, run_id=ctx.run_id, used_s=ctx.elapsed_s())
        insight.concepts = learn(ctx, child, insight, board)
    log.info("%s", insight.claim)
    return {"insight": insight, "step": state.get("step", 0) + 1, "attempt": 0,
            "plan": None, "proposal": None, "verdict": None}


def compare(child_id: str, parent_ids: list[str], scores: dict[str, float],
            objective: Objective = ACCURACY) -> Insight:
    """Pure: how much the child's objective improved on its best scored parent's (positive: better, in the
    metric's own units; for bits per byte a drop is an improvement)."""
    child = scores.get(child_id)
    parents = {p: scores[p] for p in parent_ids if p in scores}
    if child is None:
        return Insight(candidate_id=child_id, parent_id=None, delta=None,
                       claim=f"{child_id} failed to train; no comparison")
    if not parents:
        return Insight(candidate_id=child_id, parent_id=None, delta=None,
                       claim=f"{child_id} (fresh sample) reached val {child:.3f}")
    best = objective.best(parents, key=parents.get)
    delta = objective.improvement(child, parents[best])
    verb = "improved on" if delta > 0 else "did not improve on"
    return Insight(candidate_id=child_id, parent_id=best, delta=delta,
                   claim=f"{child_id} {verb} {best}: val {child:.3f} vs {parents[best]:.3f} ({delta:+.3f})")
