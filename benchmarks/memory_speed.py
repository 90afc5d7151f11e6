"""Speed of the concept memory: insert throughput (embedding included) and query latency by size.

    python benchmarks/memory_speed.py [--json FILE] [--sizes 1000 10000 100000] [--inserts 300]
                                      [--queries 200] [--embedder minilm]

Inserts go through ConceptMemory.add (one concept, one transaction, as the analyst writes) and
add_many (batches of 100, as import and seeding do), each embedding its claims and checking the
nearest stored claims for a paraphrase, on a store that already holds 1,000 concepts.

Query latency: each store size is bulk-loaded first (not timed): template claims over 7 tasks and 3
spaces, their vectors from the embedder for the first 2,000 and, beyond that, those vectors plus
noise (embedding 100k claims with MiniLM would take most of an hour on two cores; exact search costs
the same whatever the vectors hold). Then, per query: the full retrieval (embed the query, exact
search, SQL filters, MMR), the same as the planner makes it (task and space filters, untested
favoured, logged), the vector search alone, and the query's embedding alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_labelled import QUERIES  # noqa: E402

from archlab.memory.concept_memory import ConceptMemory  # noqa: E402
from archlab.memory.embedder import Embedder, make_embedder  # noqa: E402
from archlab.memory.retrieve import Filters  # noqa: E402
from archlab.store import open_store, sqlite_url  # noqa: E402
from archlab.store.concepts import Concept, ConceptCreate, ConceptVector  # noqa: E402
from archlab.store.models import utcnow  # noqa: E402
from archlab.store.retrieval_log import LogContext  # noqa: E402

TASKS = ["mnist1d", "cifar10", "cifar100", "imagenet16", "tinystories", "speech", "ecg"]
SPACES = ["seq1d", "nb201", "lmblocks"]
OPS = ["conv", "dwconv", "attn", "mlp", "pool", "ssm", "gru", "linear_attn"]
ACTS = ["relu", "gelu", "silu", "tanh", "swish"]
EMBEDDED = 2000  # claims embedded for real per store; the rest reuse these vectors with noise


def claim(i: int) -> tuple[str, str, str]:
    rng = random.Random(i)
    task, space = TASKS[i % len(TASKS)], SPACES[i % len(SPACES)]
    a, b = (f"{op}({rng.choice([16, 32, 64, 128])},k{rng.choice([1, 3, 5, 7])}) {rng.choice(ACTS)}"
            for op in rng.sample(OPS, 2))
    text = f"On {task} in the {space} space, changing {a} to {b} improves validation accuracy (case {i})"
    return text, task, space


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(seconds, 50) * 1000), "p95_ms": float(np.percentile(seconds, 95) * 1000)}


def bulk_load(engine, embedder: Embedder, size: int) -> None:
    claims = [claim(i) for i in range(size)]
    base = embedder.embed([c[0] for c in claims[:EMBEDDED]])
    rng = np.random.default_rng(0)
    now = utcnow()
    with Session(engine) as session:
        for start in range(0, size, 5000):
            chunk = range(start, min(start + 5000, size))
            vectors = base[[i % len(base) for i in chunk]]
            if start + len(chunk) > EMBEDDED:
                vectors = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            session.execute(Concept.__table__.insert(), [
                {"id": i + 1, "uid": f"bulk-{i}", "claim": claims[i][0], "kind": "hypothesis", "tags": [],
                 "task": claims[i][1], "space": claims[i][2], "source": "bench", "status": "active",
                 "prior": 0.4, "confidence": 0.4, "supports": 0, "contradicts": 0, "aliases": [],
                 "created_at": now, "updated_at": now} for i in chunk])
            session.execute(ConceptVector.__table__.insert(), [
                {"concept_id": i + 1, "model": embedder.name, "vector": v.astype(np.float32).tobytes()}
                for i, v in zip(chunk, vectors, strict=True)])
        session.commit()


def query_latency(folder: Path, embedder: Embedder, size: int, queries: int) -> dict:
    engine = open_store(sqlite_url(folder / f"speed-{size}.db"))
    started = time.perf_counter()
    bulk_load(engine, embedder, size)
    loaded = time.perf_counter() - started
    memory = ConceptMemory(engine, embedder)
    started = time.perf_counter()
    memory.retrieve("warm up")  # builds the index from the store
    index_s = time.perf_counter() - started
    texts = [QUERIES[i % len(QUERIES)][0] for i in range(queries)]
    full, agent, vector, embed = [], [], [], []
    for step, text in enumerate(texts):
        t = time.perf_counter()
        memory.retrieve(text, k=5)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        memory.retrieve(text, k=3, filters=Filters(task="mnist1d", space="seq1d"), favour_untested_in="bench-run",
                        log_as=LogContext(run_id="bench-run", step=step, attempt=0, agent="planner"))
        agent.append(time.perf_counter() - t)
    for text in texts:
        t = time.perf_counter()
        embedder.embed([text])
        embed.append(time.perf_counter() - t)
    query_vectors = embedder.embed(texts)
    for qv in query_vectors:
        t = time.perf_counter()
        memory._index.search(qv[None, :], 20)
        vector.append(time.perf_counter() - t)
    return {"concepts": size, "bulk_load_s": loaded, "index_build_s": index_s, "retrieve": percentiles(full),
            "planner_retrieve": percentiles(agent), "vector_search": percentiles(vector),
            "query_embedding": percentiles(embed)}


def insert_throughput(folder: Path, embedder: Embedder, n: int) -> dict:
    engine = open_store(sqlite_url(folder / "insert.db"))
    bulk_load(engine, embedder, 1000)
    memory = ConceptMemory(engine, embedder)
    memory.retrieve("warm up")
    texts = [claim(10_000_000 + i) for i in range(2 * n)]
    started = time.perf_counter()
    for text, task, space in texts[:n]:
        memory.add(ConceptCreate(claim=text, task=task, space=space))
    single = n / (time.perf_counter() - started)
    started = time.perf_counter()
    batch = [ConceptCreate(claim=text, task=task, space=space) for text, task, space in texts[n:]]
    for i in range(0, n, 100):
        memory.add_many(batch[i:i + 100])
    batched = n / (time.perf_counter() - started)
    started = time.perf_counter()
    embedder.embed([t for t, _, _ in texts[:n]])
    embed_only = n / (time.perf_counter() - started)
    return {"inserted": n, "one_at_a_time_per_s": single, "batches_of_100_per_s": batched,
            "embedding_alone_per_s": embed_only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--inserts", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    embedder = make_embedder(args.embedder)
    embedder.embed(["load the model before timing"])
    figures: dict = {"embedder": embedder.name, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        figures["insert"] = ins = insert_throughput(Path(tmp), embedder, args.inserts)
        print(f"insert ({embedder.name}, {ins['inserted']} concepts into a store of 1,000; embedding and the "
              f"paraphrase check included)")
        print(f"  one at a time: {ins['one_at_a_time_per_s']:.1f}/s   batches of 100: "
              f"{ins['batches_of_100_per_s']:.1f}/s   (embedding alone: {ins['embedding_alone_per_s']:.1f}/s)")
        figures["query"] = []
        print(f"query latency (k=5; {args.queries} queries; ms)")
        print(f"{'concepts':>9} {'index build s':>14} {'retrieve p50':>13} {'p95':>7} {'planner p50':>12} {'p95':>7} "
              f"{'vector p50':>11} {'p95':>7} {'embed p50':>10} {'p95':>7}")
        for size in args.sizes:
            q = query_latency(Path(tmp), embedder, size, args.queries)
            figures["query"].append(q)
            print(f"{size:>9,} {q['index_build_s']:>14.2f} {q['retrieve']['p50_ms']:>13.1f} "
                  f"{q['retrieve']['p95_ms']:>7.1f} {q['planner_retrieve']['p50_ms']:>12.1f} "
                  f"{q['planner_retrieve']['p95_ms']:>7.1f} {q['vector_search']['p50_ms']:>11.1f} "
                  f"{q['vector_search']['p95_ms']:>7.1f} {q['query_embedding']['p50_ms']:>10.1f} "
                  f"{q['query_embedding']['p95_ms']:>7.1f}")
    print(f"machine: {figures['cpus']} CPUs, load average {figures['load_average']:.1f} at the start "
          "(the machine is shared; figures are wall clock)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
