"""Everything known about one run, read in one session: what the report and the web app's pages show.

    view = load_run_view(engine, run_id)      # ConfigError for an unknown run
    roots = lineage(view, top=5)              # ancestors of the top five, as trees with their moves
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from archlab.agents.grammar_intake import load_workspace_space
from archlab.agents.roles.critic.offline import candidate_id
from archlab.errors import ConfigError
from archlab.memory.concept_store import RunChange, run_changes
from archlab.spaces import Space
from archlab.store import Candidate, Evaluation, Run, agent_log
from archlab.store import records as store
from archlab.store.agent_log import AgentNote, LLMCall
from archlab.store.concepts import Concept
from archlab.store.evidence import Evidence
from archlab.store.objective import Objective, of_run
from archlab.store.retrieval_log import RetrievalLog, run_retrievals

MAX_ATTEMPTS = 64  # attempts searched when matching a candidate id back to its (step, attempt)
# The offline coder and the strategies end a rationale with how the candidate was made.
_HOW = re.compile(r"\((?:mutation: (?P<mutation>[\w-]+)|strategy (?P<strategy>[\w-]+)|(?P<sample>fresh sample))\)\s*$")


@dataclass
class RunView:
    run: Run
    candidates: list[Candidate]  # oldest first
    evaluations: list[Evaluation]  # the rows this run recorded, oldest first
    reused: list[Evaluation]  # rows other runs recorded for this run's fingerprints (results it reused)
    leaderboard: list[tuple[Candidate, Evaluation]]  # best objective first
    notes: list[AgentNote]  # the LLM roles' plans, proposals, verdicts, insights, faults
    calls: list[LLMCall]
    usage: tuple[int, float, float]  # LLM tokens, dollars, seconds
    changes: list[RunChange]  # concepts the run created or found evidence for
    evidence: list[Evidence]  # evidence naming this run's candidates
    concepts: dict[int, Concept]  # every concept the changes, evidence and retrievals name
    retrievals: list[RetrievalLog]
    space: Space | None  # the run's search space; None when this workspace cannot load it any more
    references: list[Candidate] = field(default_factory=list)  # hand-designed models trained beside the search
    reference_evaluations: list[Evaluation] = field(default_factory=list)  # theirs, whichever run recorded them

    @cached_property
    def by_id(self) -> dict[str, Candidate]:
        return {c.id: c for c in self.candidates}

    @cached_property
    def objective(self) -> Objective:
        """What ranks the run: its task's objective and direction."""
        return of_run(self.run)

    @cached_property
    def scores(self) -> dict[str, float]:
        """Each trained candidate's objective on its best train evaluation (the leaderboard's ranking value)."""
        return {c.id: self.objective.value(e.metrics) for c, e in self.leaderboard}

    def children(self, parent_id: str) -> list[Candidate]:
        return [c for c in self.candidates if parent_id in (c.parent_ids or [])]

    def evaluations_of(self, candidate: Candidate) -> list[Evaluation]:
        """Its own rows, and the train rows of the same fingerprint it reused from another run."""
        own = [e for e in self.evaluations if e.candidate_id == candidate.id]
        reused = [e for e in self.reused if candidate.fingerprint and e.fingerprint == candidate.fingerprint]
        return own + reused

    def attempt_of(self, candidate: Candidate) -> int | None:
        """The attempt within its step that proposed it (candidate ids are derived from both)."""
        if candidate.step is None:
            return None
        return next((a for a in range(MAX_ATTEMPTS)
                     if candidate_id(self.run.id, candidate.step, a) == candidate.id), None)


@dataclass
class LineageNode:
    candidate: Candidate
    move: str  # how it was made from its parent (a mutation move, a strategy, an LLM coder's origin)
    score: float | None  # best validation accuracy, None if never trained
    rank: int | None  # leaderboard position when among the top shown
    parents: list[str]  # every parent id; the tree hangs it under the first one shown
    children: list[LineageNode] = field(default_factory=list)


def load_run_view(engine: Engine, run_id: str) -> RunView:
    with Session(engine) as session:
        return read_run_view(session, run_id)


