"""What an LLM role is shown of the run: plain dicts and lists for the prompt templates, and the notes
a role leaves in the store (its hand-offs, the faults it handled)."""

from __future__ import annotations

from typing import Any

from archlab.agents.context import RunContext
from archlab.agents.llm.calls import CallSite
from archlab.agents.state import DiscoveryState
from archlab.store import Candidate, agent_log
from archlab.store import records as store

SHOWN = 8  # leaderboard rows and failures shown to a role
ERROR = 600  # characters of an error or traceback shown


def site(state: DiscoveryState, role: str) -> CallSite:
    return CallSite(role=role, step=state.get("step", 0), attempt=state.get("attempt", 0))


def note(ctx: RunContext, state: DiscoveryState, role: str, kind: str, data: dict[str, Any]) -> None:
    with ctx.session() as session:
        agent_log.add_note(session=session, run_id=ctx.run_id, step=state.get("step", 0),
                           attempt=state.get("attempt", 0), role=role, kind=kind, data=data)


def fault(ctx: RunContext, state: DiscoveryState, role: str, status: str, message: str, fallback: str) -> None:
    """A call that gave no usable answer, and what the role did instead: counted in the report."""
    note(ctx, state, role, "fault", {"status": status, "error": message[:ERROR], "fallback": fallback})


def population(ctx: RunContext) -> dict[str, Any]:
    """Leaderboard, Pareto front over (the objective, params), lineage and recent failures of the run."""
    objective = ctx.objective
    with ctx.session() as session:
        board = store.leaderboard(session=session, run_id=ctx.run_id)
        candidates = store.run_candidates(session=session, run_id=ctx.run_id)
    rows = [_row(c, objective.value(e.metrics), objective.key(e.metrics)) for c, e in board]
    failed = [c for c in candidates if c.status in ("failed", "rejected")][-SHOWN:]
    return {"board": rows[:SHOWN], "pareto": pareto(rows), "evaluated": len(rows),
            "objective": f"{objective.label}, {objective.direction}",
            "failures": [{"id": c.id, "status": c.status, "summary": c.summary,
                          "reason": (c.reason or "")[:ERROR]} for c in failed]}


def pareto(rows: list[dict]) -> list[dict]:
    """Rows no other row beats on both the objective ("key": higher is better) and parameters (fewer)."""
    front = [r for r in rows if not any(o["key"] >= r["key"] and o["params"] <= r["params"]
                                        and (o["key"], o["params"]) != (r["key"], r["params"])
                                        for o in rows)]
    return sorted(front, key=lambda r: r["params"])


def _row(c: Candidate, val: float, key: float) -> dict:
    return {"id": c.id, "val": round(val, 4), "key": key, "params": c.params or 0, "origin": c.origin,
            "parents": list(c.parent_ids), "summary": c.summary or "(free-form module)"}


def candidates_by_id(ctx: RunContext, ids: list[str]) -> list[Candidate]:
    with ctx.session() as session:
        found = [store.get_candidate(session=session, candidate_id=i) for i in ids]
    return [c for c in found if c is not None]


def concept_claims(ctx: RunContext, ids: list[int]) -> list[dict]:
    if ctx.memory is None:
        return []
    details = [ctx.memory.get(i) for i in ids]
    return [{"id": d.concept.id, "claim": d.concept.claim, "kind": str(d.concept.kind),
             "confidence": round(d.concept.confidence, 2)} for d in details if d is not None]


def task_view(ctx: RunContext) -> dict[str, Any]:
    spec = ctx.task.spec
    return {"name": ctx.task.name, "kind": str(getattr(spec, "kind", "")), "input_shape": list(spec.input_shape),
            "num_outputs": spec.num_outputs, "max_params": spec.max_params, "steps": ctx.steps}
