"""The host's check of what a train job reported: results no honest run of the fixed harness can give.

The candidate shares its process with the worker, so it can rewrite anything the worker reports
(monkeypatch the harness or torch), and it can try to learn held-out labels some other way (rebuild
a generated data set). Labels never enter the sandbox and accuracy is computed on the host, so what
remains is to reject the impossible, with the reason, as suspected leakage or tampering:

- metrics that only the host computes (accuracies and other scores of held-out data);
- a learning curve that is not the harness's: wrong steps, a final loss that is not its last point,
  a loss that is negative or not finite, or a start far below where any fresh model starts;
- accuracy above what the task allows at this fidelity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

HOST_METRICS = frozenset({"val_acc", "test_acc"})  # and whatever else the task's scoring returns
# The curve's first point is the mean loss over the first 5% of steps, taken from a fresh initialisation
# (loss near ln(classes): 2.3 for ten, 5.5 for bytes) during the one-cycle warm-up, which starts at a
# 25th of the peak learning rate. A late loss can honestly get tiny (a strong CNN on MNIST-1D measured
# 0.0026 after 400 steps); a first window two orders of magnitude under ln(classes) cannot, while a
# patched loss function that returns 0 gives exactly that.
FIRST_WINDOW_FLOOR = 0.01


@dataclass(frozen=True)
class Ceiling:
    """The best accuracy believable on a task: `full` after `full_steps` steps of the fixed harness or
    more; fewer steps allow less of the way up from chance, by the square root of the fraction (a short
    run of a good model can get well ahead of a line from chance; a leak scores near `full` at any step)."""

    chance: float
    full: float
    full_steps: int

    def at(self, steps: int) -> float:
        return self.chance + (self.full - self.chance) * min(1.0, math.sqrt(max(steps, 0) / self.full_steps))


# MNIST-1D: a strong CNN measured with the fixed harness reaches 0.23 / 0.51 / 0.85 / 0.96 test accuracy
# at 25 / 50 / 100 / 200 steps; 0.995 leaves room for better models than ours, and the ramp to it (0.50 at
# 10 steps, 0.73 at 25) is far steeper than that CNN's: a linear ramp (0.28 at 10 steps) rejected honest
# quick tries of the chat; only labels that came from elsewhere (the generator rerun, say) go past it.
CEILINGS = {"mnist1d": Ceiling(chance=0.1, full=0.995, full_steps=50)}


def suspected_leakage(task: str, steps: int, metrics: dict[str, Any], scores: dict[str, float]) -> str | None:
    """Why this train result cannot be honest, or None when it may be."""
    return (_claimed_scores(metrics, scores) or _curve_problem(steps, metrics)
            or _accuracy_problem(task, steps, scores))


def _claimed_scores(metrics: dict[str, Any], scores: dict[str, float]) -> str | None:
    claimed = sorted((HOST_METRICS | scores.keys()) & metrics.keys())
    return f"the job reported {', '.join(claimed)}, which only the host computes" if claimed else None


def _curve_problem(steps: int, metrics: dict[str, Any]) -> str | None:
    curve, final = metrics.get("curve"), metrics.get("train_loss")
    if "steps" in metrics and metrics["steps"] != steps:
        return f"the job says it trained {metrics['steps']!r} steps, {steps} were asked"
    if not isinstance(curve, list) or not curve or not all(_point(p) for p in curve):
        return "the learning curve is missing or malformed"
    points = [(int(s), float(v)) for s, v in curve]
    if [s for s, _ in points] != sorted({s for s, _ in points}) or points[-1][0] > steps:
        return "the learning curve's steps are out of order or beyond the budget"
    bad = [v for _, v in points if not math.isfinite(v) or v < 0]
    if bad:
        return f"a training loss of {bad[0]} is impossible for cross-entropy"
    if not isinstance(final, int | float) or final != points[-1][1]:
        return "the final training loss is not the curve's last point"
    if points[0][1] < FIRST_WINDOW_FLOOR:
        return (f"the first window's mean loss {points[0][1]:.3g} is far below where a fresh model starts "
                f"(floor {FIRST_WINDOW_FLOOR:g})")
    return None


def _point(point: Any) -> bool:
    return (isinstance(point, list | tuple) and len(point) == 2 and isinstance(point[0], int)
            and isinstance(point[1], int | float))


def _accuracy_problem(task: str, steps: int, scores: dict[str, float]) -> str | None:
    ceiling = CEILINGS.get(task)
    if ceiling is None:
        return None
    limit = ceiling.at(steps)
    for name in ("val_acc", "test_acc"):
        if scores.get(name, 0.0) > limit:
            return f"{name} {scores[name]:.4f} is above what {task} allows at {steps} steps ({limit:.4f})"
    return None
