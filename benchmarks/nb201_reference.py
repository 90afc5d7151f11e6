"""Checks the built-in `nb201` space against NAS-Bench-201 reference data and prints the figures.

    python benchmarks/nb201_reference.py [--data DIR] [--json FILE] [--samples 1000] [--forward 1000]

DIR holds nb201.csv and naslib_zc_nb201.json (default: ../shared/data/nb201 from the repo root).
Figures: params and FLOPs of the generated network against NASLib's values for 491 cells, the
string round trip and the canonical classes over all 15,625 cells, and sampling/compile speed.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archlab.spaces import load_space
from archlab.spaces.nb201 import canonical, from_arch_string, from_naslib_ops, to_arch_string

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201"
TASK = SimpleNamespace(input_shape=(3, 32, 32), num_outputs=10)  # CIFAR-10, as in the reference


def build(source: str) -> nn.Module:
    namespace: dict = {}
    exec(compile(source, "<nb201>", "exec"), namespace)
    return namespace["build_model"](TASK).eval()


def torchstat_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs as torchstat (tensorwatch, used by NASLib) counts them, per leaf module.

    conv and linear: multiply-adds without bias; BatchNorm: 2 per element when affine; ReLU: 1 per
    element; AvgPool2d: kernel area per output element; AdaptiveAvgPool2d: 1 per input element.
    """
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * kh * kw * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            total += module.in_features * output.numel()
        elif isinstance(module, nn.BatchNorm2d):
            total += output.numel() * (2 if module.affine else 1)
        elif isinstance(module, nn.ReLU):
            total += inputs[0].numel()
        elif isinstance(module, nn.AvgPool2d):
            total += output.numel() * module.kernel_size**2
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            total += inputs[0].numel()

    handles = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return total


def flop_counter_macs(model: nn.Module, x: torch.Tensor) -> float:
    """torch's FlopCounterMode counts 2 FLOPs per multiply-add of conv and matmul and nothing else."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2


def check_reference(zc_path: Path) -> dict:
    reference = json.loads(zc_path.read_text())["nasbench201"]["cifar10"]
    x = torch.zeros(1, *TASK.input_shape)
    space = load_space("nb201")
    worst: dict[str, float] = {"params": 0.0, "macs_conv_linear": 0.0, "flops_torchstat": 0.0}
    residual: set[float] = set()
    for key, values in reference.items():
        model = build(space.compile(from_arch_string(from_naslib_ops(ast.literal_eval(key)))))
        params = sum(p.numel() for p in model.parameters()) / 1e6
        macs = flop_counter_macs(model, x) / 1e6
        stat = torchstat_flops(model, x) / 1e6
        for name, ours in (("params", params), ("macs_conv_linear", macs), ("flops_torchstat", stat)):
            target = values["params" if name == "params" else "flops"]
            worst[name] = max(worst[name], abs(ours - target) / target)
        residual.add(round((values["flops"] - stat) * 1e6))
    return {"cells": len(reference), "max_rel_error": worst, "torchstat_residual_flops": sorted(residual)}


def check_strings(csv_path: Path) -> dict:
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    start = time.perf_counter()
    round_trips = sum(to_arch_string(from_arch_string(row["arch"])) == row["arch"] for row in rows)
    seconds = time.perf_counter() - start
    ours = [canonical(row["arch"]) for row in rows]
    return {
        "cells": len(rows),
        "round_trip_ok": round_trips,
        "round_trip_seconds": round(seconds, 3),
        "canonical_classes": len(set(ours)),
        "reference_classes": len({row["canonical"] for row in rows}),
        "canonical_equal_to_reference_column": sum(a == row["canonical"] for a, row in zip(ours, rows, strict=True)),
    }


def check_sampling(samples: int, forwards: int) -> dict:
    space = load_space("nb201")
    rng = random.Random(0)
    start = time.perf_counter()
    sources = [space.compile(space.sample(rng)) for _ in range(samples)]
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    models = [build(source) for source in sources]
    build_seconds = time.perf_counter() - start
    x = torch.randn(2, *TASK.input_shape)
    start = time.perf_counter()
    with torch.no_grad():
        shapes_ok = sum(tuple(model(x).shape) == (2, TASK.num_outputs) for model in models[:forwards])
    forward_seconds = time.perf_counter() - start
    return {
        "samples": samples,
        "sample_and_compile_per_s": round(samples / compile_seconds),
        "built": len(models),
        "build_per_s": round(samples / build_seconds, 1),
        "forwarded": min(forwards, samples),
        "forward_ok": shapes_ok,
        "forward_per_s": round(min(forwards, samples) / forward_seconds, 1),
    }


def timed(label: str, step: Callable[[], dict]) -> dict:
    start = time.perf_counter()
    figures = step()
    print(f"{label} ({time.perf_counter() - start:.1f} s)")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with nb201.csv and the NASLib JSON")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--forward", type=int, default=1000, help="how many of the samples run a forward pass")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (more only slow these tiny nets)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s)")
    figures = {
        "reference_491": timed(
            "params and FLOPs vs naslib_zc_nb201.json (cifar10)",
            lambda: check_reference(args.data / "naslib_zc_nb201.json"),
        ),
        "strings_15625": timed(
            "strings and canonical forms vs nb201.csv", lambda: check_strings(args.data / "nb201.csv")
        ),
        "sampling": timed(
            "sampling, compiling, building, forward (2,3,32,32)", lambda: check_sampling(args.samples, args.forward)
        ),
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
