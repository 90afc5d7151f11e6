"""Candidates in flight: the same offline discovery with 1 and with N candidates in flight, wall time and
trained candidates per minute.

    python benchmarks/inflight.py [--evals 6] [--steps 600] [--in-flight 1,2] [--threads 1] [--json FILE]

Each row is a real `archlab run` (mnist1d, offline, process sandbox, hashing embedder) in a fresh
workspace with the same seed; `--threads` is each job's CPU threads (sandbox.limits.threads), so that N
jobs at once fit the machine's cores. Time is the run's own (`used_s`, the store's figure: start-up of
the command excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlmodel import Session, select

from archlab.store import Evaluation, Run, open_store, sqlite_url


def one_run(width: int, evals: int, steps: int, threads: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="archlab-inflight-") as tmp:
        ws, config = Path(tmp) / "ws", Path(tmp) / "run.yaml"
        config.write_text(f"sandbox: {{slots: {width}, limits: {{threads: {threads}}}}}\n")
        env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing"}
        argv = [sys.executable, "-m", "archlab", "run", "-c", str(config), "--task", "mnist1d", "--max-evals",
                str(evals), "--steps", str(steps), "--seed", str(seed), "--in-flight", str(width), "--budget", "30m"]
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"in-flight {width}: the run failed:\n{done.stderr[-2000:]}")
        with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
            run = s.exec(select(Run)).one()
            trained = s.exec(select(Evaluation).where(Evaluation.stage == "train", Evaluation.status == "ok")).all()
            train_s = sum(e.wall_s for e in trained)
        return {"in_flight": width, "evaluations": len(trained), "run_s": round(run.used_s, 1),
                "train_job_s": round(train_s, 1), "per_min": round(len(trained) / run.used_s * 60, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=6)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--in-flight", default="1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [one_run(int(w), args.evals, args.steps, args.threads, args.seed) for w in args.in_flight.split(",")]
    base = rows[0]["run_s"]
    print(f"mnist1d, {args.evals} trained candidates of {args.steps} steps, {args.threads} thread(s) per job, "
          f"{os.cpu_count()} CPUs")
    print(f"{'in flight':>9} {'evals':>6} {'run s':>7} {'train jobs s':>13} {'evals/min':>10} {'speed-up':>9}")
    for row in rows:
        row["speedup"] = round(base / row["run_s"], 2)
        print(f"{row['in_flight']:>9} {row['evaluations']:>6} {row['run_s']:>7} {row['train_job_s']:>13} "
              f"{row['per_min']:>10} {row['speedup']:>9}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2))
    print("reproduce: python benchmarks/inflight.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
