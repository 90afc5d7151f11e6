"""Training throughput inside the sandbox against in-process, on a ~30-second MNIST-1D training job.

    python benchmarks/sandbox_throughput.py [--seconds 30] [--rounds 3] [--backends process,docker] [--json FILE]

The step count is calibrated in-process so that training takes about --seconds; then the same `train`
stage (same model, steps, seed, thread count) runs in-process and in each backend, interleaved over
--rounds rounds (the machine is shared: a neighbour's load lands on every row alike). Throughput is
steps per second of training as the harness times it inside the job (what isolation costs the
compute); the ratio is sandboxed / in-process, of the medians; the job's whole wall time beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from archlab.evaluator.stages import run_stage
from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, Limits, Sandbox, make_sandbox

MODEL = """
from torch import nn

def build_model(task):
    return nn.Sequential(nn.Conv1d(1, 32, 5, padding=2), nn.ReLU(), nn.Conv1d(32, 32, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(8), nn.Flatten(), nn.Linear(256, task.num_outputs))
"""
TASK = get_task("mnist1d")
THREADS = 2


def train_in_process(data: Path, steps: int) -> tuple[float, float]:
    """(train seconds as the harness measured them, wall seconds of the stage)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "candidate.py").write_text(MODEL)
        (Path(tmp) / "data.npz").symlink_to(data)
        began = time.perf_counter()
        out = run_stage("train", Path(tmp) / "candidate.py", TASK.spec.model_dump(), params(steps), Path(tmp))
        return out["metrics"]["train_seconds"], time.perf_counter() - began


def params(steps: int) -> dict:
    return {"steps": steps, "batch_size": 128, "lr": 1e-2, "seed": 0, "device": "cpu", "data": "data.npz"}


def train_sandboxed(sandbox: Sandbox, data: Path, steps: int) -> tuple[float, float]:
    job = Job(stage="train", source=MODEL, task=TASK.spec.model_dump(), params=params(steps),
              files={"data.npz": data}, limits=Limits(wall_s=600, threads=THREADS))
    began = time.perf_counter()
    result = sandbox.run(job)
    assert result.status == "ok", result.error
    return result.metrics["train_seconds"], time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="process,docker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sandboxes = {name: make_sandbox(name) for name in args.backends.split(",")}  # the image is fixed from here on
    torch.set_num_threads(THREADS)
    cache = Path(tempfile.gettempdir()) / "archlab-bench-data"
    data = TASK.job_inputs(cache)
    probe_s, _ = train_in_process(data, 100)
    steps = max(100, int(args.seconds * 100 / probe_s))
    runs: dict[str, list[tuple[float, float]]] = {"in-process": []} | {b: [] for b in sandboxes}
    try:
        for _ in range(args.rounds):
            for name in runs:
                runs[name].append(train_in_process(data, steps) if name == "in-process"
                                  else train_sandboxed(sandboxes[name], data, steps))
    finally:
        for sandbox in sandboxes.values():
            sandbox.close()
    rows = {name: (statistics.median(t for t, _ in r), statistics.median(w for _, w in r)) for name, r in runs.items()}
    base_train, base_wall = rows["in-process"]
    figures = {"steps": steps, "threads": THREADS, "rounds": args.rounds, "rows": {},
               "train_s_each": {name: [round(t, 2) for t, _ in r] for name, r in runs.items()}}
    print(f"{steps} steps, {THREADS} threads, medians of {args.rounds} interleaved rounds")
    print(f"{'run':<12}{'train s':>9}{'steps/s':>9}{'ratio':>7}{'wall s':>8}{'wall ratio':>11}")
    for name, (train_s, wall_s) in rows.items():
        ratio, wall_ratio = base_train / train_s, base_wall / wall_s
        figures["rows"][name] = {"train_s": round(train_s, 2), "steps_per_s": round(steps / train_s, 1),
                                 "ratio": round(ratio, 3), "wall_s": round(wall_s, 2),
                                 "wall_ratio": round(wall_ratio, 3)}
        print(f"{name:<12}{train_s:>9.2f}{steps / train_s:>9.1f}{ratio:>7.3f}{wall_s:>8.2f}{wall_ratio:>11.3f}")
    print("train s of each round:", figures["train_s_each"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
