"""Per-job overhead of the sandbox backends for a trivial candidate, against the same work in-process.

    python benchmarks/sandbox_overhead.py [--jobs 5] [--backends process,docker] [--json FILE]

Each job builds and fingerprints a one-layer model (the `build` stage). In-process: the stage called
directly in this already-warm interpreter. Sandboxed: `Sandbox.run`, so a fresh interpreter (or
container) that imports torch, plus the backend's own cost. Overhead = median sandboxed wall time minus
median in-process time. For scale, `fresh python` runs the same stage in a bare subprocess (no
isolation): imports, torch's lazy first-call costs, exit; the part of the overhead no backend avoids
without a warm worker. The backend's own cost is its row minus that one. Medians, because the
machine is shared; rows are interleaved so that a neighbour's load hits them alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archlab.evaluator.stages import run_stage
from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, Limits, Sandbox, make_sandbox

TRIVIAL = "from torch import nn\n\ndef build_model(task):\n    return nn.Sequential(nn.Flatten(), nn.Linear(40, 10))\n"
TASK = get_task("mnist1d")
PARAMS = {"device": "cpu", "seed": 0}


def in_process(jobs: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(TRIVIAL)
        for _ in range(jobs + 1):  # the first call pays one-off imports: dropped
            began = time.perf_counter()
            run_stage("build", path, TASK.spec.model_dump(), PARAMS, Path(tmp))
            times.append(time.perf_counter() - began)
    return times[1:]


FRESH = """
import sys, pathlib
from archlab.evaluator.stages import run_stage
from archlab.evaluator.tasks import get_task
folder = pathlib.Path(sys.argv[1])
run_stage("build", folder / "candidate.py", get_task("mnist1d").spec.model_dump(), {"device": "cpu"}, folder)
"""


def fresh_python() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "candidate.py").write_text(TRIVIAL)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", FRESH, tmp], check=True)
        return time.perf_counter() - began


def sandboxed(sandbox: Sandbox) -> float:
    job = Job(stage="build", source=TRIVIAL, task=TASK.spec.model_dump(), params=PARAMS, limits=Limits(wall_s=120))
    began = time.perf_counter()
    result = sandbox.run(job)
    assert result.status == "ok", result.error
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--backends", default="process,docker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sandboxes = {name: make_sandbox(name) for name in args.backends.split(",")}
    base = statistics.median(in_process(args.jobs))
    times: dict[str, list[float]] = {"fresh python": []} | {name: [] for name in sandboxes}
    try:
        for _ in range(args.jobs):
            for name in times:
                times[name].append(fresh_python() if name == "fresh python" else sandboxed(sandboxes[name]))
    finally:
        for sandbox in sandboxes.values():
            sandbox.close()
    figures = {"in_process_s": round(base, 3), "jobs": args.jobs, "rows": {}}
    fresh = statistics.median(times["fresh python"])
    print(f"{'run':<13}{'median s':>10}{'min s':>8}{'max s':>8}{'overhead s':>12}{'own cost s':>12}")
    print(f"{'in-process':<13}{base:>10.3f}")
    for name, row in times.items():
        med = statistics.median(row)
        figures["rows"][name] = {"median_s": round(med, 3), "min_s": round(min(row), 3), "max_s": round(max(row), 3),
                                 "overhead_s": round(med - base, 3), "own_cost_s": round(med - fresh, 3)}
        print(f"{name:<13}{med:>10.3f}{min(row):>8.3f}{max(row):>8.3f}{med - base:>12.3f}{med - fresh:>12.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
