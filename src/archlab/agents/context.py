"""The runtime context every node receives: services and settings, never checkpointed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from archlab.agents.config import SearchConfig
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.tasks import Task, TaskData
from archlab.memory.concept_memory import ConceptMemory
from archlab.sandbox.base import Limits, Sandbox
from archlab.spaces import Space
from archlab.store.objective import Objective, of_task

if TYPE_CHECKING:  # the client imports the openai package; an offline run never needs it
    from archlab.agents.evaluation.inflight import Pipeline
    from archlab.agents.llm.client import LLMClient


@dataclass
class RunContext:
    run_id: str | None  # None for a one-off `archlab eval`
    engine: Engine
    sandbox: Sandbox
    task: Task
    space: Space
    search: SearchConfig
    evaluation: EvaluationConfig
    limits: Limits
    cache_dir: Path
    seed: int = 0
    budget_s: float | None = None
    max_evals: int | None = None
    used_before_s: float = 0.0  # time spent by earlier processes on this run (resume)
    paused_s: float = 0.0  # time this process held the run paused (steering); not spent
    memory: ConceptMemory | None = None  # the workspace's concept memory; None for a one-off eval
    llm: LLMClient | None = None  # the LLM roles' client; None: every role in its offline form
    pipeline: Pipeline | None = None  # candidates in flight (agents/evaluation/inflight.py); None: one at a time
    started: float = field(default_factory=time.monotonic)
    _data: TaskData | None = None

    def session(self) -> Session:
        return Session(self.engine)

    def elapsed_s(self) -> float:
        return self.used_before_s + time.monotonic() - self.started - self.paused_s

    @property
    def data(self) -> TaskData:
        if self._data is None:
            self._data = self.task.data(self.cache_dir)
        return self._data

    @property
    def objective(self) -> Objective:
        """What ranks this run's results: the task's objective metric and direction."""
        return of_task(self.task)

    @property
    def steps(self) -> int:
        return self.evaluation.steps or self.task.spec.default_steps

    @property
    def batch_size(self) -> int:
        return self.evaluation.batch_size or self.task.spec.batch_size
