"""Cost metrics of a built model: parameters, FLOPs (counted by torch), latency, training-step memory.

Latency is the median of timed repeats after warm-up runs, in eval mode without gradients, at batch 1
and at the task's batch. Peak memory is that of one AdamW training step (forward, backward, update)
from a fresh optimizer: on CUDA the allocator's peak; on CPU torch's profiler memory timeline (every
allocation and free torch made during the step) plus the parameters, which exist before it starts.
For language models, training throughput (tokens/s) and peak memory are measured at several
sequence lengths with the same number of tokens per batch, where quadratic attention shows its cost.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archlab.evaluator.harness import task_loss
from archlab.evaluator.task import TaskSpec

WARMUP = 2
REPEATS = 7
MAX_TIMING_S = 2.0  # stop repeating early on a slow model; at least 3 repeats are always timed
LM_TOKENS_PER_BATCH = 4096
MB = 1024 * 1024


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, example: torch.Tensor) -> int:
    """Forward FLOPs for `example` (torch counts a multiply-add as 2 FLOPs; matmul and conv only)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(example)
    return int(counter.get_total_flops())


def median_seconds(run: Callable[[], Any], device: torch.device, warmup: int = WARMUP,
                   repeats: int = REPEATS) -> float:
    """Median wall time of `run` after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times: list[float] = []
    budget_end = time.perf_counter() + MAX_TIMING_S
    for i in range(repeats):
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        times.append(time.perf_counter() - start)
        if i >= 2 and time.perf_counter() > budget_end:
            break
    return statistics.median(times)


def latency_ms(model: nn.Module, task: TaskSpec, batch: int, device: torch.device) -> float:
    x = task.example(batch, torch.Generator().manual_seed(0)).to(device)
    model.eval()
    with torch.no_grad():
        return 1000 * median_seconds(lambda: model(x), device)


def train_step(model: nn.Module, task: TaskSpec, batch: int, device: torch.device) -> Callable[[], None]:
    """A closure running one AdamW step on random inputs of the task's shapes."""
    gen = torch.Generator().manual_seed(0)
    x, y = task.example(batch, gen).to(device), task.random_targets(batch, gen).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        task_loss(model(x), y).backward()
        opt.step()

    return step


def peak_train_memory_mb(model: nn.Module, task: TaskSpec, batch: int, device: torch.device) -> tuple[float, str]:
    """(peak MB of one training step, how it was measured)."""
    model.train()
    step = train_step(model, task, batch, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) / MB, "cuda-allocator"
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return (params + _profiled_peak_bytes(step)) / MB, "profiler"


def _profiled_peak_bytes(step: Callable[[], None]) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # Deprecated in favour of a CUDA-only recorder; the CPU timeline is what exists for CPUs, and
        # pyproject pins torch exactly, so it cannot vanish under us.
        warnings.simplefilter("ignore", FutureWarning)
        path = Path(tmp) / "memory.json"
        prof.export_memory_timeline(str(path), device="cpu")
        _, sizes = json.loads(path.read_text())  # sizes: bytes per category at each event
    return int(max((sum(row) for row in sizes), default=0))


def sequence_costs(build: Callable[[TaskSpec], nn.Module], task: TaskSpec, lengths: tuple[int, ...],
                   device: torch.device) -> dict[str, dict[str, float]]:
    """Training tokens/s and peak step memory at each length, LM_TOKENS_PER_BATCH tokens a batch.

    The model is built anew for each length (a learned position table is sized by it).
    """
    results = {}
    for length in lengths:
        spec = task.with_length(length)
        batch = max(1, LM_TOKENS_PER_BATCH // length)
        model = build(spec).to(device)
        model.train()
        seconds = median_seconds(train_step(model, spec, batch, device), device, warmup=1, repeats=3)
        peak, method = peak_train_memory_mb(build(spec).to(device), spec, batch, device)
        results[str(length)] = {"batch": batch, "tokens_per_s": batch * length / seconds,
                                "peak_train_mb": peak, "peak_method": method}
    return results


def cost_profile(build: Callable[[TaskSpec], nn.Module], task: TaskSpec, device: torch.device,
                 lengths: tuple[int, ...] = ()) -> dict[str, Any]:
    """Every cost metric of a model; `build(spec)` makes a fresh one (the training step changes weights)."""
    model = build(task).to(device).eval()
    example = task.example(1, torch.Generator().manual_seed(0)).to(device)
    metrics: dict[str, Any] = {
        "params": count_params(model), "flops": count_flops(model, example),
        "latency_ms_b1": latency_ms(model, task, 1, device),
        "latency_ms_batch": latency_ms(model, task, task.batch_size, device), "latency_batch": task.batch_size,
    }
    peak, method = peak_train_memory_mb(build(task).to(device), task, task.batch_size, device)
    metrics.update(peak_train_mb=peak, peak_method=method)
    if task.kind == "lm" and lengths:
        metrics["sequence"] = sequence_costs(build, task, lengths, device)
    return metrics


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
