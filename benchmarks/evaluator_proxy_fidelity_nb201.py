"""Benchmark 2: how well each zero-cost proxy ranks NAS-Bench-201 cells, against cifar10_test200.

    python benchmarks/evaluator_proxy_fidelity_nb201.py [--cells 1000] [--batch 16] [--proxies ...] [--json FILE]

Cells: the 491 cells of naslib_zc_nb201.json, then cells drawn uniformly at random (seed 0) from the
rest of the 15,625, up to --cells. Every proxy is computed on SYNTHETIC inputs (a fixed batch of
Gaussian 3x32x32 images with uniformly random labels, seed 0): there are no CIFAR images here.
synflow, zen and l2_norm read no data by definition, so for them this is the paper's setting; for the
others it is not. Values are cached in .archlab/bench/nb201_proxies.jsonl (reused by the other
benchmarks); --proxies limits what is computed for cells not cached yet (e.g. only the data-free
ones, a few times cheaper than the whole suite), and every row says over how many cells it holds.
Figures: Spearman rho and Kendall tau of each proxy (and params, FLOPs) against the
200-epoch CIFAR-10 test accuracy; the published synflow figure over all 15,625 cells is rho 0.737.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from evaluator_nb201_common import DEFAULT_CACHE, DEFAULT_DATA, ensure_records, finite, read_table, sample_cells
from scipy.stats import kendalltau, spearmanr

from archlab.evaluator.proxies import DATA_FREE, PROXIES


def fidelity(records: dict[str, dict], table: dict, target: str) -> dict[str, dict]:
    """Each measure's rank correlation with `target`, over the cells where it is finite; a proxy no cached
    cell has (not asked for with --proxies) is left out rather than shown as NaN."""
    names = ["params", "flops", *PROXIES]
    rows = {}
    for name in names:
        pairs = [(_value(r, name), float(table[a][target])) for a, r in records.items()]
        pairs = [(v, t) for v, t in pairs if finite(v)]
        if len(pairs) < 2:
            continue
        values, truth = zip(*pairs, strict=True)
        rows[name] = {"cells": len(pairs), "spearman": float(spearmanr(values, truth).statistic),
                      "kendall": float(kendalltau(values, truth).statistic),
                      "inputs": "none (data-free)" if name in DATA_FREE | {"params", "flops"} else "synthetic"}
    return rows


def _value(record: dict, name: str) -> float | None:
    return record[name] if name in ("params", "flops") else record["proxies"].get(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16, help="synthetic proxy batch size")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--shard", default="0/1", help="i/n: compute only every n-th missing cell, from the i-th "
                        "(parallel processes sharing the cache)")
    parser.add_argument("--proxies", nargs="*", choices=list(PROXIES), help="compute only these for new cells")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shard = tuple(int(part) for part in args.shard.split("/"))
    torch.set_num_threads(args.threads)
    table = read_table(args.data)
    cells = sample_cells(table, args.data, args.cells, seed=0)
    print(f"{len(cells)} cells, proxies on synthetic inputs (batch {args.batch}, seed 0), torch {torch.__version__}")
    records = ensure_records(cells, args.cache, args.batch, shard=(shard[0], shard[1]), names=args.proxies)
    if len(records) < len(cells):
        print(f"{len(records)} of {len(cells)} cells cached so far: figures when every shard has finished")
        return
    rows = fidelity(records, table, "cifar10_test200")
    print(f"\n{'proxy':10s} {'cells':>6s} {'spearman':>9s} {'kendall':>8s} {'s/cell':>7s}  inputs")
    for name, row in sorted(rows.items(), key=lambda kv: -abs(kv[1]["spearman"])):
        timed = [r["seconds"][name] for r in records.values() if name in r["seconds"]]
        seconds = sum(timed) / len(timed) if timed else 0.0
        row["seconds_per_cell"] = seconds
        print(f"{name:10s} {row['cells']:6d} {row['spearman']:9.3f} {row['kendall']:8.3f} {seconds:7.2f}  "
              f"{row['inputs']}")
    whole = [r["total_seconds"] for r in records.values() if set(PROXIES) <= set(r["seconds"])]
    per_cell = sum(whole) / len(whole) if whole else None
    suite = f"whole suite: {per_cell:.1f} s per cell (one CPU thread)" if whole else "whole suite: not computed"
    print(f"\n{suite}; published synflow rho over 15,625 cells: 0.737")
    if args.json:
        args.json.write_text(json.dumps({"cells": len(cells), "batch": args.batch, "target": "cifar10_test200",
                                         "proxies": rows, "seconds_per_cell": per_cell}, indent=2) + "\n")


if __name__ == "__main__":
    main()
