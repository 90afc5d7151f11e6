"""A task: its TaskSpec, how its data is made (and cached), and how predictions are scored.

`Task` is a classification task whose harness trains in the sandbox; `LanguageModelTask`
(tasks/bytes_lm.py) scores bits per byte; `TabularTask` (tasks/nb201.py) looks results up in a table
instead of training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archlab.evaluator.task import TaskSpec


@dataclass(frozen=True)
class TaskData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def candidate_view(self) -> dict[str, np.ndarray]:
        """What may enter a candidate's process: no validation or test labels."""
        return {"x_train": self.x_train, "y_train": self.y_train, "x_val": self.x_val, "x_test": self.x_test}


@dataclass(frozen=True)
class Task:
    spec: TaskSpec
    generate: Callable[[], TaskData]
    version: str  # bump when the data or split changes; part of the cache key
    description: str = ""
    # The hand-designed models (evaluator.references) a run trains beside the search with `references: auto`:
    # a built-in task has none (its context is the literature); a task of your own, those that fit its inputs.
    references: tuple[str, ...] = ()

    # How a result is ranked: this metric, higher is better unless `minimize`.
    objective = "val_acc"
    minimize = False
    # A tabular task answers from a table (lookup); every other task trains in the sandbox.
    tabular = False

    @property
    def name(self) -> str:
        return self.spec.name

    def score_of(self, metrics: dict[str, Any]) -> float:
        """The objective of a scored result as a number where higher is better (for ranking)."""
        value = float(metrics[self.objective])
        return -value if self.minimize else value

    @property
    def chance(self) -> float:
        """score_of a model that guesses uniformly (a hopeless result scores about this)."""
        return 1.0 / self.spec.num_outputs

    def data(self, cache_dir: Path) -> TaskData:
        """The task's data, generated once and cached as .npz under cache_dir."""
        path = cache_dir / f"{self.name}-{_short(self.version)}.npz"
        if path.exists():
            with np.load(path) as f:
                return TaskData(**{k: f[k] for k in f.files})
        data = self.generate()
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **data.__dict__)
        tmp.replace(path)  # atomic: a half-written cache is never read
        return data

    def job_inputs(self, cache_dir: Path) -> Path:
        """An .npz holding only the candidate view, written once, handed to sandbox jobs."""
        path = cache_dir / f"{self.name}-{_short(self.version)}-job.npz"
        if not path.exists():
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **self.data(cache_dir).candidate_view())
            tmp.replace(path)
        return path

    def train_params(self, data: TaskData) -> dict[str, Any]:
        """The task's training recipe as train-job params (harness.TrainConfig); the built-in tasks keep the
        harness' defaults."""
        return {}

    def score(self, data: TaskData, outputs: dict) -> dict[str, float]:
        """Accuracy of the predictions a train job returned, computed here, outside the sandbox."""
        return {
            "val_acc": _accuracy(outputs.get("val_pred"), data.y_val),
            "test_acc": _accuracy(outputs.get("test_pred"), data.y_test),
        }


def _accuracy(pred: list[int] | None, labels: np.ndarray) -> float:
    if pred is None or len(pred) != len(labels):
        raise ValueError(f"expected {len(labels)} predictions, got {None if pred is None else len(pred)}")
    return float(np.mean(np.asarray(pred) == labels))


def split_indices(n: int, sizes: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed permutation of range(n) cut into (first sizes[0], next sizes[1], the rest)."""
    order = np.random.default_rng(seed).permutation(n)
    a, b = sizes
    return order[:a], order[a:a + b], order[a + b:]


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]
