"""The task registry."""

from __future__ import annotations

from pathlib import Path

from archlab.errors import ConfigError
from archlab.evaluator.tasks.base import Task, TaskData
from archlab.evaluator.tasks.bytes_lm import BYTES_LM, LanguageModelTask
from archlab.evaluator.tasks.digits import DIGITS
from archlab.evaluator.tasks.mnist1d import MNIST1D, MNIST1D_10K, MNIST1D_SHUFFLED
from archlab.evaluator.tasks.nb201 import NB201_TASKS, TabularTask

TASKS: dict[str, Task] = {t.name: t for t in (MNIST1D, MNIST1D_SHUFFLED, MNIST1D_10K, DIGITS, BYTES_LM,
                                              *NB201_TASKS)}


def get_task(name: str, data_dir: Path | None = None) -> Task:
    """The task of that name; data_dir is where tasks with shipped data (the nb201 table) find it."""
    try:
        task = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None
    if isinstance(task, TabularTask) and data_dir is not None:
        return task.with_data_dir(data_dir)
    return task


__all__ = ["TASKS", "LanguageModelTask", "TabularTask", "Task", "TaskData", "get_task"]
