"""Store functions: keyword-only, typed, one short transaction each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from archlab.store.models import Candidate, Evaluation, Run, utcnow
from archlab.store.objective import Objective, of_run

OK = "ok"
REFERENCE = "reference"  # Candidate.origin of a hand-designed reference model, trained beside a search
# Candidates whose identity is settled: proposing one again would repeat its result (or its failure).
SETTLED = ("accepted", "evaluated", "failed")


def add_run(*, session: Session, run: Run) -> Run:
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


def get_run(*, session: Session, run_id: str) -> Run | None:
    return session.get(Run, run_id)


def list_runs(*, session: Session) -> Sequence[Run]:
    return session.exec(select(Run).order_by(col(Run.created_at).desc())).all()


def update_run(*, session: Session, run_id: str, **fields) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise KeyError(run_id)
    for name, value in fields.items():
        setattr(run, name, value)
    run.updated_at = utcnow()
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


def upsert_candidate(*, session: Session, candidate: Candidate) -> Candidate:
    """Insert, or overwrite the row with the same id (a resumed step re-records the same candidate)."""
    merged = session.merge(candidate)
    session.commit()
    session.refresh(merged)
    return merged


def get_candidate(*, session: Session, candidate_id: str) -> Candidate | None:
    return session.get(Candidate, candidate_id)


def find_duplicate(*, session: Session, run_id: str | None, graph_hash: str, probe_hash: str, params: int,
                   flops: int, exclude_id: str) -> Candidate | None:
    """A settled candidate of this run with the same graph, or the same cost and behaviour.

    Other runs' candidates are not duplicates: their stored evaluations are reused instead.
    """
    same_graph = col(Candidate.graph_hash) == graph_hash
    same_behaviour = (col(Candidate.probe_hash) == probe_hash) & (col(Candidate.params) == params) & (
        col(Candidate.flops) == flops)
    query = select(Candidate).where(same_graph | same_behaviour, col(Candidate.id) != exclude_id,
                                    col(Candidate.run_id) == run_id, col(Candidate.origin) != REFERENCE,
                                    col(Candidate.status).in_(SETTLED))
    return session.exec(query.order_by(col(Candidate.created_at))).first()


def find_by_derivation(*, session: Session, run_id: str | None, derivation_hash: str,
                       exclude_id: str) -> Candidate | None:
    query = select(Candidate).where(col(Candidate.derivation_hash) == derivation_hash,
                                    col(Candidate.run_id) == run_id, col(Candidate.origin) != REFERENCE,
                                    col(Candidate.id) != exclude_id,
                                    col(Candidate.status).in_(SETTLED))
    return session.exec(query).first()


def get_evaluation(*, session: Session, fingerprint: str, task: str, stage: str, fidelity: int,
                   seed: int) -> Evaluation | None:
    query = select(Evaluation).where(Evaluation.fingerprint == fingerprint, Evaluation.task == task,
                                     Evaluation.stage == stage, Evaluation.fidelity == fidelity,
                                     Evaluation.seed == seed)
    return session.exec(query).first()


def add_evaluation(*, session: Session, evaluation: Evaluation) -> Evaluation:
    """Store an evaluation; if the same key is already stored (a race or a retry), return that one."""
    session.add(evaluation)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = get_evaluation(session=session, fingerprint=evaluation.fingerprint, task=evaluation.task,
                                  stage=evaluation.stage, fidelity=evaluation.fidelity, seed=evaluation.seed)
        assert existing is not None  # the constraint that fired guarantees it
        return existing
    session.refresh(evaluation)
    return evaluation


def run_candidates(*, session: Session, run_id: str, references: bool = False) -> Sequence[Candidate]:
    """The run's candidates, oldest first; with `references`, the reference models it trained are among them."""
    query = select(Candidate).where(Candidate.run_id == run_id)
    if not references:
        query = query.where(Candidate.origin != REFERENCE)
    return session.exec(query.order_by(col(Candidate.created_at))).all()


def run_references(*, session: Session, run_id: str) -> Sequence[Candidate]:
    """The hand-designed reference models the run trained beside its search (agents/evaluation/references.py)."""
    return session.exec(select(Candidate).where(Candidate.run_id == run_id, Candidate.origin == REFERENCE)
                        .order_by(col(Candidate.created_at))).all()


def run_max_params(*, session: Session, run_id: str) -> int | None:
    """The most parameters any built candidate of the run has; None before the first build."""
    return session.exec(select(func.max(Candidate.params)).where(Candidate.run_id == run_id,
                                                                 Candidate.origin != REFERENCE)).one()


def run_evaluations(*, session: Session, run_id: str, stage: str | None = None) -> Sequence[Evaluation]:
    """The rows the run's search recorded, oldest first (its reference models' rows are not among them)."""
    references = select(Candidate.id).where(Candidate.run_id == run_id, Candidate.origin == REFERENCE)
    query = select(Evaluation).where(Evaluation.run_id == run_id, col(Evaluation.candidate_id).not_in(references))
    if stage is not None:
        query = query.where(Evaluation.stage == stage)
    return session.exec(query.order_by(col(Evaluation.created_at))).all()


def candidate_evaluations(*, session: Session, candidate_id: str) -> Sequence[Evaluation]:
    return session.exec(select(Evaluation).where(Evaluation.candidate_id == candidate_id)
                        .order_by(col(Evaluation.created_at))).all()


def leaderboard(*, session: Session, run_id: str, limit: int | None = None
                ) -> list[tuple[Candidate, Evaluation]]:
    """The run's candidates by its objective (store/objective.py) on their ok train evaluations, best first.

    A candidate whose train evaluation was reused from another run still counts for this run.
    """
    objective = of_run(session.get(Run, run_id))
    query = (select(Candidate, Evaluation)
             .join(Evaluation, col(Evaluation.fingerprint) == col(Candidate.fingerprint))
             .where(Candidate.run_id == run_id, Candidate.status == "evaluated", Candidate.origin != REFERENCE,
                    Evaluation.stage == "train", Evaluation.status == OK))
    rows = [(c, e) for c, e in session.exec(query).all() if objective.value(e.metrics) is not None]
    # One row per candidate (its best fidelity), then the best objective first.
    best: dict[str, tuple[Candidate, Evaluation]] = {}
    for cand, ev in rows:
        if cand.id not in best or objective.key(ev.metrics) > objective.key(best[cand.id][1].metrics):
            best[cand.id] = (cand, ev)
    ranked = sorted(best.values(), key=lambda ce: (-objective.key(ce[1].metrics), ce[0].params or 0))
    return ranked[:limit] if limit else ranked


def run_objective(*, session: Session, run_id: str | None) -> Objective:
    """What ranks this run's results (validation accuracy for no run, as for a one-off evaluation)."""
    return of_run(session.get(Run, run_id) if run_id else None)
