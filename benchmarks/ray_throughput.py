"""Jobs through the Ray backend against the process backend: per-job overhead for a trivial job and an
MNIST-1D training job, throughput of several jobs at once, and jobs/hour for N GPUs on paper.

    python benchmarks/ray_throughput.py [--jobs 5] [--steps 200] [--address ADDR] [--json FILE]

Without --address the Ray backend starts a local cluster on this machine (what `sandbox.backend: ray`
does without `ray.address`). Each job runs the same process-backend isolation in both rows, so the
difference is Ray's own: submitting the task, shipping inputs through the object store, a Ray worker
running the sandbox, the result coming back. Rows are interleaved (process, ray, process, ...) so a
neighbour's load hits both alike; medians. The first Ray job (worker start, imports) is reported
apart and left out of the medians.

On paper: a GPU node runs one job at a time per GPU; with a job taking T seconds on a GPU and Ray
adding o seconds, N GPUs finish N * 3600 / (T + o) jobs an hour, as long as the driver keeps up
(run_many submits every job at once, and Ray schedules thousands of tasks a second). T for a GPU is
an assumption (--gpu-job-s); o is measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, Limits, Sandbox, make_sandbox
from archlab.sandbox.base import RayOptions

TRIVIAL = "from torch import nn\n\ndef build_model(task):\n    return nn.Sequential(nn.Flatten(), nn.Linear(40, 10))\n"
CONV = """
from torch import nn

def build_model(task):
    return nn.Sequential(nn.Conv1d(1, 16, 5, padding=2), nn.ReLU(), nn.Conv1d(16, 16, 5, padding=2), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(8), nn.Flatten(), nn.Linear(128, task.num_outputs))
"""
TASK = get_task("mnist1d")
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64)


def jobs(data: Path, steps: int) -> dict[str, Job]:
    limits = Limits(wall_s=600, threads=1, memory_mb=2048)
    return {
        "trivial": Job(stage="build", source=TRIVIAL, task=TASK.spec.model_dump(), params={"device": "cpu"},
                       limits=limits),
        "mnist1d": Job(stage="train", source=CONV, task=TASK.spec.model_dump(), limits=limits,
                       params={"steps": steps, "data": "data.npz", "device": "cpu", "seed": 0},
                       files={"data.npz": data}),
    }


def timed(sandbox: Sandbox, job: Job) -> float:
    began = time.perf_counter()
    result = sandbox.run(job)
    assert result.status == "ok", result.error
    return time.perf_counter() - began


def batch(sandbox: Sandbox, job: Job, count: int) -> float:
    """Wall seconds for `count` copies of the job: all at once through Ray, one after another otherwise."""
    began = time.perf_counter()
    if hasattr(sandbox, "run_many"):
        results = [r for _, r in sandbox.run_many([job] * count)]
    else:
        results = [sandbox.run(job) for _ in range(count)]
    assert all(r.status == "ok" for r in results), [r.error for r in results]
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5, help="timed jobs per kind and backend")
    parser.add_argument("--steps", type=int, default=200, help="training steps of the MNIST-1D job")
    parser.add_argument("--address", help="a running Ray cluster; default: a local one")
    parser.add_argument("--gpu-job-s", type=float, default=60.0, help="assumed seconds of one job on a GPU")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kinds = jobs(TASK.job_inputs(Path(tmp)), args.steps)
        process = make_sandbox("process")
        began = time.perf_counter()
        ray = make_sandbox("ray", ray=RayOptions(address=args.address))
        connect_s = time.perf_counter() - began
        first_s = timed(ray, kinds["trivial"])  # a Ray worker starts and imports archlab once
        times: dict[str, dict[str, list[float]]] = {k: {"process": [], "ray": []} for k in kinds}
        for _ in range(args.jobs):
            for kind, job in kinds.items():
                times[kind]["process"].append(timed(process, job))
                times[kind]["ray"].append(timed(ray, job))
        parallel = {"jobs": 4, "process_s": batch(process, kinds["trivial"], 4),
                    "ray_s": batch(ray, kinds["trivial"], 4)}
        ray.close()
    figures: dict = {"ray_connect_s": round(connect_s, 2), "ray_first_job_s": round(first_s, 2), "jobs": args.jobs,
                     "rows": {}, "parallel_trivial": {k: round(v, 2) for k, v in parallel.items()}}
    print(f"Ray cluster {'joined' if args.address else 'started'} in {connect_s:.1f} s; first job {first_s:.1f} s "
          "(worker start)")
    print(f"{'job':<10}{'process s':>11}{'ray s':>9}{'overhead s':>12}{'overhead %':>12}")
    for kind, rows in times.items():
        proc, ray_ = statistics.median(rows["process"]), statistics.median(rows["ray"])
        figures["rows"][kind] = {"process_median_s": round(proc, 3), "ray_median_s": round(ray_, 3),
                                 "overhead_s": round(ray_ - proc, 3),
                                 "overhead_pct": round(100 * (ray_ - proc) / proc, 1)}
        print(f"{kind:<10}{proc:>11.2f}{ray_:>9.2f}{ray_ - proc:>12.2f}{100 * (ray_ - proc) / proc:>11.1f}%")
    print(f"4 trivial jobs: process one after another {parallel['process_s']:.1f} s, Ray all at once "
          f"{parallel['ray_s']:.1f} s (the cluster's CPUs bound it)")
    overhead = max(figures["rows"]["mnist1d"]["overhead_s"], 0.0)
    per_hour = {n: round(n * 3600 / (args.gpu_job_s + overhead)) for n in GPU_COUNTS}
    figures["on_paper"] = {"gpu_job_s": args.gpu_job_s, "overhead_s": overhead, "jobs_per_hour": per_hour}
    print(f"on paper, {args.gpu_job_s:g} s per job on a GPU + {overhead:.2f} s Ray overhead:")
    print("  " + "  ".join(f"{n} GPU{'s' if n > 1 else ''}: {v}/h" for n, v in per_hour.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
