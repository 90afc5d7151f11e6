"""Benchmark 3: predictor sample efficiency on NAS-Bench-201 CIFAR-10.

    python benchmarks/evaluator_predictor_nb201.py [--seeds 5] [--json FILE]

For each seed, the cells whose proxies benchmarks/evaluator_proxy_fidelity_nb201.py cached (its
1,000 cells; run it first) are shuffled; 200 are the test set, and the predictor is fitted on the
first 10, 23, 56, 209 and 500 of the rest, to `cifar10_val200`. Figure: Kendall tau between the
predicted and the true `cifar10_val200` of the 200 test cells, mean (and std) over seeds.

Features: the nb201 derivation encoding (the op on each edge, one-hot), params, FLOPs, the structure
of the traced network (evaluator.structure: effective depth, shortest path, effective op counts, ...)
and the zero-cost proxies every cached cell has (SYNTHETIC inputs: no CIFAR images here). In the GP's
and the ridge's distances the encoding's columns together weigh like ENCODING_WEIGHT measured features
(FeatureTable.column_weights). Predictors: our ensemble (GP + bagged boosted trees + Bayesian ridge) and
each member alone; the ensemble without the weighting, without the structure, and on the encoding only.
The reference (NAS-Bench-Suite-Zero style: gradient-boosted trees on the encoding plus 11 proxies
computed on CIFAR-10 images) reaches 0.32 / 0.59 / 0.71 / 0.78 / 0.81.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from evaluator_nb201_common import DEFAULT_CACHE, DEFAULT_DATA, build, load_cache, read_table
from scipy.stats import kendalltau
from torch import fx

from archlab.evaluator.predictors import Ensemble, FeatureRecord, FeatureTable
from archlab.evaluator.structure import structure_features
from archlab.spaces import load_space
from archlab.spaces.nb201 import from_arch_string

SIZES = (10, 23, 56, 209, 500)
TEST = 200
REFERENCE = dict(zip(SIZES, (0.32, 0.59, 0.71, 0.78, 0.81), strict=True))
FULL = ("enc", "cost", "struct", "proxy")
VARIANTS = {  # name: (ensemble members, feature groups, encoding down-weighted in distances)
    "ensemble": (["gp", "gbt", "ridge"], FULL, True),
    "gp": (["gp"], FULL, True),
    "gbt": (["gbt"], FULL, True),
    "ridge": (["ridge"], FULL, True),
    "ensemble, unweighted": (["gp", "gbt", "ridge"], FULL, False),
    "ensemble, no structure": (["gp", "gbt", "ridge"], ("enc", "cost", "proxy"), True),
    "ensemble, encoding only": (["gp", "gbt", "ridge"], ("enc",), True),
}


def common_proxies(records: dict[str, dict]) -> list[str]:
    """The proxies every cached cell has (the cache may hold some cells with the data-free ones only)."""
    names = set.intersection(*(set(r["proxies"]) for r in records.values()))
    return sorted(names)


def features(records: dict[str, dict], proxies: list[str]) -> dict[str, FeatureRecord]:
    space = load_space("nb201")
    return {a: FeatureRecord(encoding=space.encode(from_arch_string(a)),
                             cost={"params": r["params"], "flops": r["flops"]},
                             structure=structure_features(fx.symbolic_trace(build(a))),
                             proxies={k: r["proxies"][k] for k in proxies})
            for a, r in records.items()}


def tau(variant: tuple[list[str], tuple[str, ...], bool], train: list[str], test: list[str],
        feats: dict[str, FeatureRecord], target: dict[str, float], seed: int) -> float:
    members, groups, weighted = variant
    table = FeatureTable.fit([feats[a] for a in train], groups=groups)
    model = Ensemble(members, seed=seed).fit(table.matrix([feats[a] for a in train]),
                                             np.array([target[a] for a in train]),
                                             table.column_weights() if weighted else None)
    mean, _ = model.predict(table.matrix([feats[a] for a in test]))
    return float(kendalltau(mean, [target[a] for a in test]).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--batch", type=int, default=16, help="batch of the cached proxies")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = read_table(args.data)
    records = load_cache(args.cache, args.batch)
    if len(records) < TEST + max(SIZES):
        raise SystemExit(f"{len(records)} cells cached; {TEST + max(SIZES)} needed: run "
                         "benchmarks/evaluator_proxy_fidelity_nb201.py first")
    proxies = common_proxies(records)
    feats, target = features(records, proxies), {a: float(table[a]["cifar10_val200"]) for a in records}
    cells = sorted(records)
    print(f"{len(cells)} cells; proxies every cell has: {', '.join(proxies)}; test {TEST} cells, "
          f"{args.seeds} seeds; Kendall tau against cifar10_val200")
    results: dict[str, dict[int, list[float]]] = {v: {n: [] for n in SIZES} for v in args.variants}
    for seed in range(args.seeds):
        order = cells[:]
        random.Random(seed).shuffle(order)
        test, rest = order[:TEST], order[TEST:]
        for name in args.variants:
            for n in SIZES:
                results[name][n].append(tau(VARIANTS[name], rest[:n], test, feats, target, seed))
        print(f"  seed {seed} done", flush=True)
    header = "".join(f"{n:>14d}" for n in SIZES)
    print(f"\n{'predictor':26s}{header}")
    print(f"{'reference (GBT, CIFAR ZC)':26s}" + "".join(f"{REFERENCE[n]:14.2f}" for n in SIZES))
    for name in args.variants:
        row = results[name]
        print(f"{name:26s}" + "".join(f"{np.mean(row[n]):8.3f} ±{np.std(row[n]):.2f}" for n in SIZES))
    if args.json:
        args.json.write_text(json.dumps({"sizes": SIZES, "test": TEST, "seeds": args.seeds, "reference": REFERENCE,
                                         "proxies": proxies,
                                         "results": {k: {str(n): v for n, v in r.items()}
                                                     for k, r in results.items()}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
