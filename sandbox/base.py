"""What every sandbox backend takes and returns, and how a backend is chosen by name.

A backend runs one untrusted evaluation stage per `Sandbox.run` call. It never raises for what the
candidate does (loops, crashes, leaks, prints): that is reported in `JobResult.status`. It raises
`SandboxError` only when the backend itself is broken.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field, field_validator

from archlab.errors import ConfigError

# Names the worker protocol uses inside a job's work dir; a Job's `files` may not shadow them.
RESERVED_NAMES = frozenset({"job.json", "candidate.py", "result.json", "result.json.tmp", "started",
                            "home", "tmp"})


class JobStatus(StrEnum):
    OK = "ok"
    CANDIDATE_ERROR = "candidate_error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    KILLED = "killed"
    INFRA_ERROR = "infra_error"


class Limits(BaseModel):
    """Resource limits for one job; every field is enforced by the backend, none is advisory."""

    wall_s: float = Field(default=300, gt=0, description="wall clock for the whole job, imports included")
    memory_mb: int = Field(default=4096, gt=0, description="memory of the job's processes together")
    max_procs: int = Field(default=64, gt=0, description="processes the job may run at once")
    file_size_mb: int = Field(default=256, gt=0, description="largest file the job may write")
    threads: int = Field(default=2, gt=0, description="CPU threads for torch / OpenMP / MKL")
    output_cap_kb: int = Field(default=64, gt=0, description="tail of stdout and of stderr kept")


class Job(BaseModel):
    """One stage (`build`, `train`) of one candidate on one task."""

    stage: str
    source: str = Field(description="the candidate module's text")
    task: dict[str, Any] = Field(description="a TaskSpec, dumped")
    params: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, Path] = Field(default_factory=dict,
                                   description="host files copied into the work dir under these names")
    limits: Limits = Field(default_factory=Limits)

    @field_validator("files")
    @classmethod
    def _plain_names(cls, files: dict[str, Path]) -> dict[str, Path]:
        # A name like "../x" would place a host file outside the work dir.
        for name in files:
            if not name or "/" in name or name in (".", "..") or name in RESERVED_NAMES:
                raise ValueError(f"file name {name!r}: a plain name, not one of {sorted(RESERVED_NAMES)}")
        return files


class JobResult(BaseModel):
    status: JobStatus
    metrics: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="one human-readable line")
    artifacts: dict[str, str] = Field(default_factory=dict,
                                      description="stdout_tail, stderr_tail, traceback when present")
    wall_s: float
    peak_memory_mb: float | None = None


@runtime_checkable
class Sandbox(Protocol):
    def run(self, job: Job) -> JobResult:
        """Run one job to completion or to its limits; never raises for the candidate's behaviour."""
        ...

    def describe(self) -> dict[str, str]:
        """The backend's name and the protections active on this machine (for `archlab doctor`)."""
        ...

    def close(self) -> None:
        """Kill every job still running."""
        ...


BACKENDS = ("process",)


def make_sandbox(backend: str) -> Sandbox:
    """The sandbox backend with this name."""
    if backend == "process":
        from archlab.sandbox.process import ProcessSandbox  # lazy: process imports this module

        return ProcessSandbox()
    raise ConfigError(f"unknown sandbox backend {backend!r}; known backends: {', '.join(BACKENDS)}")
