"""The task registry."""

from __future__ import annotations

from archlab.errors import ConfigError
from archlab.evaluator.tasks.base import Task, TaskData
from archlab.evaluator.tasks.mnist1d import MNIST1D

TASKS: dict[str, Task] = {t.name: t for t in (MNIST1D,)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


__all__ = ["TASKS", "Task", "TaskData", "get_task"]
