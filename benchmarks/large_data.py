"""A discovery on a training set of gigabytes: what each sandbox job's memory peaks at, against the same job on a
small training set of the same rows.

    python benchmarks/large_data.py [--gb 2] [--evals 3] [--steps 60] [--json FILE]

Writes a .npy training set of `--gb` GiB (rows (1, 512) float32, 4 classes: a sinusoid whose frequency is the
class, under noise; written in chunks, never held whole here), adds it as a task card (`archlab task add`'s
path: validation and test drawn from it, stratified), and runs an offline discovery of `--evals` candidates
with `--steps` training steps each. A twin task of 20,000 rows of the same generator, with as many validation
and test rows, runs the same search (same seed, same space, so the same candidates). Every train job's peak
memory (the sandbox's measurement of the job's processes) is printed for both, with the difference: the large
set's jobs read their rows a batch at a time from the job's file (evaluator/rows.py), so the difference is the
target's "more than its own model and batch" (aim: at most 300 MB). The host prepares the data in memory
(standardised copy, the job file), which is outside the jobs and reported as the host's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import archlab

ROW = (1, 512)
CHUNK = 50_000


def write_set(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """x.npy (rows, 1, 512) float32 and y.npy, written a chunk at a time."""
    x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32, shape=(rows, *ROW))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, rows)
    t = np.linspace(0, 1, ROW[1], dtype=np.float32)
    for start in range(0, rows, CHUNK):
        k = y[start:start + CHUNK]
        phase = rng.uniform(0, 2 * np.pi, (len(k), 1)).astype(np.float32)
        signal = np.sin(2 * np.pi * (3 + 2 * k[:, None]) * t + phase)
        x[start:start + len(k), 0] = signal + rng.normal(0, 1.0, (len(k), ROW[1])).astype(np.float32)
    x.flush()
    del x
    np.save(folder / "y.npy", y)
    return folder / "x.npy", folder / "y.npy"


def run(name: str, rows: int, args: argparse.Namespace, tmp: Path) -> dict:
    folder = tmp / name
    folder.mkdir()
    began = time.perf_counter()
    write_set(folder, rows)
    written = time.perf_counter() - began
    (folder / "card.yaml").write_text(
        f"name: {name}\ndata: {{train: {{path: x.npy, y: y.npy}}}}\n"
        f"split: {{val: {args.held / rows}, test: {args.held / rows}}}\n"
        f"recipe: {{steps: {args.steps}, batch_size: 64}}\nmax_params: 200000\n")
    task = archlab.Task.from_card(folder / "card.yaml", workspace=tmp / "ws")
    began = time.perf_counter()
    result = archlab.discover(task, budget="30m", max_evals=args.evals, seed=5, workspace=tmp / "ws",
                              config={"evaluation": {"references": "none"}})
    seconds = time.perf_counter() - began
    from sqlmodel import Session, select

    from archlab.store import Candidate, Evaluation, open_store, sqlite_url

    with Session(open_store(sqlite_url(tmp / "ws" / "archlab.db"))) as session:
        pairs = session.exec(select(Evaluation, Candidate).where(Evaluation.run_id == result.run_id,
                                                                 Evaluation.stage == "train",
                                                                 Evaluation.candidate_id == Candidate.id)).all()
    jobs = [{"summary": c.summary, "params": c.params, "peak_mb": e.peak_memory_mb, "status": e.status,
             "wall_s": e.wall_s} for e, c in pairs]
    size = (folder / "x.npy").stat().st_size
    return {"task": name, "rows": rows, "bytes": size, "write_s": written, "run_s": seconds, "jobs": jobs,
            "status": result.status}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--evals", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--held", type=int, default=2000, help="validation and test rows drawn from train (the "
                        "same for both sets: predicting them is part of each job's own memory)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = int(args.gb * (1 << 30) / (4 * ROW[0] * ROW[1]))
    with tempfile.TemporaryDirectory(prefix="large-data-", dir=Path.cwd()) as name:
        tmp = Path(name)
        large, small = run("large", rows, args, tmp), run("small", 20_000, args, tmp)
    host_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"training set: {large['bytes'] / 2**30:.2f} GiB ({large['rows']:,} rows of {ROW}), written in "
          f"{large['write_s']:.0f} s; the twin: {small['rows']:,} rows")
    print(f"discovery of {args.evals} candidates, {args.steps} steps: {large['run_s']:.0f} s large, "
          f"{small['run_s']:.0f} s small; host peak RSS {host_peak_mb:,.0f} MB")
    print(f"{'candidate':<60} {'params':>8} {'peak small':>11} {'peak large':>11} {'more':>8}")
    twins = {j["summary"]: j for j in small["jobs"]}
    worst = 0.0
    for job in large["jobs"]:
        twin = twins.get(job["summary"])
        more = job["peak_mb"] - twin["peak_mb"] if twin and job["peak_mb"] and twin["peak_mb"] else None
        worst = max(worst, more or 0.0)
        print(f"{job['summary'][:60]:<60} {job['params']:>8,} {twin['peak_mb'] if twin else float('nan'):>8.0f} MB "
              f"{job['peak_mb'] or float('nan'):>8.0f} MB {more if more is not None else float('nan'):>5.0f} MB")
    print(f"largest difference: {worst:.0f} MB (aim: at most 300 MB)")
    if args.json:
        args.json.write_text(json.dumps({"large": large, "small": small, "host_peak_mb": host_peak_mb,
                                         "worst_more_mb": worst}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
