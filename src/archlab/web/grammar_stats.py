"""How each search space has done in this workspace: per task, its runs, candidates, evaluated
candidates and best validation accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from archlab.store import records as store


@dataclass
class SpaceStat:
    task: str
    runs: int = 0
    candidates: int = 0
    evaluated: int = 0
    best: float | None = None
    best_id: str | None = None


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
        if board and (stat.best is None or board[0][1].metrics["val_acc"] > stat.best):
            stat.best, stat.best_id = board[0][1].metrics["val_acc"], board[0][0].id
    return {space: sorted(tasks.values(), key=lambda t: t.task) for space, tasks in found.items()}
