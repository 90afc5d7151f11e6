"""How each search space has done in this workspace: per task, its runs, candidates, evaluated
candidates and best objective (validation accuracy, bits per byte, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from archlab.store import records as store
from archlab.store.objective import of_run


@dataclass
class SpaceStat:
    task: str
    runs: int = 0
    candidates: int = 0
    evaluated: int = 0
    best: float | None = None
    best_id: str | None = None
    metric: str = "val acc"  # what `best` is (store/objective.py's short name)


def space_stats(session: Session) -> dict[str, list[SpaceStat]]:
    """space name -> one row per task searched in that space."""
    found: dict[str, dict[str, SpaceStat]] = {}
    for run in store.list_runs(session=session):
        stat = found.setdefault(run.space, {}).setdefault(run.task, SpaceStat(task=run.task))
        candidates = store.run_candidates(session=session, run_id=run.id)
        stat.runs += 1
        stat.candidates += len(candidates)
        stat.evaluated += sum(c.status == "evaluated" for c in candidates)
        board = store.leaderboard(session=session, run_id=run.id, limit=1)
        objective = of_run(run)
        if board and (stat.best is None or objective.key(board[0][1].metrics) > objective.oriented(stat.best)):
            stat.best, stat.best_id = objective.value(board[0][1].metrics), board[0][0].id
            stat.metric = objective.short
    return {space: sorted(tasks.values(), key=lambda t: t.task) for space, tasks in found.items()}
