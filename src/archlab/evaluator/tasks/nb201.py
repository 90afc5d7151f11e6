"""Tabular NAS-Bench-201 tasks: `nb201-cifar10`, `nb201-cifar100`, `nb201-imagenet16`.

A candidate of the `nb201` space is not trained: its cell is looked up in `nb201.csv` (15,625 cells).
Its fidelities are the benchmark's training lengths: 12 epochs (`<dataset>_val12`, the low fidelity)
and 200 epochs (`<dataset>_val200`, the high one). The score a search may select on is that validation
accuracy; the 200-epoch test accuracy (`<dataset>_test200`) is returned for reporting only, at either
fidelity, since the table has no 12-epoch test column for CIFAR-100 and ImageNet16-120. Accuracies
are fractions (the table's percentages / 100), as every other task reports them.

The table is found in `data_dir` (setting `data_dir`, environment ARCHLAB_DATA_DIR, holding `nb201/`),
by default `../shared/data/nb201` beside the repository this module lives in.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archlab.errors import ConfigError
from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData

FIDELITIES = (12, 200)  # training epochs the table holds
# src/archlab/evaluator/tasks/nb201.py -> the checkout; its data beside it (ARCHLAB_DATA_DIR overrides).
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[5] / "shared" / "data"
TABLE = "nb201/nb201.csv"


@functools.cache
def load_table(path: Path) -> dict[str, dict[str, str]]:
    """nb201.csv as {cell string: row}, read once per path."""
    try:
        with path.open(newline="") as handle:
            return {row["arch"]: row for row in csv.DictReader(handle)}
    except OSError as exc:
        raise ConfigError(f"cannot read the NAS-Bench-201 table {path}: {exc.strerror}; set data_dir "
                          "(ARCHLAB_DATA_DIR) to the folder holding nb201/nb201.csv") from None


def _no_training_data() -> TaskData:
    raise ConfigError("a tabular task has no training data: its results come from the table")


@dataclass(frozen=True)
class TabularTask(Task):
    dataset: str = "cifar10"  # the column prefix in nb201.csv
    data_dir: Path | None = None

    tabular = True

    def with_data_dir(self, data_dir: Path | None) -> TabularTask:
        return dataclasses.replace(self, data_dir=data_dir)

    @property
    def table_path(self) -> Path:
        return (self.data_dir or DEFAULT_DATA_DIR) / TABLE

    def data(self, cache_dir: Path) -> TaskData:
        return _no_training_data()

    def job_inputs(self, cache_dir: Path) -> Path:
        raise ConfigError(f"task {self.name} runs no training job; zero-cost proxies use synthetic inputs")

    def lookup(self, arch: str, epochs: int) -> dict[str, Any]:
        """Validation accuracy after `epochs` (12 or 200), and the 200-epoch test accuracy to report."""
        if epochs not in FIDELITIES:
            raise ConfigError(f"task {self.name} has results after {' and '.join(map(str, FIDELITIES))} "
                              f"epochs, not {epochs}")
        row = load_table(self.table_path).get(arch)
        if row is None:
            raise ConfigError(f"cell {arch!r} is not in {self.table_path}")
        metrics: dict[str, Any] = {"val_acc": float(row[f"{self.dataset}_val{epochs}"]) / 100,
                                   "test_acc": float(row[f"{self.dataset}_test200"]) / 100,
                                   "epochs": epochs, "index": int(row["index"])}
        if epochs == 12 and f"{self.dataset}_test12" in row:
            metrics["test12_acc"] = float(row[f"{self.dataset}_test12"]) / 100
        return metrics


def _task(dataset: str, shape: tuple[int, ...], classes: int, label: str) -> TabularTask:
    return TabularTask(
        spec=TaskSpec(name=f"nb201-{dataset}", input_shape=shape, num_outputs=classes,
                      max_params=2_000_000, default_steps=200, batch_size=64),
        generate=_no_training_data, version=f"nb201-table-{dataset}", dataset=dataset,
        description=f"NAS-Bench-201 on {label}, looked up: 12- and 200-epoch validation accuracy")


NB201_TASKS = (
    _task("cifar10", (3, 32, 32), 10, "CIFAR-10"),
    _task("cifar100", (3, 32, 32), 100, "CIFAR-100"),
    _task("imagenet16", (3, 16, 16), 120, "ImageNet16-120"),
)
