"""A user's task against the built-in task with the same data: what the task-card path costs per training job.

    python benchmarks/user_task_overhead.py [--jobs 4] [--steps 300] [--json FILE]

The built-in `digits` task and a task card made from exactly its arrays and splits (scikit-learn's 8x8
digits, 1,150 / 287 / 360, saved as .npz files and added with `archlab.run.tasks.add_task`) train the same
small CNN, with the same steps, batch and seeds, through the same process sandbox, jobs interleaved. Printed:
median wall seconds per train job on each, their ratio, the one-off cost of adding the card (read, check,
hash) and of a run's first data preparation, and test accuracy on each (the user task standardises its inputs
with training statistics, the built-in one scales pixels to 0..1: accuracies may differ, times should not).
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

from archlab.evaluator.tasks import get_task
from archlab.evaluator.tasks.card import Recipe, Source, TaskCard
from archlab.run.tasks import add_task, resolve_task
from archlab.run.workspace import Workspace
from archlab.sandbox import Job, Limits, make_sandbox

CNN = """from torch import nn

def build_model(task):
    c = task.input_shape[0]
    return nn.Sequential(nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, task.num_outputs))
"""


def user_digits(folder: Path, ws: Workspace) -> tuple[float, float]:
    """The built-in digits data as a task card; (seconds to add it, seconds to prepare its data once)."""
    data = get_task("digits").data(folder / "cache")
    for split in ("train", "val", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        np.savez(folder / f"{split}.npz", x=x.reshape(len(x), -1), y=y)
    card = TaskCard(name="digits-card", data={s: Source(path=folder / f"{s}.npz") for s in ("train", "val", "test")},
                    input_shape=(1, 8, 8), recipe=Recipe(steps=1000, batch_size=64))
    began = time.perf_counter()
    add_task(ws, card, replace=True)
    added = time.perf_counter() - began
    began = time.perf_counter()
    resolve_task(ws, "digits-card").job_inputs(folder / "cache")
    return added, time.perf_counter() - began


def train(box, task, cache: Path, steps: int, seed: int) -> tuple[float, float]:
    job = Job(stage="train", source=CNN, task=task.spec.model_dump(),
              params={"steps": steps, "batch_size": 64, "lr": 0.01, "seed": seed, "device": "cpu", "data": "data.npz"},
              files={"data.npz": task.job_inputs(cache)}, limits=Limits(wall_s=600, threads=1))
    began = time.perf_counter()
    result = box.run(job)
    wall = time.perf_counter() - began
    if result.status != "ok":
        raise SystemExit(f"{task.name}: {result.status}: {result.error}")
    return wall, task.score(task.data(cache), result.outputs)["test_acc"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ws = Workspace(root=folder / "ws")
        added_s, prepared_s = user_digits(folder, ws)
        tasks = {"built-in digits": get_task("digits"), "task card digits": resolve_task(ws, "digits-card")}
        rows: dict[str, dict[str, list[float]]] = {name: {"wall_s": [], "test_acc": []} for name in tasks}
        box = make_sandbox("process")
        try:
            for seed in range(args.jobs):  # interleaved, so that load on the machine hits both alike
                for name, task in tasks.items():
                    wall, acc = train(box, task, folder / "cache", args.steps, seed)
                    rows[name]["wall_s"].append(wall)
                    rows[name]["test_acc"].append(acc)
        finally:
            box.close()
    figures = {name: {"median_wall_s": statistics.median(r["wall_s"]), "wall_s": r["wall_s"],
                      "test_acc_mean": statistics.mean(r["test_acc"]),
                      "test_acc_sd": statistics.stdev(r["test_acc"]) if len(r["test_acc"]) > 1 else 0.0}
               for name, r in rows.items()}
    ratio = figures["task card digits"]["median_wall_s"] / figures["built-in digits"]["median_wall_s"]
    print(f"{'task':<18} {'median s/job':>12} {'test acc (mean ± sd)':>22}")
    for name, f in figures.items():
        print(f"{name:<18} {f['median_wall_s']:>12.2f} {f['test_acc_mean']:>14.4f} ± {f['test_acc_sd']:.4f}")
    print(f"ratio card / built-in: {ratio:.3f}; adding the card {added_s:.3f} s, first data preparation "
          f"{prepared_s:.3f} s ({args.jobs} jobs each, {args.steps} steps, process sandbox)")
    if args.json:
        args.json.write_text(json.dumps({"jobs": args.jobs, "steps": args.steps, "ratio": ratio, "add_s": added_s,
                                         "prepare_s": prepared_s, "tasks": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
