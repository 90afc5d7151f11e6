"""After the search: the task's hand-designed reference models (evaluator.references), trained like for like.

Each reference is built and trained through the sandbox like any candidate, with the task's recipe, at the
fidelity of the best candidate's leaderboard result and on every seed the best was trained on at it (the best
is first trained on more seeds there, up to `evaluation.reference_seeds`), so the report compares the same
training on the same splits and seeds. A reference is stored as a candidate of origin
`reference`: it never enters the leaderboard, the population or duplicate checks, and a stored evaluation of
the same model on the same task is reused, as for any candidate.
"""

from __future__ import annotations

import hashlib
import logging

from sqlmodel import select

from archlab.agents.context import RunContext
from archlab.agents.evaluation.stages import run_build, run_train
from archlab.errors import InfraError
from archlab.evaluator.references import reference
from archlab.sandbox.base import JobStatus
from archlab.store import Candidate, Evaluation
from archlab.store import records as store
from archlab.store.records import REFERENCE

log = logging.getLogger(__name__)


def reference_names(ctx: RunContext) -> tuple[str, ...]:
    """The references the run's config asks for: auto (the task's own), none, or a list of names."""
    chosen = ctx.evaluation.references
    if chosen == "auto":
        return tuple(ctx.task.references)
    return () if chosen == "none" else tuple(chosen)


def train_references(ctx: RunContext) -> list[Candidate]:
    """Build and train every reference the run asks for; returns their candidates (failed ones included)."""
    names = reference_names(ctx)
    if not names or ctx.task.tabular or ctx.task.spec.kind != "classify":
        return []
    best, fidelity, seeds = comparison_point(ctx)
    log.info("training %d reference model(s) at %d steps on seed(s) %s", len(names), fidelity,
             ", ".join(map(str, seeds)))
    try:
        if best is not None:  # the search's best, trained on the comparison's seeds it lacks
            for seed in seeds:
                run_train(ctx, best, steps=fidelity, seed=seed)
        return [_train_one(ctx, name, fidelity, seeds) for name in names]
    except InfraError as exc:  # the search's results stand; the report says no reference trained
        log.warning("reference models not trained: %s", exc)
        return []


def comparison_point(ctx: RunContext) -> tuple[Candidate | None, int, list[int]]:
    """The search's best candidate, its leaderboard fidelity and the seeds of the comparison there: those it
    was trained on, then the next ones after the run's seed up to `reference_seeds`."""
    with ctx.session() as session:
        board = store.leaderboard(session=session, run_id=ctx.run_id, limit=1)
        if not board:
            return None, ctx.steps, _more([], ctx.evaluation.seed, ctx.evaluation.reference_seeds)
        best, ev = board[0]
        rows = session.exec(select(Evaluation).where(
            Evaluation.fingerprint == best.fingerprint, Evaluation.task == ctx.task.name,
            Evaluation.stage == "train", Evaluation.fidelity == ev.fidelity, Evaluation.status == "ok")).all()
    return best, ev.fidelity, _more(sorted({r.seed for r in rows}), ctx.evaluation.seed,
                                    ctx.evaluation.reference_seeds)


def _more(seeds: list[int], first: int, count: int) -> list[int]:
    extra = (s for s in range(first, first + 10 * count) if s not in seeds)
    return sorted([*seeds, *[next(extra) for _ in range(max(0, count - len(seeds)))]])


def _train_one(ctx: RunContext, name: str, fidelity: int, seeds: list[int]) -> Candidate:
    ref = reference(name)
    cid = "r" + hashlib.sha256(f"{ctx.run_id}/{REFERENCE}/{name}".encode()).hexdigest()[:10]
    with ctx.session() as session:
        candidate = store.get_candidate(session=session, candidate_id=cid) or Candidate(
            id=cid, run_id=ctx.run_id, origin=REFERENCE, source=ref.source, summary=ref.summary,
            rationale=f"reference model {name}: trained with the task's recipe beside the search")
        candidate = _saved(session, candidate)
    built = run_build(ctx, candidate)
    if built.status != JobStatus.OK:
        candidate.status, candidate.reason = "failed", f"build {built.status}: {built.error}"
    else:
        trained = [run_train(ctx, candidate, steps=fidelity, seed=seed) for seed in seeds]
        failed = [t for t in trained if t.status != JobStatus.OK]
        candidate.status = "failed" if failed else "evaluated"
        candidate.reason = f"train {failed[0].status}: {failed[0].error}" if failed else None
    with ctx.session() as session:
        candidate = _saved(session, candidate)
    log.info("reference %s: %s", name, candidate.status)
    return candidate


def _saved(session, candidate: Candidate) -> Candidate:
    merged = session.merge(candidate)
    session.commit()
    session.refresh(merged)
    session.expunge(merged)  # usable after the session closes
    return merged
