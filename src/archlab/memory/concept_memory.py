"""The concept memory: the store, an embedder and the vector index, behind a few verbs.

add (paraphrases merge into what is stored), add_evidence (confidence recomputed, refuted concepts
retired), retrieve (filtered, diverse, logged for agents), get (a concept with its evidence and links).

The vector index: faiss in this process (index.py), or pgvector inside the server where a PostgreSQL
store has the extension (pgvector_index.py); `vector_index` picks: auto (pgvector where installed),
faiss, or pgvector (an error where the server lacks it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from archlab.errors import ConfigError, StoreError
from archlab.memory import concept_store as cs
from archlab.memory.embedder import Embedder
from archlab.memory.index import VectorIndex
from archlab.memory.paraphrase import decide
from archlab.memory.pgvector_index import PgVectorIndex, open_pgvector
from archlab.memory.retrieve import Filters, Hit, retrieve
from archlab.store.concepts import Concept, ConceptCreate, ConceptLinkPublic, ConceptPublic, LinkKind
from archlab.store.evidence import EvidenceCreate, EvidencePublic
from archlab.store.retrieval_log import LogContext, log_retrieval

log = logging.getLogger(__name__)
NEAREST = 5  # stored claims checked for a paraphrase of a new one
IndexKind = Literal["auto", "faiss", "pgvector"]


@dataclass(frozen=True)
class AddResult:
    concept: ConceptPublic
    action: Literal["created", "merged", "existing"]  # existing: the same uid was already stored
    similar_id: int | None = None  # the stored concept it merged into, or was linked with
    similarity: float | None = None
    link: LinkKind | None = None


@dataclass(frozen=True)
class ConceptDetail:
    concept: ConceptPublic
    evidence: list[EvidencePublic]
    links: list[ConceptLinkPublic]


@dataclass
class _Placed:
    concept: Concept
    action: Literal["created", "merged", "existing"]
    similar_id: int | None = None
    similarity: float | None = None
    link: LinkKind | None = None


class ConceptMemory:
    def __init__(self, engine: Engine, embedder: Embedder,
                 first_use: Callable[[ConceptMemory], object] | None = None, vector_index: IndexKind = "auto") -> None:
        """first_use runs once, before the first add or retrieval (e.g. seeding: it loads the embedder,
        which takes seconds, so a run's first sandbox job need not wait for it)."""
        if vector_index not in get_args(IndexKind):
            raise ConfigError(f"vector_index must be one of {', '.join(get_args(IndexKind))}, not {vector_index!r}")
        self.engine, self.embedder, self.vector_index = engine, embedder, vector_index
        self._index: VectorIndex | PgVectorIndex | None = None
        self._first_use = first_use
        self._lock = threading.RLock()  # the run's progress display and the graph share a context

    def add(self, concept_in: ConceptCreate, *, run_id: str | None = None) -> AddResult:
        return self.add_many([concept_in], run_id=run_id)[0]

    def add_many(self, items: Sequence[ConceptCreate], *, run_id: str | None = None) -> list[AddResult]:
        """Insert claims in one transaction; each merges into a stored paraphrase (or an earlier item)."""
        if not items:
            return []
        self.prepare()
        vectors = self.embedder.embed([item.claim for item in items])
        with self._lock, self._session() as session:
            index = self._synced(session)
            nearest = index.search(vectors, NEAREST)
            placed: list[_Placed] = []
            for j, item in enumerate(items):
                earlier = [(p.concept.id, float(vectors[i] @ vectors[j])) for i, p in enumerate(placed)]
                placed.append(self._place(session, index, item, vectors[j], nearest[j] + earlier, run_id))
            session.commit()
            return [AddResult(ConceptPublic.model_validate(p.concept), p.action, p.similar_id, p.similarity, p.link)
                    for p in placed]

    def add_evidence(self, evidence_in: EvidenceCreate) -> ConceptPublic:
        with self._lock, self._session() as session:
            try:
                concept, _ = cs.add_evidence(session=session, evidence_in=evidence_in)
            except KeyError:
                raise StoreError(f"no concept {evidence_in.concept_id} to add evidence to") from None
            session.commit()
            return ConceptPublic.model_validate(concept)

    def retrieve(self, query: str, *, k: int = 5, filters: Filters | None = None, diversity: float = 0.3,
                 favour_untested_in: str | None = None, log_as: LogContext | None = None) -> list[Hit]:
        """The k concepts most relevant to `query`; logged when made for an agent (log_as)."""
        filters = filters or Filters()
        self.prepare()
        vector = self.embedder.embed([query])[0]
        with self._lock, self._session() as session:
            hits = retrieve(session=session, index=self._synced(session), query_vector=vector, k=k,
                            filters=filters, diversity=diversity, favour_untested_in=favour_untested_in)
            if log_as is not None:
                log_retrieval(session=session, context=log_as, query=query,
                              filters=filters.model_dump(mode="json", exclude_defaults=True),
                              concept_ids=[h.concept.id for h in hits], scores=[round(h.relevance, 4) for h in hits])
        return hits

    def get(self, concept_id: int) -> ConceptDetail | None:
        with self._session() as session:
            concept = cs.get_concept(session=session, concept_id=concept_id)
            if concept is None:
                return None
            return ConceptDetail(
                concept=ConceptPublic.model_validate(concept),
                evidence=[EvidencePublic.model_validate(e)
                          for e in cs.concept_evidence(session=session, concept_id=concept_id)],
                links=[ConceptLinkPublic.model_validate(x)
                       for x in cs.concept_links(session=session, concept_id=concept_id)])

    def count(self) -> int:
        with self._session() as session:
            return cs.count_concepts(session=session)

    def prepare(self) -> None:
        """Run the first-use hook now, if it has not run."""
        with self._lock:
            hook, self._first_use = self._first_use, None
            if hook is not None:
                hook(self)

    def _place(self, session: Session, index: VectorIndex | PgVectorIndex, item: ConceptCreate, vector: np.ndarray,
               near: list[tuple[int, float]], run_id: str | None) -> _Placed:
        if item.uid and (same := cs.get_by_uid(session=session, uid=item.uid)) is not None:
            return _Placed(same, "existing")
        linked: tuple[int, float, LinkKind, bool] | None = None
        for cid, similarity in _best(near):
            existing = cs.get_concept(session=session, concept_id=cid)
            if existing is None:  # an index entry whose insert was rolled back; the next sync drops it
                continue
            decision = decide(existing, item, similarity, self.embedder.merge_threshold)
            if decision.action == "merge":
                return _Placed(cs.merge_into(session=session, concept=existing, concept_in=item), "merged", cid,
                               similarity)
            if decision.link is not None and linked is None:
                linked = (cid, similarity, decision.link, decision.new_is_source)
        concept = cs.insert_concept(session=session, concept_in=item, run_id=run_id)
        cs.store_vector(session=session, concept_id=concept.id, model=self.embedder.name, vector=vector)
        index.add([concept.id], vector[None, :], [(concept.task, concept.space, str(concept.kind))])
        if linked is None:
            return _Placed(concept, "created")
        cid, similarity, kind, new_is_source = linked
        source, target = (concept.id, cid) if new_is_source else (cid, concept.id)
        cs.add_link(session=session, source_id=source, target_id=target, kind=kind, note="found on insert")
        return _Placed(concept, "created", cid, similarity, kind)

    @property
    def index_kind(self) -> str:
        """'faiss' or 'pgvector': the index this memory searches (decided on first use)."""
        return "pgvector" if isinstance(self._open_index(), PgVectorIndex) else "faiss"

    def _open_index(self) -> VectorIndex | PgVectorIndex:
        if self._index is None:
            dim, model = self.embedder.dim, self.embedder.name
            pg = (open_pgvector(self.engine, dim, model, required=self.vector_index == "pgvector")
                  if self.vector_index != "faiss" else None)
            self._index = pg if pg is not None else VectorIndex(dim, model)
        return self._index

    def _synced(self, session: Session) -> VectorIndex | PgVectorIndex:
        """The index, with vectors for every concept (embedding any stored without one) and in sync."""
        index = self._open_index()
        if isinstance(index, PgVectorIndex):
            index.using(session)
        if index.covers(cs.count_concepts(session=session)):  # one vector per concept: nothing new
            return index
        missing = cs.missing_vectors(session=session, model=self.embedder.name)
        if missing:
            log.info("embedding %d stored concepts with %s", len(missing), self.embedder.name)
            vectors = self.embedder.embed([c.claim for c in missing])
            for concept, vector in zip(missing, vectors, strict=True):
                cs.store_vector(session=session, concept_id=concept.id, model=self.embedder.name, vector=vector)
            session.commit()
        index.sync(session)
        return index

    def _session(self) -> _StoreSession:
        return _StoreSession(self.engine)


def _best(near: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Distinct concept ids, most similar first, at most NEAREST."""
    best: dict[int, float] = {}
    for cid, similarity in near:
        best[cid] = max(similarity, best.get(cid, -1.0))
    return sorted(best.items(), key=lambda item: -item[1])[:NEAREST]


class _StoreSession(Session):
    """A session whose database failures surface as StoreError (our fault, not the caller's input)."""

    def __exit__(self, exc_type, exc, tb):
        super().__exit__(exc_type, exc, tb)
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(f"concept memory: {exc}") from exc
