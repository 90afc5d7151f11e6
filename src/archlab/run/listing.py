"""The runs of a workspace as plain records (for `archlab runs` and its --json)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from archlab.run.lifecycle import run_state
from archlab.run.workspace import Workspace
from archlab.store import records as store
from archlab.store.objective import of_run


def list_runs(ws: Workspace) -> list[dict[str, Any]]:
    with Session(ws.engine) as session:
        return [_row(session, run) for run in store.list_runs(session=session)]


def _row(session: Session, run) -> dict[str, Any]:
    board = store.leaderboard(session=session, run_id=run.id, limit=1)
    trained = store.run_evaluations(session=session, run_id=run.id, stage="train")
    best = None
    if board:
        cand, ev = board[0]
        objective = of_run(run)
        best = {"candidate_id": cand.id, "objective": objective.metric, "minimize": objective.minimize,
                "metric": objective.short, "val": objective.value(ev.metrics),
                "test": objective.value(ev.metrics, "test"), "val_acc": ev.metrics.get("val_acc"),
                "test_acc": ev.metrics.get("test_acc"), "params": cand.params}
    return {"run_id": run.id, "status": run_state(run), "task": run.task, "space": run.space,
            "evaluations": len(trained), "candidates": len(store.run_candidates(session=session, run_id=run.id)),
            "best": best, "used_s": round(run.used_s, 1), "budget_s": run.budget_s,
            "stop_reason": run.stop_reason, "created_at": run.created_at.isoformat()}
