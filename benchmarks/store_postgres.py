"""The store on PostgreSQL against SQLite: evaluations written per second by 3 concurrent runs, and
concept query latency at 100k concepts.

    python benchmarks/store_postgres.py --postgres URL [--pgvector URL] [--writes 300] [--concepts 100000]
                                        [--queries 200] [--json FILE]

URL: a database the benchmark may fill (`bash scripts/test-postgres` starts a local server and prints
one; `bash scripts/test-pgvector` one whose new databases have pgvector); the benchmark makes its own
databases beside it and drops them. With --pgvector, queries are measured a third time with the index
inside that server (pgvector, exact search) instead of faiss in the process.

Writes: 3 processes, each as one run does after every sandbox job: upsert the candidate, then store its
evaluation (one short transaction each). A tenth of the keys are shared by all three writers, so the
unique key (fingerprint, task, stage, fidelity, seed) is raced for; afterwards every count is checked:
each key stored once, no write lost. Queries: the concept memory's retrieval (embed, exact search,
SQL filters, MMR; hashing embedder) on a store bulk-loaded with 100k concepts, as
benchmarks/memory_speed.py does for SQLite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_labelled import QUERIES  # noqa: E402
from memory_speed import bulk_load, percentiles  # noqa: E402

from archlab.memory.concept_memory import ConceptMemory  # noqa: E402
from archlab.memory.embedder import make_embedder  # noqa: E402
from archlab.memory.retrieve import Filters  # noqa: E402
from archlab.store import Candidate, Evaluation, open_store, sqlite_url  # noqa: E402
from archlab.store import records as store

WRITERS = 3
SHARED_EVERY = 10  # every tenth key is written by all three writers


def writer(url: str, run: int, writes: int, start: mp.Barrier, out: mp.Queue) -> None:
    engine = open_store(url)
    start.wait()
    began = time.perf_counter()
    with Session(engine) as session:
        for i in range(writes):
            shared = i % SHARED_EVERY == 0
            fingerprint = f"shared-{i}" if shared else f"r{run}-{i}"
            cid = f"r{run}-c{i}"
            store.upsert_candidate(session=session, candidate=Candidate(
                id=cid, run_id=f"run{run}", origin="sample", source="x", status="evaluated", fingerprint=fingerprint))
            store.add_evaluation(session=session, evaluation=Evaluation(
                candidate_id=cid, run_id=f"run{run}", fingerprint=fingerprint, task="mnist1d", stage="train",
                fidelity=100, seed=0, status="ok", metrics={"val_acc": 0.5}))
    out.put(time.perf_counter() - began)
    engine.dispose()


def write_rate(url: str, writes: int) -> dict:
    open_store(url).dispose()  # migrate once, before the clock
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(url, run, writes, start, out)) for run in range(WRITERS)]
    for proc in procs:
        proc.start()
    times = [out.get(timeout=900) for _ in procs]
    for proc in procs:
        proc.join()
    engine = open_store(url)
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(Evaluation)).one()
        cands = session.exec(select(func.count()).select_from(Candidate)).one()
    engine.dispose()
    shared = len(range(0, writes, SHARED_EVERY))
    expected = WRITERS * writes - (WRITERS - 1) * shared
    assert stored == expected and cands == WRITERS * writes, (stored, expected, cands)
    return {"writers": WRITERS, "writes_each": writes, "evaluations_stored": stored, "candidates_stored": cands,
            "wall_s": round(max(times), 2), "evaluations_per_s": round(WRITERS * writes / max(times), 1)}


def query_p95(url: str, concepts: int, queries: int) -> dict:
    engine = open_store(url)
    embedder = make_embedder("hashing")
    began = time.perf_counter()
    bulk_load(engine, embedder, concepts)
    loaded = time.perf_counter() - began
    memory = ConceptMemory(engine, embedder)
    kind = memory.index_kind
    began = time.perf_counter()
    memory.retrieve("warm up")
    index_s = time.perf_counter() - began
    full, planner = [], []
    for i in range(queries):
        query = QUERIES[i % len(QUERIES)][0]
        t = time.perf_counter()
        memory.retrieve(query, k=5)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        memory.retrieve(query, k=3, filters=Filters(task="mnist1d", space="seq1d"), favour_untested_in="bench")
        planner.append(time.perf_counter() - t)
    recall = hnsw_recall(engine, embedder, memory) if kind == "pgvector" else None
    engine.dispose()
    return {"concepts": concepts, "index": kind, "recall_at_5_vs_exact": recall, "bulk_load_s": round(loaded, 1),
            "index_build_s": round(index_s, 2),
            "retrieve": percentiles(full), "planner_retrieve": percentiles(planner)}


def hnsw_recall(engine, embedder, memory: ConceptMemory) -> float:
    """Recall@5 of the pgvector memory against exact search (faiss) over the labelled queries, with and
    without the planner's filters (no diversity re-ranking: nearest neighbours only). Tie-aware: a result
    as similar as the exact fifth counts (the synthetic claims tie often)."""
    exact = ConceptMemory(engine, embedder, vector_index="faiss")
    shares = []
    for query, _ in QUERIES:
        for filters in (Filters(), Filters(task="mnist1d", space="seq1d")):
            want = exact.retrieve(query, k=5, filters=filters, diversity=0.0)
            got = memory.retrieve(query, k=5, filters=filters, diversity=0.0)
            if want:
                bar = min(h.similarity for h in want) - 1e-5
                shares.append(min(sum(h.similarity >= bar for h in got), len(want)) / len(want))
    return round(sum(shares) / len(shares), 4)


class Databases:
    """Scratch databases on a PostgreSQL server, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url, self.names = url, []
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def new(self) -> str:
        name = f"archlab_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                for attempt in range(10):  # FORCE may not end a server worker (autovacuum) that is still busy
                    try:
                        force = " WITH (FORCE)" if attempt < 5 else ""
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"{force}'))
                        break
                    except DBAPIError:
                        time.sleep(2)
        self.admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB")
    parser.add_argument("--pgvector", help="a server whose new databases have pgvector (queries only)")
    parser.add_argument("--writes", type=int, default=300, help="evaluations each of the 3 writers stores")
    parser.add_argument("--concepts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    dbs = Databases(args.postgres)
    vector_dbs = Databases(args.pgvector) if args.pgvector else None
    figures: dict = {"writes": {}, "queries": {}}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, url in (("sqlite", sqlite_url(Path(tmp) / "w.db")), ("postgres", dbs.new())):
                figures["writes"][name] = row = write_rate(url, args.writes)
                print(f"writes  {name:<9}{row['evaluations_per_s']:>8.1f} evaluations/s  ({WRITERS} writers x "
                      f"{args.writes}, {row['wall_s']} s; stored {row['evaluations_stored']}, as expected)")
            stores = [("sqlite", sqlite_url(Path(tmp) / "q.db")), ("postgres", dbs.new())]
            if vector_dbs:
                stores.append(("pgvector", vector_dbs.new()))
            for name, url in stores:
                figures["queries"][name] = row = query_p95(url, args.concepts, args.queries)
                full = row["retrieve"]
                recall = f"; recall@5 vs exact {row['recall_at_5_vs_exact']}" if row["recall_at_5_vs_exact"] else ""
                print(f"queries {name:<9}[{row['index']}] p50 {full['p50_ms']:6.1f} ms  p95 {full['p95_ms']:6.1f} ms"
                      f"  planner p95 {row['planner_retrieve']['p95_ms']:6.1f} ms  ({row['concepts']} concepts; "
                      f"load {row['bulk_load_s']} s, index {row['index_build_s']} s{recall})")
    finally:
        dbs.drop()
        if vector_dbs:
            vector_dbs.drop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
