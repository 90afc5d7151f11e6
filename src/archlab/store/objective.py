"""What ranks a run's results: its task's objective metric and direction, kept on the run record.

Every listing, strategy, front and report ranks through an Objective, so a task scored by bits per byte, log-loss
or an error is never ranked by accuracy. `key` is the objective as a number where higher is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# How a metric (the part after val_ / test_) reads in a sentence and in a column header.
NAMES = {"acc": ("accuracy", "acc"), "bpb": ("bits per byte", "bpb"),
         "balanced_accuracy": ("balanced accuracy", "bal. acc"), "macro_f1": ("macro-F1", "macro-F1"),
         "auroc": ("AUROC", "AUROC"), "log_loss": ("log-loss", "log-loss"), "mse": ("mean squared error", "MSE"),
         "mae": ("mean absolute error", "MAE"), "r2": ("R²", "R²")}


@dataclass(frozen=True)
class Objective:
    metric: str = "val_acc"  # a validation metric: the run selects on it
    minimize: bool = False

    @property
    def base(self) -> str:
        return self.metric.removeprefix("val_")

    @property
    def test(self) -> str:
        """The same metric on the test split (reported, never selected on)."""
        return f"test_{self.base}"

    @property
    def label(self) -> str:
        """'validation accuracy', 'validation bits per byte'."""
        return f"validation {NAMES.get(self.base, (self.base.replace('_', ' '),))[0]}"

    @property
    def short(self) -> str:
        """A column header: 'val acc', 'val bpb'."""
        return f"val {NAMES.get(self.base, (None, self.base))[1]}"

    @property
    def test_short(self) -> str:
        """The same header on the test split: 'test acc', 'test bpb'."""
        return self.short.replace("val", "test", 1)

    @property
    def direction(self) -> str:
        return "lower is better" if self.minimize else "higher is better"

    def value(self, metrics: dict[str, Any] | None, split: str = "val") -> float | None:
        """The metric on this split as stored (None when the result has none, or it is not a finite number)."""
        raw = (metrics or {}).get(self.metric if split == "val" else f"{split}_{self.base}")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return None
        return float(raw)

    def key(self, metrics: dict[str, Any] | None, split: str = "val") -> float:
        """The metric as a number where higher is better (-inf for a result without it)."""
        value = self.value(metrics, split)
        return -math.inf if value is None else self.oriented(value)

    def oriented(self, value: float) -> float:
        """A value of the metric turned so that higher is better (its own inverse)."""
        return -value if self.minimize else value

    def best(self, values, key=None, default=None):
        """The best of `values` (by `key(v)`, a value of the metric; the earliest among equals)."""
        return max(values, key=lambda v: self.oriented(key(v) if key else v), default=default)

    def improvement(self, new: float, old: float) -> float:
        """How much better `new` is than `old`, positive when better, in the metric's own units."""
        return self.oriented(new) - self.oriented(old)


ACCURACY = Objective()


def of_run(run: Any | None) -> Objective:
    """The objective a run record carries (validation accuracy for a missing run)."""
    if run is None:
        return ACCURACY
    return Objective(getattr(run, "objective", None) or "val_acc", bool(getattr(run, "minimize", False)))


def of_task(task: Any) -> Objective:
    """The objective of an evaluator Task (its `objective` metric and `minimize`)."""
    return Objective(task.objective, bool(task.minimize))
