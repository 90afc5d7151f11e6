"""Discovery on three tasks of your own, against hand-designed reference models with the same recipe.

    python benchmarks/own_tasks.py [--budget 15m] [--seeds 3] [--tasks digits,tabular,series] [--json FILE]

Three tasks built from data that ships offline, each added with `archlab.Task.from_arrays` exactly as a user
would: scikit-learn's digits as 8x8 images (1, 8, 8), a tabular set from `make_classification` (20 features,
4 classes), and a multivariate time series generated here (3 channels, length 64, 4 classes: a class sets which
channels carry a chirp and where it starts, under noise). Each is searched in the space `space: auto` picks for
its inputs (image2d, vector, seq1d). For each task and seed s, one offline discovery (`archlab.discover`, search
seed s, training seed s, `budget` of search), after which the run trains its reference models (images: CNN,
ResNet-8, MLP; feature vectors: MLP, ResNet-MLP; sequences: FCN, ResNet, GRU) with the task's recipe at the
best candidate's fidelity on training seed s. Printed per task: the found architecture's test accuracy
mean ± s.d. over the seeds, each reference's, the best reference (by validation), the gap and whether it is more
than the seed spread, and parameters. Everything runs in one temporary workspace; nothing is typed in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import archlab
from archlab.run.settings import parse_duration


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images[:, None].astype(np.float32), d.target  # (N, 1, 8, 8): one channel, 8x8


def tabular() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=3000, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
                               n_clusters_per_class=2, class_sep=1.0, flip_y=0.02, random_state=0)
    return x.astype(np.float32), y


def series(n: int = 2400, length: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Class k: channels (k mod 3) and ((k + 1) mod 3) carry a chirp; it starts early for k < 2, late otherwise."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n)
    t = np.linspace(0, 1, length)
    x = rng.normal(0, 0.8, (n, 3, length)).astype(np.float32)
    for i, k in enumerate(y):
        start = rng.uniform(0.05, 0.3) if k < 2 else rng.uniform(0.45, 0.7)
        window = (t >= start) & (t < start + 0.3)
        chirp = np.sin(2 * np.pi * (4 + 12 * (t - start)) * (t - start)) * window
        for c in (k % 3, (k + 1) % 3):
            x[i, c] += chirp * rng.uniform(0.8, 1.2)
    return x, y


TASKS = {"digits": digits, "tabular": tabular, "series": series}


def one_run(name: str, x: np.ndarray, y: np.ndarray, seed: int, budget: float, ws: Path) -> dict:
    cut = int(0.8 * len(y))
    task = archlab.Task.from_arrays(f"own-{name}", x[:cut], y[:cut], x_test=x[cut:], y_test=y[cut:], steps=600,
                                    batch_size=64, max_params=200_000, workspace=ws)
    began = time.perf_counter()
    result = archlab.discover(task, budget=budget, seed=seed, workspace=ws,
                              config={"evaluation": {"seed": seed, "reference_seeds": 1}})
    found = result.best
    return {"seed": seed, "seconds": time.perf_counter() - began, "run": result.run_id, "space": result.space,
            "found": {"id": found.candidate_id, "summary": found.summary, "params": found.params,
                      "test_acc": found.metrics["test_acc"], "val_acc": found.metrics["val_acc"]} if found else None,
            "references": {r.summary.split(":")[0]: {"params": r.params, "test_acc": r.metrics["test_acc"],
                                                     "val_acc": r.metrics["val_acc"]} for r in result.references},
            "comparison": result.comparison}


def summarise(name: str, runs: list[dict]) -> dict:
    found = [r["found"]["test_acc"] for r in runs if r["found"]]
    refs = sorted({k for r in runs for k in r["references"]})
    per_ref = {k: [r["references"][k]["test_acc"] for r in runs if k in r["references"]] for k in refs}
    val = {k: statistics.fmean(r["references"][k]["val_acc"] for r in runs if k in r["references"]) for k in refs}
    best = max(refs, key=lambda k: val[k]) if refs else None
    out = {"task": name, "space": runs[0]["space"], "seeds": len(runs), "found": _stat(found),
           "found_params": statistics.median(r["found"]["params"] for r in runs if r["found"]) if found else None,
           "references": {k: _stat(v) for k, v in per_ref.items()},
           "reference_params": {k: statistics.median(r["references"][k]["params"] for r in runs
                                                     if k in r["references"]) for k in refs},
           "best_reference": best}
    if best and found:
        gap = out["found"]["mean"] - out["references"][best]["mean"]
        spread = max(out["found"]["sd"], out["references"][best]["sd"])
        judged = len(found) > 1  # one seed has no spread to weigh the gap against
        out.update(gap=gap, beats_beyond_spread=gap > spread if judged else None,
                   within_spread=abs(gap) <= spread if judged else None,
                   fewer_params=out["found_params"] <= out["reference_params"][best])
    return out


def _stat(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values) if values else float("nan"),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def show(s: dict) -> None:
    f = s["found"]
    print(f"\n{s['task']}: {s['seeds']} seed(s), searched in {s['space']}")
    print(f"  found      test acc {f['mean']:.4f} ± {f['sd']:.4f}  params {s['found_params']:,.0f}")
    for k, v in s["references"].items():
        mark = "  <- best by validation" if k == s["best_reference"] else ""
        print(f"  {k:<10} test acc {v['mean']:.4f} ± {v['sd']:.4f}  params {s['reference_params'][k]:,.0f}{mark}")
    if "gap" in s:
        verdict = ("one seed: no spread to judge the gap by" if s["beats_beyond_spread"] is None else
                   "beats it by more than the seed spread" if s["beats_beyond_spread"] else
                   "within the seed spread" if s["within_spread"] else "below it by more than the seed spread")
        print(f"  found - best reference: {s['gap']:+.4f} ({verdict}; "
              f"{'no more' if s['fewer_params'] else 'more'} parameters)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", default="15m", help="search budget per run (default 15m)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    budget = parse_duration(args.budget)
    results = []
    with tempfile.TemporaryDirectory(prefix="own-tasks-") as tmp:
        for name in args.tasks.split(","):
            x, y = TASKS[name]()
            runs = [one_run(name, x, y, seed, budget, Path(tmp) / "ws") for seed in range(args.seeds)]
            summary = summarise(name, runs)
            show(summary)
            results.append({**summary, "runs": runs})
    if args.json:
        args.json.write_text(json.dumps({"budget_s": budget, "tasks": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
