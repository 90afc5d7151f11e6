"""What the run page reads from the store besides the run's view (archlab.report.run_view): the parts that change
while the run goes on, which its live endpoint sends again."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException
from sqlmodel import Session, col, select

from archlab.run.lifecycle import run_state
from archlab.store import Evaluation, Run
from archlab.store import records as store
from archlab.store.agent_log import Idea
from archlab.store.steering import SteerAction, history


@dataclass
class RunSnapshot:
    run: Run
    state: str  # as lifecycle.run_state says: a run whose process died is interrupted
    evaluations: list[Evaluation]  # newer than the `after` asked for, oldest first
    steering: list[SteerAction]
    ideas: list[Idea]
    last_id: int = field(init=False)  # the newest evaluation's id, for the next poll

    def __post_init__(self) -> None:
        self.last_id = self.evaluations[-1].id if self.evaluations else 0


def get_run_or_404(session: Session, run_id: str) -> Run:
    run = store.get_run(session=session, run_id=run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r} in this workspace")
    return run


def snapshot(session: Session, run_id: str, after: int = 0) -> RunSnapshot:
    """The run's state, its evaluations newer than `after` (an evaluation id), steering and ideas."""
    run = get_run_or_404(session, run_id)
    references = [c.id for c in store.run_references(session=session, run_id=run_id)]  # not the search's
    evals = session.exec(select(Evaluation).where(Evaluation.run_id == run_id, col(Evaluation.id) > after,
                                                  col(Evaluation.candidate_id).not_in(references))
                         .order_by(col(Evaluation.id))).all()
    ideas = session.exec(select(Idea).where(Idea.run_id == run_id).order_by(col(Idea.id))).all()
    return RunSnapshot(run=run, state=run_state(run), evaluations=list(evals),
                       steering=list(history(session=session, run_id=run_id)), ideas=list(ideas))
