"""Retrieval: nearest claims by embedding, filtered, re-ranked for diversity (MMR), untested favoured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, or_, select

from archlab.memory.index import VectorIndex
from archlab.store.concepts import Concept, ConceptKind, ConceptPublic, ConceptStatus
from archlab.store.evidence import Evidence

OVERFETCH = 4  # nearest neighbours fetched per result wanted, before filters and MMR thin them
MAX_OVERFETCH = 2000  # beyond this, select the matching ids in SQL first and search among them only


class Filters(BaseModel):
    """A concept scoped to no task (or space) matches any task (or space) filter."""

    model_config = ConfigDict(extra="forbid")

    task: str | None = None
    space: str | None = None
    kind: ConceptKind | None = None
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    include_retired: bool = False

    def clauses(self) -> list:
        found = [col(Concept.confidence) >= self.min_confidence]
        if not self.include_retired:
            found.append(col(Concept.status) == ConceptStatus.active)
        return found + scope_clauses(self.task, self.space, self.kind)


def scope_clauses(task: str | None, space: str | None, kind: str | None) -> list:
    """SQL conditions on a concept's scope: an unscoped concept (task or space None) matches any."""
    found = []
    if kind is not None:
        found.append(col(Concept.kind) == kind)
    if task is not None:
        found.append(or_(col(Concept.task) == task, col(Concept.task).is_(None)))
    if space is not None:
        found.append(or_(col(Concept.space) == space, col(Concept.space).is_(None)))
    return found


@dataclass(frozen=True)
class Hit:
    concept: ConceptPublic
    similarity: float  # cosine similarity of claim and query
    relevance: float  # similarity plus the untested bonus, before diversity
    untested: bool  # no evidence from the run named in favour_untested_in


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: indices chosen greedily by (1-d)*relevance - d*max similarity to chosen."""
    chosen: list[int] = []
    left = list(range(len(relevance)))
    while left and len(chosen) < k:
        if chosen:
            redundancy = (vectors[left] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(left))
        scores = (1 - diversity) * relevance[left] - diversity * redundancy
        chosen.append(left.pop(int(np.argmax(scores))))
    return chosen


def retrieve(*, session: Session, index: VectorIndex, query_vector: np.ndarray, k: int, filters: Filters,
             diversity: float = 0.3, favour_untested_in: str | None = None, untested_bonus: float = 0.1) -> list[Hit]:
    pool = _pool(session, index, query_vector, max(k * OVERFETCH, 20), filters)
    if not pool:
        return []
    rows = list(pool)
    similarity = np.array([pool[cid][1] for cid in rows])
    tested = _tested(session, rows, favour_untested_in) if favour_untested_in else set(rows)
    untested = np.array([cid not in tested for cid in rows])
    relevance = similarity + untested_bonus * untested
    order = mmr(relevance, index.vectors(rows), k, diversity)
    return [Hit(concept=ConceptPublic.model_validate(pool[rows[i]][0]), similarity=float(similarity[i]),
                relevance=float(relevance[i]), untested=bool(untested[i])) for i in order]


def _pool(session: Session, index: VectorIndex, query: np.ndarray, size: int,
          filters: Filters) -> dict[int, tuple[Concept, float]]:
    """Up to `size` concepts passing the filters, nearest first, with their similarity."""
    found = _nearest_passing(session, index, query, size, filters)
    if found is None:  # status or confidence filters exclude most: select those that pass, search among them
        allowed = session.exec(select(Concept.id).where(*filters.clauses())).all()
        found = index.search_among(query[None, :], size, allowed)[0]
    found = found[:size]
    ids = [cid for cid, _ in found]
    concepts = {c.id: c for c in session.exec(select(Concept).where(col(Concept.id).in_(ids)))}
    return {cid: (concepts[cid], sim) for cid, sim in found}


def _nearest_passing(session: Session, index: VectorIndex, query: np.ndarray, size: int,
                     filters: Filters) -> list[tuple[int, float]] | None:
    """Nearest neighbours in scope (selected in the index) whose status and confidence pass (checked in
    SQL), fetching more while too few pass; None once more than MAX_OVERFETCH would be needed."""
    scoped = filters.task is not None or filters.space is not None or filters.kind is not None
    allowed = index.in_scope(filters.task, filters.space, filters.kind) if scoped else None
    available = len(allowed) if allowed is not None else len(index)
    fetch = size
    while True:
        hits = (index.search_among(query[None, :], fetch, allowed) if allowed is not None
                else index.search(query[None, :], fetch))[0]
        ids = [cid for cid, _ in hits]
        passing = set(session.exec(select(Concept.id).where(col(Concept.id).in_(ids), *filters.clauses())).all())
        found = [(cid, sim) for cid, sim in hits if cid in passing]
        if len(found) >= size or len(hits) >= available:
            return found
        if fetch >= MAX_OVERFETCH:
            return None
        fetch = min(fetch * OVERFETCH, MAX_OVERFETCH)


def _tested(session: Session, ids: list[int], run_id: str) -> set[int]:
    query = select(Evidence.concept_id).where(col(Evidence.concept_id).in_(ids), Evidence.run_id == run_id)
    return set(session.exec(query.distinct()).all())
