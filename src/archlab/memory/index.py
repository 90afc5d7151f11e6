"""The vector index beside the store: faiss exact inner-product search over one embedder's vectors.

The store's `conceptvector` rows are the truth; the index is an in-process mirror, synced before each
use (concepts are never deleted, so it only grows). Beside each vector it keeps the concept's scope
(task, space, kind), which never changes after insert, so scope filters select ids in memory and
faiss searches among them only; status and confidence, which evidence changes, are checked in SQL.
Exact search keeps retrieval deterministic and measured under 50 ms at 100k concepts on two cores
(benchmarks/memory_speed.py); an approximate index would be the next step beyond that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import faiss
import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from archlab.store.concepts import Concept, ConceptVector

Scope = tuple[str | None, str | None, str]  # task, space, kind
Hits = list[list[tuple[int, float]]]


@contextmanager
def _single_thread() -> Iterator[None]:
    # One query scans the whole index; on a small shared machine OpenMP threads cost more than they
    # save (18 ms with one thread against 59 ms with two, 100k vectors of 384 floats).
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorIndex:
    def __init__(self, dim: int, model: str) -> None:
        self.dim, self.model = dim, model
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._ids: list[int] = []
        self._scopes: list[tuple[int, int, int]] = []  # codes of task, space, kind; 0 is None
        self._codes: dict[str | None, int] = {None: 0}
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None  # ids, scope codes: rebuilt after adds
        self.max_id = 0

    def __len__(self) -> int:
        return self._index.ntotal

    def covers(self, concepts: int) -> bool:
        """True when the index holds a vector for each of the store's concepts (never deleted: nothing new)."""
        return concepts == len(self)

    def add(self, ids: Sequence[int], vectors: np.ndarray, scopes: Sequence[Scope]) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, np.int64))
            self._ids.extend(int(i) for i in ids)
            self._scopes.extend(tuple(self._code(v) for v in scope) for scope in scopes)
            self._arrays = None
            self.max_id = max(self.max_id, *self._ids[-len(ids):])

    def in_scope(self, task: str | None, space: str | None, kind: str | None) -> np.ndarray:
        """Ids whose scope matches: an unscoped concept (task or space None) matches any task or space."""
        if self._arrays is None:
            self._arrays = (np.array(self._ids, dtype=np.int64), np.array(self._scopes, dtype=np.int64).reshape(-1, 3))
        ids, codes = self._arrays
        keep = np.ones(len(ids), dtype=bool)
        for column, wanted, unscoped_matches in ((0, task, True), (1, space, True), (2, kind, False)):
            if wanted is not None:
                match = codes[:, column] == self._codes.get(wanted, -1)
                keep &= (match | (codes[:, column] == 0)) if unscoped_matches else match
        return ids[keep]

    def _code(self, value: str | None) -> int:
        return self._codes.setdefault(value, len(self._codes))

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        """For each query row, up to k (concept id, cosine similarity), most similar first."""
        return self._search(vectors, min(k, len(self)))

    def search_among(self, vectors: np.ndarray, k: int, allowed: Sequence[int]) -> Hits:
        """Like search, over the given concept ids only."""
        if not len(allowed):
            return [[] for _ in range(len(vectors))]
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        return self._search(vectors, min(k, len(allowed)), faiss.SearchParameters(sel=selector))

    def _search(self, vectors: np.ndarray, k: int, params=None) -> Hits:
        if not len(self) or k <= 0:
            return [[] for _ in range(len(vectors))]
        with _single_thread():
            scores, ids = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), k, params=params)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
                for row_ids, row_scores in zip(ids, scores, strict=True)]

    def vectors(self, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._index.reconstruct(int(i)) for i in ids])

    def sync(self, session: Session) -> int:
        """Add the store's vectors this index lacks; rebuild if the store went another way. Returns how many."""
        count = session.exec(select(func.count()).select_from(ConceptVector)
                             .where(ConceptVector.model == self.model)).one()
        if count == len(self):
            return 0
        if count < len(self):  # the store was replaced under us
            self._reset()
        added = self._load(session, col(ConceptVector.concept_id) > self.max_id)
        if count != len(self):  # vectors were back-filled for older concepts: read them all again
            self._reset()
            added = self._load(session, True)
        return added

    def _reset(self) -> None:
        self._index.reset()
        self._ids, self._scopes, self._arrays, self.max_id = [], [], None, 0

    def _load(self, session: Session, condition) -> int:
        query = (select(ConceptVector.concept_id, ConceptVector.vector, Concept.task, Concept.space, Concept.kind)
                 .join(Concept, col(Concept.id) == col(ConceptVector.concept_id))
                 .where(ConceptVector.model == self.model, condition).order_by(col(ConceptVector.concept_id)))
        rows = session.exec(query).all()
        if not rows:
            return 0
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), self.dim)
        self.add([r[0] for r in rows], vectors, [(r[2], r[3], str(r[4])) for r in rows])
        return len(rows)
