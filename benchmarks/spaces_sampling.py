"""Sampling, compiling and building derivations of every built-in space, on each space's task shapes.

    python benchmarks/spaces_sampling.py [--samples 1000] [--spaces seq1d,nb201,lmblocks] [--json FILE]

For each space: N derivations are sampled (derivations per second), compiled to candidate source
(per second), then each source is executed, built for the space's task shapes and run forward on a
batch of 2 (share that succeeds, and per second). Also the exact number of derivations within the
space's limits. One thread, as the sandbox gives a job on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import types
from pathlib import Path

import torch

from archlab.evaluator.task import TaskSpec
from archlab.spaces import Space, list_spaces, load_space
from archlab.spaces.count import count_derivations

# The shapes each space is built for: MNIST-1D for seq1d, CIFAR-10 for nb201, bytes at length 128.
TASKS = {
    "seq1d": TaskSpec(name="mnist1d", input_shape=(1, 40), num_outputs=10),
    "nb201": TaskSpec(name="nb201-cifar10", input_shape=(3, 32, 32), num_outputs=10),
    "lmblocks": TaskSpec(name="bytes-lm", input_shape=(128,), num_outputs=256),
}
BATCH = 2


def example_input(space: Space, task: TaskSpec) -> torch.Tensor:
    if space.grammar.blocks.input_kind == "tokens":
        return torch.randint(0, task.num_outputs, (BATCH, *task.input_shape))
    return torch.randn(BATCH, *task.input_shape)


def measure(name: str, samples: int, seed: int) -> dict:
    space, task = load_space(name), TASKS[name]
    rng = random.Random(seed)
    began = time.perf_counter()
    trees = [space.sample(rng) for _ in range(samples)]
    sampled = time.perf_counter()
    sources = [space.compile(tree) for tree in trees]
    compiled = time.perf_counter()
    failures, params = [], []
    x = example_input(space, task)
    for tree, source in zip(trees, sources, strict=True):
        try:
            module = types.ModuleType("candidate")
            exec(compile(source, "candidate.py", "exec"), module.__dict__)  # noqa: S102 - our own compiler's output
            model = module.build_model(task)
            with torch.no_grad():
                out = model(x)
            if out.shape[0] != BATCH or out.shape[-1] != task.num_outputs or not torch.isfinite(out).all():
                raise ValueError(f"bad output {tuple(out.shape)}")
            params.append(sum(p.numel() for p in model.parameters()))
        except Exception as exc:  # noqa: BLE001 - every failure is a finding to report
            failures.append(f"{space.summary(tree)}: {type(exc).__name__}: {exc}")
    built = time.perf_counter()
    params.sort()
    return {
        "space": name, "samples": samples, "built_ok": samples - len(failures),
        "derivations": count_derivations(space.grammar),
        "sample_per_s": round(samples / (sampled - began), 1),
        "compile_per_s": round(samples / (compiled - sampled), 1),
        "build_forward_per_s": round(samples / (built - compiled), 1),
        "params_min": params[0] if params else None, "params_median": params[len(params) // 2] if params else None,
        "params_max": params[-1] if params else None, "failures": failures[:5],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--spaces", default=",".join(s for s in TASKS if s in list_spaces()))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    figures = []
    print(f"{'space':<9} {'built':>11} {'derivations':>12} {'sample/s':>9} {'compile/s':>10} "
          f"{'build+fwd/s':>12}  params")
    for name in args.spaces.split(","):
        row = measure(name, args.samples, args.seed)
        figures.append(row)
        print(f"{name:<9} {row['built_ok']:>5}/{row['samples']:<5} {row['derivations']:>12.3g} "
              f"{row['sample_per_s']:>9} {row['compile_per_s']:>10} {row['build_forward_per_s']:>12}  "
              f"{row['params_min']:,}..{row['params_max']:,} (median {row['params_median']:,})")
        for failure in row["failures"]:
            print("   failed:", failure)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(row["built_ok"] == row["samples"] for row in figures) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