def read_run_view(session: Session, run_id: str) -> RunView:
    run = store.get_run(session=session, run_id=run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r}; `archlab runs` lists them")
    candidates = list(store.run_candidates(session=session, run_id=run_id))
    retrievals = list(run_retrievals(session=session, run_id=run_id))
    changes = run_changes(session=session, run_id=run_id)
    evidence = _evidence(session, [c.id for c in candidates])
    refs = list(store.run_references(session=session, run_id=run_id))
    named = {e.concept_id for e in evidence} | {ch.concept.id for ch in changes} | {
        cid for r in retrievals for cid in r.concept_ids}
    return RunView(
        run=run, candidates=candidates, evaluations=list(store.run_evaluations(session=session, run_id=run_id)),
        reused=_reused(session, run_id, candidates), leaderboard=store.leaderboard(session=session, run_id=run_id),
        notes=list(agent_log.run_notes(session=session, run_id=run_id)),
        calls=list(agent_log.run_calls(session=session, run_id=run_id)),
        usage=agent_log.run_usage(session=session, run_id=run_id), changes=changes, evidence=evidence,
        concepts=_concepts(session, named), retrievals=retrievals, space=_space(session, run.space),
        references=refs, reference_evaluations=_reference_rows(session, run_id, refs))


def lineage(view: RunView, top: int = 5) -> list[LineageNode]:
    """The top candidates and all their ancestors in the run, as trees (roots oldest first)."""
    ranks = {c.id: r for r, (c, _) in enumerate(view.leaderboard[:top], start=1)}
    keep = ancestors(view, ranks)
    nodes = {c.id: LineageNode(candidate=c, move=move_of(c), score=view.scores.get(c.id), rank=ranks.get(c.id),
                               parents=list(c.parent_ids or []))
             for c in view.candidates if c.id in keep}
    roots = []
    for node in nodes.values():
        shown = [p for p in node.parents if p in nodes]
        (nodes[shown[0]].children if shown else roots).append(node)
    return roots


def ancestors(view: RunView, ids: Iterable[str]) -> set[str]:
    """The ids and every ancestor of theirs that the run holds."""
    seen: set[str] = set()
    todo = [i for i in ids if i in view.by_id]
    while todo:
        cid = todo.pop()
        if cid not in seen:
            seen.add(cid)
            todo += [p for p in view.by_id[cid].parent_ids or [] if p in view.by_id]
    return seen


def move_of(candidate: Candidate) -> str:
    """The move that made it: `regrow` (a mutation), `mutate via evolution` (a strategy), else its origin."""
    match = _HOW.search(candidate.rationale or "")
    if match and match["mutation"]:
        return match["mutation"]
    if match and match["strategy"]:
        return f"{candidate.origin} via {match['strategy']}"
    return candidate.origin


def _reused(session: Session, run_id: str, candidates: list[Candidate]) -> list[Evaluation]:
    fingerprints = sorted({c.fingerprint for c in candidates if c.fingerprint})
    if not fingerprints:
        return []
    query = select(Evaluation).where(col(Evaluation.fingerprint).in_(fingerprints), Evaluation.stage == "train",
                                     (col(Evaluation.run_id) != run_id) | col(Evaluation.run_id).is_(None))
    return list(session.exec(query.order_by(col(Evaluation.created_at))).all())


def _reference_rows(session: Session, run_id: str, refs: list[Candidate]) -> list[Evaluation]:
    """The references' rows on this run's task: recorded by this run, or reused from an earlier run's."""
    fingerprints = sorted({c.fingerprint for c in refs if c.fingerprint})
    if not fingerprints:
        return []
    mine = session.exec(select(Evaluation.task).where(col(Evaluation.candidate_id).in_([c.id for c in refs]))).all()
    query = select(Evaluation).where(col(Evaluation.fingerprint).in_(fingerprints), col(Evaluation.task).in_(
        sorted(set(mine) | set(session.exec(select(Evaluation.task).where(Evaluation.run_id == run_id)).all()))))
    return list(session.exec(query.order_by(col(Evaluation.created_at))).all())


def _evidence(session: Session, candidate_ids: list[str]) -> list[Evidence]:
    if not candidate_ids:
        return []
    query = select(Evidence).where(col(Evidence.candidate_id).in_(candidate_ids)).order_by(col(Evidence.id))
    return list(session.exec(query).all())


def _concepts(session: Session, ids: set[int]) -> dict[int, Concept]:
    if not ids:
        return {}
    return {c.id: c for c in session.exec(select(Concept).where(col(Concept.id).in_(sorted(ids)))).all()}


def _space(session: Session, name: str) -> Space | None:
    try:
        return load_workspace_space(session, name)
    except ConfigError:  # a stored grammar since removed or changed: the view goes without it
        return None
