"""The vector index inside PostgreSQL, where the server has pgvector: the same verbs as the faiss index.

The store's `conceptvector` rows stay the truth (float32 bytes, one row per concept and embedder); this
index mirrors one embedder's rows into a table of its own, `concept_pgvector_<hash of the embedder's
name>`, with a `vector(dim)` column and an HNSW index on inner product, written in the same transaction
as the concept. Every process and run on the server then shares one index instead of each loading its
own copy. HNSW is approximate: with `hnsw.iterative_scan = strict_order` a filtered search goes on
until it has its k results, in exact distance order among those found; benchmarks/store_postgres.py
measures its recall against exact search. (Exact search in PostgreSQL was 140-240 ms at 100k concepts
on this two-core machine, against 50 ms asked for.)

The tables live outside the Alembic revisions on purpose: the extension may be installed on the server
after the store was made (or never), and each embedder has its own dimension, so a table is created on
first use, under an advisory lock, where `vector` is installed; migrations ignore them
(migrations/env.py). Creating the extension takes a superuser: archlab creates it where its role is one
(compose.yaml's store), and otherwise an administrator runs `CREATE EXTENSION vector` once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from archlab.errors import ConfigError
from archlab.memory.retrieve import scope_clauses
from archlab.store.concepts import Concept, ConceptVector
from archlab.store.db import PGVECTOR_PREFIX as PREFIX
from archlab.store.db import exclusive

log = logging.getLogger(__name__)

# HNSW candidates per query: pgvector's largest (its default is 40). At 100k concepts (hashing embedder, the
# hardest case: low, near-tied similarities) recall@5 against exact search was 0.45 at 100, 0.83 at 400 and
# 0.94 at 1000, query p95 25, 24 and 34 ms (benchmarks/store_postgres.py).
EF_SEARCH = 1000
BULK = 2000  # vectors mirrored at once above which the HNSW index is dropped and built again after
_HNSW = "CREATE INDEX IF NOT EXISTS {name}_hnsw ON {name} USING hnsw (embedding vector_ip_ops)"
Hits = list[list[tuple[int, float]]]


def table_name(model: str) -> str:
    return PREFIX + hashlib.sha256(model.encode()).hexdigest()[:12]


def pgvector_state(engine: Engine) -> str:
    """'installed', 'available' (the server has it; a superuser must CREATE EXTENSION), or 'absent'."""
    if engine.dialect.name != "postgresql":
        return "absent"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'")).first()
    if row is None:
        return "absent"
    return "installed" if row[0] is not None else "available"


def ensure_table(engine: Engine, model: str, dim: int) -> Table:
    """The embedder's mirror table with its HNSW index, created once, whichever process comes first."""
    name = table_name(model)
    literal = model.replace("'", "''")
    with exclusive(engine, name), engine.begin() as conn:
        exists = conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}).scalar_one()
        if exists:  # ALTER and CREATE INDEX would lock the table against every run using it
            return _mirror(name, dim)
        conn.execute(text(f"CREATE TABLE {name} (concept_id integer PRIMARY KEY REFERENCES concept (id), "
                          f"embedding vector({int(dim)}) NOT NULL)"))
        # Inline, not in TOAST: a 512-float vector (2 KB) is toasted by default, and reading it back from
        # there made a scan of 100k of them 240 ms instead of 140.
        conn.execute(text(f"ALTER TABLE {name} ALTER COLUMN embedding SET STORAGE MAIN"))
        conn.execute(text(_HNSW.format(name=name)))
        conn.execute(text(f"COMMENT ON TABLE {name} IS 'archlab: pgvector mirror of conceptvector for embedder "
                          f"{literal}'"))
    return _mirror(name, dim)


def _mirror(name: str, dim: int) -> Table:
    return Table(name, MetaData(), Column("concept_id", Integer, primary_key=True),
                 Column("embedding", Vector(dim), nullable=False))


@dataclass
class Scope:
    """A scope filter (task, space, kind) with the number of concepts it selects."""

    task: str | None
    space: str | None
    kind: str | None
    size: int = 0

    def __len__(self) -> int:
        return self.size

    def clauses(self) -> list:
        return scope_clauses(self.task, self.space, self.kind)


