"""Retrieval quality of the concept memory on a labelled set, against a keyword (BM25) baseline.

    python benchmarks/memory_retrieval.py [--json FILE] [--embedder minilm]

The memory holds the literature seeds and a synthetic run history (benchmarks/memory_labelled.py);
73 queries each name their relevant concepts. Figures: recall@5 (share of a query's relevant concepts
in its top 5, averaged) and MRR (1 / rank of the first relevant concept in the top 10, averaged) for
semantic retrieval (the embedder, with and without MMR diversity), the lexical hashing embedder,
BM25 over the same claims (rank_bm25), and a fusion of semantic and BM25 rankings.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_labelled import HISTORY, QUERIES  # noqa: E402

from archlab.memory.concept_memory import ConceptMemory  # noqa: E402
from archlab.memory.embedder import make_embedder  # noqa: E402
from archlab.memory.seeds import load_seeds  # noqa: E402
from archlab.store import open_store, sqlite_url  # noqa: E402
from archlab.store.concepts import ConceptCreate  # noqa: E402

TOP = 10
Ranker = Callable[[str], list[str]]  # query -> uids, best first


def build(embedder_spec: str, folder: Path) -> tuple[ConceptMemory, dict[int, str]]:
    memory = ConceptMemory(open_store(sqlite_url(folder / f"{embedder_spec}.db")), make_embedder(embedder_spec))
    load_seeds(memory)
    memory.add_many([ConceptCreate(uid=uid, claim=claim, kind=kind, task=task, space=space)
                     for uid, (claim, kind, task, space) in HISTORY.items()])
    return memory, {row["id"]: row["uid"] for row in _export(memory)}


def _export(memory: ConceptMemory) -> list[dict]:
    from sqlmodel import Session, select

    from archlab.store.concepts import Concept

    with Session(memory.engine) as session:
        return [{"id": c.id, "uid": c.uid, "claim": c.claim} for c in session.exec(select(Concept))]


def semantic(memory: ConceptMemory, uids: dict[int, str], diversity: float) -> Ranker:
    return lambda query: [uids[h.concept.id] for h in memory.retrieve(query, k=TOP, diversity=diversity)]


def bm25(memory: ConceptMemory) -> Ranker:
    rows = _export(memory)
    index = BM25Okapi([_words(r["claim"]) for r in rows])

    def rank(query: str) -> list[str]:
        scores = index.get_scores(_words(query))
        return [rows[i]["uid"] for i in np.argsort(-scores)[:TOP]]

    return rank


def fused(*rankers: Ranker) -> Ranker:
    """Reciprocal rank fusion (k=60) of several rankings: a measured suggestion, not what the memory does."""
    def rank(query: str) -> list[str]:
        scores: dict[str, float] = {}
        for ranker in rankers:
            for position, uid in enumerate(ranker(query), start=1):
                scores[uid] = scores.get(uid, 0.0) + 1 / (60 + position)
        return sorted(scores, key=lambda uid: -scores[uid])[:TOP]

    return rank


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def evaluate(rank: Ranker) -> dict[str, float]:
    recalls, reciprocal, latencies = [], [], []
    for query, relevant in QUERIES:
        started = time.perf_counter()
        ranked = rank(query)
        latencies.append(time.perf_counter() - started)
        recalls.append(len(set(ranked[:5]) & set(relevant)) / len(relevant))
        first = next((i for i, uid in enumerate(ranked[:TOP], start=1) if uid in relevant), None)
        reciprocal.append(1 / first if first else 0.0)
    return {"recall@5": float(np.mean(recalls)), "mrr": float(np.mean(reciprocal)),
            "hit@1": float(np.mean([r == 1.0 for r in reciprocal])),
            "query_ms_p50": float(np.percentile(latencies, 50) * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--embedder", default="minilm", help="the semantic embedder (default minilm)")
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        semantic_memory, uids = build(args.embedder, Path(tmp))
        hashing_memory, hashing_uids = build("hashing", Path(tmp))
        rankers = {
            f"semantic ({semantic_memory.embedder.name}), MMR 0.3": semantic(semantic_memory, uids, 0.3),
            f"semantic ({semantic_memory.embedder.name}), no MMR": semantic(semantic_memory, uids, 0.0),
            f"lexical ({hashing_memory.embedder.name}), no MMR": semantic(hashing_memory, hashing_uids, 0.0),
            "BM25 (rank_bm25 over the claims)": bm25(semantic_memory),
        }
        rankers["hybrid: semantic + BM25 (RRF), not used yet"] = fused(
            rankers[f"semantic ({semantic_memory.embedder.name}), no MMR"], rankers["BM25 (rank_bm25 over the claims)"])
        for name, rank in rankers.items():
            figures[name] = evaluate(rank)
    concepts = len(uids)
    print(f"retrieval quality: {len(QUERIES)} labelled queries over {concepts} concepts "
          f"({concepts - len(HISTORY)} literature seeds, {len(HISTORY)} synthetic run history)")
    print(f"{'method':<46} {'recall@5':>9} {'MRR':>6} {'hit@1':>6} {'p50 ms':>7}")
    for name, f in figures.items():
        print(f"{name:<46} {f['recall@5']:>9.3f} {f['mrr']:>6.3f} {f['hit@1']:>6.3f} {f['query_ms_p50']:>7.1f}")
    if args.json:
        args.json.write_text(json.dumps({"queries": len(QUERIES), "concepts": concepts, "methods": figures},
                                        indent=2))


if __name__ == "__main__":
    main()
