"""Benchmark 5: what the evaluator costs on this CPU.

    python benchmarks/evaluator_speed.py [--cells 5] [--samples 10] [--budget 10m] [--json FILE]

1. Seconds per candidate for the whole proxy suite (11 proxies, each on a fresh build), with the
   default batches: nb201 networks on a batch of 64 synthetic 3x32x32 images; seq1d networks on a
   batch of 64 MNIST-1D training signals; --threads torch threads.
2. Evaluation throughput of `archlab run` on MNIST-1D for --budget wall-clock, through the process
   sandbox: with the cascade (screen, predict, 300 then 1,500 steps, confirmation) and without it (every
   accepted candidate trained for 1,500 steps); candidates per hour at each stage. With --parallel the
   two runs go at once, each pinned to a CPU of its own (same machine, same load for both), instead of
   one after the other on every CPU.
--cells 0 / --samples 0 skip a proxy-suite timing.
The machine's load average is printed with the figures: on a shared CPU it moves them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import yaml
from sqlmodel import Session, select

from archlab.evaluator.proxies import compute_proxies, make_batch
from archlab.evaluator.tasks import get_task
from archlab.run.settings import parse_duration
from archlab.spaces import load_space
from archlab.store import Candidate, Evaluation, open_store, sqlite_url

ROOT = Path(__file__).resolve().parents[1]
CIFAR = get_task("nb201-cifar10").spec
MNIST1D = get_task("mnist1d")


def builder(space, tree, spec):
    module = types.ModuleType("candidate")
    exec(compile(space.compile(tree), "candidate.py", "exec"), module.__dict__)
    return lambda: module.build_model(spec)


def proxy_suite_seconds(space_name: str, spec, count: int, data: dict | None) -> dict:
    space, rng = load_space(space_name), random.Random(0)
    batch, source = make_batch(spec, 64, seed=0, data=data)
    totals, per_proxy = [], {}
    for _ in range(count):
        build = builder(space, space.sample(rng), spec)
        start = time.perf_counter()
        report = compute_proxies(build, batch, seed=0, source=source)
        totals.append(time.perf_counter() - start)
        for name, seconds in report.seconds.items():
            per_proxy.setdefault(name, []).append(seconds)
    return {"candidates": count, "batch": 64, "inputs": source, "median_s": statistics.median(totals),
            "mean_s": statistics.mean(totals), "per_proxy_median_s": {k: statistics.median(v)
                                                                      for k, v in per_proxy.items()}}


def run_throughput(cascade: bool, budget: str, seed: int, cpu: int | None = None) -> dict:
    """One `archlab run` of `budget` wall clock; on CPU `cpu` only when given (Linux)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws, config = Path(tmp) / "ws", Path(tmp) / "run.yaml"
        cfg = {"task": "mnist1d", "space": "seq1d", "budget": budget, "seed": seed,
               "evaluation": {"steps": 1500, "cascade": {"enabled": cascade,
                                                         "rungs": [{"steps": 300, "keep": 1 / 3}, {"steps": 1500}]}}}
        config.write_text(yaml.safe_dump(cfg))
        env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws)}
        start = time.perf_counter()
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        subprocess.run([sys.executable, "-m", "archlab", "run", "-c", str(config)], env=env, check=True,
                       capture_output=True, timeout=parse_duration(budget) + 900, preexec_fn=pin)
        hours = (time.perf_counter() - start) / 3600
        with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
            evals = s.exec(select(Evaluation)).all()
            candidates = s.exec(select(Candidate)).all()
    ok_train = [e for e in evals if e.stage == "train" and e.status == "ok"]
    counts = {"proposed": len(candidates), "built": sum(e.stage == "build" and e.status == "ok" for e in evals),
              "screened": sum(e.stage == "screen" and e.status == "ok" for e in evals),
              "trained@300": sum(e.fidelity == 300 and e.seed == seed for e in ok_train),
              "trained@1500": sum(e.fidelity == 1500 and e.seed == seed for e in ok_train),
              "confirmation runs": sum(e.seed != seed for e in ok_train)}
    best = max((e.metrics["val_acc"] for e in ok_train if e.fidelity == 1500), default=None)
    return {"cascade": cascade, "cpu": cpu, "hours": hours, "counts": counts,
            "per_hour": {k: v / hours for k, v in counts.items()}, "best_val_acc_at_1500": best}


def throughputs(budget: str, parallel: bool) -> list[tuple[bool, dict]]:
    """(cascade?, figures) for a run with the cascade and one without."""
    if not parallel:
        return [(cascade, run_throughput(cascade, budget, seed=0)) for cascade in (True, False)]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--parallel needs two CPUs")
    with ThreadPoolExecutor(2) as pool:
        futures = [(cascade, pool.submit(run_throughput, cascade, budget, 0, cpu))
                   for cascade, cpu in zip((True, False), cpus, strict=False)]
        return [(cascade, future.result()) for cascade, future in futures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=5, help="nb201 networks to time")
    parser.add_argument("--samples", type=int, default=10, help="seq1d networks to time")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", default="10m", help="wall clock of each `archlab run`; 0 skips them")
    parser.add_argument("--parallel", action="store_true", help="both runs at once, one CPU each")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    data = MNIST1D.data(ROOT / ".archlab" / "cache")
    figures = {"threads": args.threads, "load_average_start": os.getloadavg()[0]}
    if args.cells:
        figures["nb201"] = proxy_suite_seconds("nb201", CIFAR, args.cells, None)
    if args.samples:
        figures["seq1d"] = proxy_suite_seconds("seq1d", MNIST1D.spec, args.samples,
                                               {"x_train": data.x_train, "y_train": data.y_train})
    for name in ("nb201", "seq1d"):
        if name not in figures:
            continue
        f = figures[name]
        slowest = sorted(f["per_proxy_median_s"].items(), key=lambda kv: -kv[1])[:3]
        print(f"proxy suite, {name} ({f['candidates']} networks, batch 64, {f['inputs']} inputs): median "
              f"{f['median_s']:.1f} s per candidate, mean {f['mean_s']:.1f} s; slowest: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in slowest))
    if parse_duration(args.budget):
        for cascade, result in throughputs(args.budget, args.parallel):
            figures["cascade" if cascade else "plain"] = result
            rates = ", ".join(f"{k} {v:.0f}/h" for k, v in result["per_hour"].items())
            label = "cascade" if cascade else "no cascade"
            where = f", CPU {result['cpu']} only" if result["cpu"] is not None else ""
            print(f"archlab run on MNIST-1D, {label} ({result['hours'] * 60:.1f} min{where}): {rates}; "
                  f"best val acc at 1,500 steps {result['best_val_acc_at_1500']}")
    figures["load_average_end"] = os.getloadavg()[0]
    print(f"load average at the end {figures['load_average_end']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
