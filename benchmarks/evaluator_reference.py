"""Benchmark 1: the evaluator against NASLib's reference values for the 491 cells of naslib_zc_nb201.json.

    python benchmarks/evaluator_reference.py [--data DIR] [--json FILE]

Figures (CIFAR-10 network: batch 1, 3x32x32 inputs, 10 classes):
- params from evaluator.cost.count_params against the reference's (millions): maximum relative error;
- FLOPs: evaluator.cost.count_flops (torch's FlopCounterMode: 2 per multiply-add of conv and matmul,
  nothing else) halved to multiply-adds, and the same network counted under the reference's torchstat
  convention (benchmarks/nb201_reference.py: conv/linear multiply-adds without bias, plus BatchNorm,
  ReLU and pooling), each against the reference's FLOPs: maximum relative error;
- synflow (data-free, so directly comparable): Spearman and Kendall of our value against the
  reference's over the 491 cells (target: Spearman >= 0.95), and the largest difference of the logs
  (the reference stores log synflow);
- the other proxies, from the cache of benchmarks/evaluator_proxy_fidelity_nb201.py when it holds
  these cells: computed there on synthetic inputs, while the reference used CIFAR-10 images, so these
  agreements measure how much the data matters as much as the implementation.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from evaluator_nb201_common import CIFAR10, DEFAULT_CACHE, DEFAULT_DATA, build, load_cache, reference
from nb201_reference import torchstat_flops
from scipy.stats import kendalltau, spearmanr

from archlab.evaluator.cost import count_flops, count_params
from archlab.evaluator.proxies import compute_proxies, make_batch

# NASLib's names for our proxies.
REFERENCE_NAMES = {"synflow": "synflow", "grad_norm": "grad_norm", "snip": "snip", "grasp": "grasp",
                   "fisher": "fisher", "jacob_cov": "jacov", "epe_nas": "epe_nas", "l2_norm": "l2_norm"}


def check_cost_and_synflow(ref: dict[str, dict]) -> tuple[dict, dict[str, float]]:
    x = torch.zeros(1, *CIFAR10.input_shape)
    batch, source = make_batch(CIFAR10, 1, seed=0)
    worst = {"params": 0.0, "flops_flopcounter_macs": 0.0, "flops_torchstat": 0.0}
    synflow: dict[str, float] = {}
    for arch, values in ref.items():
        model = build(arch).eval()
        ours = {"params": count_params(model) / 1e6, "flops_flopcounter_macs": count_flops(model, x) / 2e6,
                "flops_torchstat": torchstat_flops(model, x) / 1e6}
        for name, value in ours.items():
            target = values["params" if name == "params" else "flops"]
            worst[name] = max(worst[name], abs(value - target) / target)
        synflow[arch] = compute_proxies(lambda a=arch: build(a), batch, ["synflow"], source=source).values["synflow"]
    return worst, synflow


def agreement(ours: dict[str, float | None], ref: dict[str, dict], ref_name: str) -> dict:
    pairs = [(v, ref[a][ref_name]) for a, v in ours.items() if v is not None and math.isfinite(v)]
    a, b = zip(*pairs, strict=True)
    return {"cells": len(pairs), "spearman": float(spearmanr(a, b).statistic),
            "kendall": float(kendalltau(a, b).statistic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--batch", type=int, default=16, help="batch of the cached proxies to compare")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = reference(args.data)
    start = time.perf_counter()
    worst, synflow = check_cost_and_synflow(ref)
    figures: dict = {"cells": len(ref), "max_rel_error": worst}
    print(f"{len(ref)} reference cells ({time.perf_counter() - start:.0f} s)")
    for name, err in worst.items():
        print(f"  max relative error, {name}: {err:.2e}")
    logs = {a: math.log(v) for a, v in synflow.items() if v and v > 0}
    figures["synflow"] = agreement(logs, ref, "synflow")
    figures["synflow"]["max_abs_log_difference"] = max(abs(v - ref[a]["synflow"]) for a, v in logs.items())
    s = figures["synflow"]
    print(f"  synflow vs reference: Spearman {s['spearman']:.4f}, Kendall {s['kendall']:.4f} over {s['cells']} cells "
          f"(target Spearman >= 0.95); largest |log ours - log reference| {s['max_abs_log_difference']:.3f}")
    cached = load_cache(args.cache, args.batch)
    figures["other_proxies"] = {}
    if cached:
        print(f"  other proxies (ours on synthetic inputs, batch {args.batch}; the reference on CIFAR-10 images):")
        for ours_name, ref_name in REFERENCE_NAMES.items():
            values = {a: cached[a]["proxies"].get(ours_name) for a in ref if a in cached}
            if len(values) < 10:
                continue
            row = agreement(values, ref, ref_name)
            figures["other_proxies"][ours_name] = row
            print(f"    {ours_name:10s} Spearman {row['spearman']:+.3f}  Kendall {row['kendall']:+.3f}  "
                  f"({row['cells']} cells)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