class PgVectorIndex:
    """Used within one session at a time (`using`): the memory's lock serialises its callers."""

    def __init__(self, table: Table, dim: int, model: str) -> None:
        self.table, self.dim, self.model = table, dim, model
        self._session: Session | None = None
        self._covered = -1  # concepts in the store when this process last filled the mirror
        self._size = 0  # rows in the mirror, counted at sync and on add (no query per search)

    def using(self, session: Session) -> PgVectorIndex:
        self._session = session
        return self

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("PgVectorIndex used outside a session (call using(session) first)")
        return self._session

    def covers(self, concepts: int) -> bool:
        """True when the mirror was filled at this store size (concepts are never deleted, and every
        process that adds one adds its vector in the same transaction)."""
        return concepts == self._covered

    def __len__(self) -> int:
        return self._size

    def add(self, ids: Sequence[int], vectors: np.ndarray, scopes: Sequence[object] = ()) -> None:
        if len(ids):
            self.session.execute(self.table.insert(), [
                {"concept_id": int(i), "embedding": np.asarray(v, dtype=np.float32)}
                for i, v in zip(ids, vectors, strict=True)])
            self._size += len(ids)
            if self._covered >= 0:  # what this process adds keeps the mirror covering the store (sync resets it)
                self._covered += len(ids)

    def sync(self, session: Session) -> int:
        """Mirror the store's vectors of this embedder that the table lacks. Returns how many."""
        self.using(session)
        concepts = session.exec(select(func.count()).select_from(Concept)).one()
        have = select(self.table.c.concept_id)
        rows = session.exec(select(ConceptVector.concept_id, ConceptVector.vector)
                            .where(ConceptVector.model == self.model, col(ConceptVector.concept_id).not_in(have))
                            .order_by(col(ConceptVector.concept_id))).all()
        if rows:
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), self.dim)
            rebuild = len(rows) > BULK  # an HNSW index is built far faster at once than row by row
            if rebuild:
                session.execute(text(f"DROP INDEX IF EXISTS {self.table.name}_hnsw"))
            for start in range(0, len(rows), 5000):
                self.add([r[0] for r in rows[start:start + 5000]], vectors[start:start + 5000])
            if rebuild:
                session.execute(text("SELECT set_config('maintenance_work_mem', '512MB', true)"))
                session.execute(text(_HNSW.format(name=self.table.name)))
            session.commit()
            log.info("mirrored %d concept vectors into %s", len(rows), self.table.name)
        self._covered = concepts
        self._size = session.execute(select(func.count()).select_from(self.table)).scalar_one()
        return len(rows)

    def in_scope(self, task: str | None, space: str | None, kind: str | None) -> Scope:
        """The concepts whose scope matches (an unscoped concept, task or space None, matches any task or
        space), as a filter that search_among joins in SQL rather than a list of ids sent back and forth."""
        scope = Scope(task, space, kind)
        query = select(func.count()).select_from(self.table).join(Concept, self.table.c.concept_id == Concept.id)
        scope.size = self.session.execute(query.where(*scope.clauses())).scalar_one()
        return scope

    def search(self, vectors: np.ndarray, k: int) -> Hits:
        """For each query row, up to k (concept id, cosine similarity), most similar first."""
        return [self._nearest(v, k, None) for v in np.asarray(vectors, dtype=np.float32)]

    def search_among(self, vectors: np.ndarray, k: int, allowed: Sequence[int] | Scope) -> Hits:
        """Like search, over the given concept ids (or the concepts of a scope from in_scope) only."""
        if not len(allowed):
            return [[] for _ in range(len(vectors))]
        among = allowed if isinstance(allowed, Scope) else [int(i) for i in allowed]
        return [self._nearest(v, k, among) for v in np.asarray(vectors, dtype=np.float32)]

    def _nearest(self, vector: np.ndarray, k: int, among: list[int] | Scope | None) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        self.session.execute(text("SELECT set_config('hnsw.ef_search', :ef, true), "
                                  "set_config('hnsw.iterative_scan', 'strict_order', true)"),
                             {"ef": str(EF_SEARCH)})  # k beyond it: the iterative scan goes on
        distance = self.table.c.embedding.max_inner_product(vector)  # <#>: minus the inner product
        query = select(self.table.c.concept_id, distance)
        if isinstance(among, Scope):
            query = query.join(Concept, self.table.c.concept_id == Concept.id).where(*among.clauses())
        elif among is not None:
            query = query.where(self.table.c.concept_id == func.any(bindparam("among", among)))
        rows = self.session.execute(query.order_by(distance).limit(k)).all()
        return [(int(cid), -float(d)) for cid, d in rows]

    def vectors(self, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = dict(self.session.execute(select(self.table.c.concept_id, self.table.c.embedding)
                                         .where(self.table.c.concept_id.in_(ids))).all())
        return np.stack([np.asarray(rows[i], dtype=np.float32) for i in ids])


def _create_extension(engine: Engine) -> bool:
    """CREATE EXTENSION vector, which only a superuser may (compose.yaml's store role is one)."""
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as exc:
        log.debug("cannot create the vector extension: %s", exc)
        return False
    return True


def open_pgvector(engine: Engine, dim: int, model: str, *, required: bool) -> PgVectorIndex | None:
    """The pgvector index for this store, or None where the server lacks the extension (an error if
    `required`: the user asked for pgvector by name)."""
    state = pgvector_state(engine)
    if state == "available" and _create_extension(engine):
        state = "installed"
    if state != "installed":
        why = ("the server has pgvector but this database lacks it and this role may not create it: a superuser "
               "must run CREATE EXTENSION vector"
               if state == "available" else "the server has no pgvector extension")
        if required:
            raise ConfigError(f"vector_index pgvector: {why}")
        if state == "available":
            log.info("concept memory: faiss index, since %s", why)
        return None
    try:
        table = ensure_table(engine, model, dim)
    except DBAPIError as exc:
        if required:
            raise ConfigError(f"vector_index pgvector: cannot make the index table: {exc}") from exc
        log.warning("concept memory: faiss index, since the pgvector table could not be made: %s", exc)
        return None
    return PgVectorIndex(table, dim, model)
