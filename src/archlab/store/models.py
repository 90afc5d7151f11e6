"""Tables of the workspace store. JSON columns hold the open-ended parts (metrics, artifacts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunBase(SQLModel):
    task: str
    space: str
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    budget_s: float | None = None
    max_evals: int | None = None
    objective: str = "val_acc"  # the metric that ranks the run's results (store/objective.py)
    minimize: bool = False  # lower objective is better (bits per byte, log-loss, errors)


class Run(RunBase, table=True):
    id: str = Field(primary_key=True)
    status: str = "running"  # running | finished | stopped | failed
    stop_reason: str | None = None
    used_s: float = 0.0  # wall seconds spent, summed over every process that worked on the run
    pid: int | None = None  # the process driving it now; a dead pid means it was killed
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CandidateBase(SQLModel):
    run_id: str | None = Field(default=None, index=True)
    step: int | None = None
    origin: str  # sample | mutate | user
    parent_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    rationale: str = ""
    source: str
    derivation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    derivation_hash: str | None = Field(default=None, index=True)
    summary: str = ""


class Candidate(CandidateBase, table=True):
    id: str = Field(primary_key=True)
    status: str = "proposed"  # proposed | accepted | rejected | failed | evaluated
    reason: str | None = None  # why rejected or failed
    fingerprint: str | None = Field(default=None, index=True)
    graph_hash: str | None = Field(default=None, index=True)
    probe_hash: str | None = None
    params: int | None = None
    flops: int | None = None
    parent_delta: float | None = None  # analyst: validation accuracy minus the best parent's
    created_at: datetime = Field(default_factory=utcnow)


class Evaluation(SQLModel, table=True):
    """One stage of one candidate at one fidelity and seed; never run twice (see the constraint)."""

    __table_args__ = (UniqueConstraint("fingerprint", "task", "stage", "fidelity", "seed"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: str = Field(index=True)
    run_id: str | None = Field(default=None, index=True)
    fingerprint: str
    task: str
    stage: str  # build | train
    fidelity: int  # training steps; 0 for build
    seed: int
    status: str  # a sandbox JobStatus
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    artifacts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    error: str | None = None
    wall_s: float = 0.0
    peak_memory_mb: float | None = None
    sandbox_image: str | None = None  # the container image's digest when a container backend ran the stage
    created_at: datetime = Field(default_factory=utcnow)
