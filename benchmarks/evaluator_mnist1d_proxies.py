"""Benchmark 4: zero-cost proxies and the predictor where we train for real — seq1d candidates on MNIST-1D.

    python benchmarks/evaluator_mnist1d_proxies.py [--candidates 200] [--steps 400] [--max-seconds S] [--json FILE]

Candidates: --candidates derivations sampled from the seq1d space (seed 0). Each is built with a
fixed seed, scored by every proxy on one batch of 64 MNIST-1D training signals (seed 0), and trained
by the task's fixed harness (AdamW, one-cycle, lr 1e-2, batch 128) for --steps steps; its test accuracy
is the target. Results are cached per candidate in .archlab/bench/mnist1d_candidates.jsonl, so an
interrupted run resumes. Figures: Spearman and Kendall of each proxy (and params, FLOPs) against test
accuracy over all candidates; then the ensemble predictor (GP + boosted trees + Bayesian ridge on the
derivation encoding, cost and proxies) fitted on the first 50 candidates' validation accuracy and
ranked against the other candidates' test accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import types
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from archlab.evaluator.cost import count_flops, count_params
from archlab.evaluator.harness import TrainConfig, predict, train
from archlab.evaluator.predictors import Ensemble, FeatureRecord, FeatureTable
from archlab.evaluator.proxies import PROXIES, compute_proxies, make_batch
from archlab.evaluator.tasks import get_task
from archlab.spaces import load_space

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".archlab" / "bench" / "mnist1d_candidates.jsonl"
TRAIN_PREDICTOR_ON = 50


def builder(source: str, spec):
    module = types.ModuleType("candidate")
    exec(compile(source, "candidate.py", "exec"), module.__dict__)
    return lambda: module.build_model(spec)


def evaluate(index: int, tree, space, task, data, steps: int) -> dict:
    spec = task.spec
    build = builder(space.compile(tree), spec)
    start = time.perf_counter()
    torch.manual_seed(0)
    model = build().eval()
    record = {"index": index, "summary": space.summary(tree), "derivation": tree.to_dict(),
              "params": count_params(model), "flops": count_flops(model, torch.zeros(1, *spec.input_shape))}
    batch, source = make_batch(spec, 64, seed=0, data={"x_train": data.x_train, "y_train": data.y_train})
    report = compute_proxies(build, batch, seed=0, source=source)
    record.update(proxies=report.values, proxy_seconds=report.seconds, skipped=report.skipped)
    torch.manual_seed(0)
    model = build()
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    result = train(model, x, y, TrainConfig(steps=steps, batch_size=128, lr=1e-2, seed=0))
    scores = task.score(data, {"val_pred": predict(model, torch.as_tensor(data.x_val)),
                               "test_pred": predict(model, torch.as_tensor(data.x_test))})
    record.update(scores, steps=steps, train_seconds=result.seconds, total_seconds=time.perf_counter() - start)
    return record


def collect(count: int, steps: int, cache: Path, max_seconds: float | None = None) -> list[dict]:
    """The first `count` candidates' records (cached ones reused); with max_seconds, those done by then."""
    space, task = load_space("seq1d"), get_task("mnist1d")
    data = task.data(ROOT / ".archlab" / "cache")
    rng = random.Random(0)
    trees = [space.sample(rng) for _ in range(count)]
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            r = json.loads(line)
            if r["steps"] == steps:
                done[r["index"]] = r
    cache.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    with cache.open("a") as handle:
        for i, tree in enumerate(trees):
            if i in done:
                continue
            if deadline is not None and time.monotonic() > deadline:
                print(f"  time limit reached: {len(done)} of {count} candidates", flush=True)
                break
            try:
                record = evaluate(i, tree, space, task, data, steps)
            except Exception as exc:  # noqa: BLE001 - a candidate that fails to train is reported, not fatal
                record = {"index": i, "steps": steps, "error": f"{type(exc).__name__}: {exc}"[:300]}
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            done[i] = record
            if len(done) % 10 == 0:
                print(f"  {len(done)}/{count} candidates", flush=True)
    return [done[i] for i in range(count) if i in done]


def correlations(records: list[dict]) -> dict[str, dict]:
    rows = {}
    for name in ["params", "flops", *PROXIES]:
        pairs = [(r[name] if name in ("params", "flops") else r["proxies"].get(name), r["test_acc"]) for r in records]
        pairs = [(v, t) for v, t in pairs if v is not None and math.isfinite(v)]
        a, b = zip(*pairs, strict=True)
        rows[name] = {"candidates": len(pairs), "spearman": float(spearmanr(a, b).statistic),
                      "kendall": float(kendalltau(a, b).statistic)}
    return rows


def predictor_figures(records: list[dict]) -> dict:
    space = load_space("seq1d")
    feats = [FeatureRecord(encoding=space.encode(space.load_tree(r["derivation"])),
                           cost={"params": r["params"], "flops": r["flops"]}, proxies=r["proxies"]) for r in records]
    train_idx, test_idx = range(TRAIN_PREDICTOR_ON), range(TRAIN_PREDICTOR_ON, len(records))
    table = FeatureTable.fit([feats[i] for i in train_idx])
    model = Ensemble().fit(table.matrix([feats[i] for i in train_idx]),
                           np.array([records[i]["val_acc"] for i in train_idx]))
    mean, std = model.predict(table.matrix([feats[i] for i in test_idx]))
    truth = [records[i]["test_acc"] for i in test_idx]
    return {"trained_on": TRAIN_PREDICTOR_ON, "tested_on": len(truth),
            "spearman": float(spearmanr(mean, truth).statistic), "kendall": float(kendalltau(mean, truth).statistic),
            "mean_std": float(np.mean(std))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, help="stop training new candidates after this long and "
                        "report over those done (the cache keeps them for the next call)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.candidates} seq1d candidates on MNIST-1D, {args.steps} training steps each, "
          f"torch {torch.__version__}")
    records = collect(args.candidates, args.steps, args.cache, args.max_seconds)
    ok = [r for r in records if "error" not in r]
    print(f"\n{len(ok)} trained ({len(records) - len(ok)} failed); test accuracy: median "
          f"{np.median([r['test_acc'] for r in ok]):.3f}, best {max(r['test_acc'] for r in ok):.3f}")
    rows = correlations(ok)
    print(f"\n{'proxy':10s} {'n':>4s} {'spearman':>9s} {'kendall':>8s}   (against test accuracy)")
    for name, row in sorted(rows.items(), key=lambda kv: -abs(kv[1]["spearman"])):
        print(f"{name:10s} {row['candidates']:4d} {row['spearman']:9.3f} {row['kendall']:8.3f}")
    pred = predictor_figures(ok)
    print(f"\npredictor (ensemble, fitted on the first {pred['trained_on']} candidates' validation accuracy), "
          f"on the other {pred['tested_on']}: Spearman {pred['spearman']:.3f}, Kendall {pred['kendall']:.3f}")
    seconds = np.mean([r["total_seconds"] for r in ok])
    print(f"mean seconds per candidate (proxies + training): {seconds:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"candidates": len(records), "trained": len(ok), "steps": args.steps,
                                         "proxies": rows, "predictor": pred}, indent=2) + "\n")


if __name__ == "__main__":
    main()
