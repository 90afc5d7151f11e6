"""Shared by the evaluator's NAS-Bench-201 benchmarks: the table, the reference cells, and the proxies of
a cell computed once and cached (one JSON line per cell), so the benchmarks reuse each other's work.

Proxies here run on SYNTHETIC inputs (Gaussian images, uniformly random labels): no CIFAR images exist
on this machine. synflow, zen and l2_norm read no data by definition; the others are computed from
the same synthetic batch for every cell.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import random
import time
import types
from pathlib import Path

import torch
from torch import nn

from archlab.evaluator.cost import count_flops, count_params
from archlab.evaluator.proxies import compute_proxies, make_batch
from archlab.evaluator.task import TaskSpec
from archlab.spaces import load_space
from archlab.spaces.nb201 import from_arch_string, from_naslib_ops

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nb201"
DEFAULT_CACHE = ROOT / ".archlab" / "bench" / "nb201_proxies.jsonl"
CIFAR10 = TaskSpec(name="nb201-cifar10", input_shape=(3, 32, 32), num_outputs=10)


def read_table(data: Path) -> dict[str, dict[str, str]]:
    with (data / "nb201.csv").open(newline="") as handle:
        return {row["arch"]: row for row in csv.DictReader(handle)}


def reference(data: Path, dataset: str = "cifar10") -> dict[str, dict[str, float]]:
    """NASLib's values by cell string."""
    raw = json.loads((data / "naslib_zc_nb201.json").read_text())["nasbench201"][dataset]
    return {from_naslib_ops(ast.literal_eval(key)): values for key, values in raw.items()}


def sample_cells(table: dict, data: Path, count: int, seed: int) -> list[str]:
    """The 491 reference cells, then cells drawn uniformly at random from the rest up to `count`."""
    cells = list(reference(data))
    rest = sorted(set(table) - set(cells))
    random.Random(seed).shuffle(rest)
    return cells + rest[: max(0, count - len(cells))]


def build(arch: str, task: TaskSpec = CIFAR10) -> nn.Module:
    module = types.ModuleType("candidate")
    exec(compile(load_space("nb201").compile(from_arch_string(arch)), "candidate.py", "exec"), module.__dict__)
    return module.build_model(task)


def cell_record(arch: str, batch_size: int, names: list[str] | None = None) -> dict:
    """params, FLOPs and every proxy of one cell, with the seconds each took."""
    batch, source = make_batch(CIFAR10, batch_size, seed=0)
    start = time.perf_counter()
    model = build(arch).eval()
    record = {"arch": arch, "params": count_params(model),
              "flops": count_flops(model, torch.zeros(1, *CIFAR10.input_shape))}
    report = compute_proxies(lambda: build(arch), batch, names, seed=0, source=source)
    record.update(proxies=report.values, seconds=report.seconds, skipped=report.skipped, batch=batch_size,
                  data=source, total_seconds=time.perf_counter() - start)
    return record


def load_cache(path: Path, batch_size: int) -> dict[str, dict]:
    if not path.exists():
        return {}
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["arch"]: r for r in records if r.get("batch") == batch_size}


def ensure_records(cells: list[str], path: Path, batch_size: int, log_every: int = 50,
                   shard: tuple[int, int] = (0, 1), names: list[str] | None = None) -> dict[str, dict]:
    """Records for every cell, computing (and appending to the cache) those not cached yet.

    `names` limits the proxies computed for the missing cells (cached records keep what they hold, so
    a proxy's figures may cover fewer cells than another's: each figure says how many). With shard
    (i, n) this process computes only the missing cells at positions i, i + n, ... (several
    processes may share the cache file: each appends whole lines) and returns what is cached.
    """
    cached = load_cache(path, batch_size)
    missing = [c for k, c in enumerate(cells) if c not in cached and k % shard[1] == shard[0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with path.open("a") as handle:
        for i, arch in enumerate(missing, start=1):
            record = cell_record(arch, batch_size, names)
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            cached[arch] = record
            if i % log_every == 0 or i == len(missing):
                rate = (time.perf_counter() - start) / i
                print(f"  computed {i}/{len(missing)} cells, {rate:.1f} s/cell", flush=True)
    if shard[1] > 1:
        cached = load_cache(path, batch_size)
    return {c: cached[c] for c in cells if c in cached}


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
