"""What every sandbox backend takes and returns, and how a backend is chosen by name.

A backend runs one untrusted evaluation stage per `Sandbox.run` call. It never raises for what the
candidate does (loops, crashes, leaks, prints): that is reported in `JobResult.status`. It raises
`SandboxError` only when the backend itself is broken.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


def cpu_seconds(lim: Limits) -> int:
    """CPU time a job may use (RLIMIT_CPU on every backend): its wall clock times its threads, doubled (torch
    runs helper threads beside the compute pool), plus a minute for imports. A watched job meets its wall-clock
    deadline long before; the limit stops one whose starter died."""
    return int(2 * lim.wall_s * (lim.threads + 1)) + 60


class DockerOptions(BaseModel):
    """Settings of the Docker backend (`sandbox.docker` in the experiment config)."""

    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(default=None, description="image to run; default: the one `archlab sandbox "
                              "build-image` makes for this archlab source")
    gpus: bool = Field(default=False, description="request every GPU (device_requests); needs a CUDA torch image")


class RayOptions(BaseModel):
    """Settings of the Ray backend (`sandbox.ray` in the experiment config)."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(default=None, description="a running cluster (`auto`, `HOST:PORT`, "
                                "`ray://HOST:10001`); default: RAY_ADDRESS, else a local cluster on this machine")
    gpus_per_job: float = Field(default=0, ge=0, description="GPUs each job asks Ray for (0: CPU jobs)")
    retries: int = Field(default=1, ge=0, le=3, description="times a job lost with its node is run again elsewhere")
    object_store_mb: int = Field(default=256, ge=80, description="object store of a local cluster (job inputs only)")
    isolation: Literal["process", "docker"] = Field(
        default="process", description="what isolates a job on its node: the process backend, or the Docker "
        "backend with `sandbox.docker`'s settings (every node then needs dockerd and the sandbox image)")


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
    image: str | None = Field(default=None, description="the container image's digest, for container backends")


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


BACKENDS = ("process", "docker", "ray")


def make_sandbox(backend: str, docker: DockerOptions | None = None, ray: RayOptions | None = None) -> Sandbox:
    """The sandbox backend with this name; SandboxError when it cannot work on this machine."""
    if backend == "process":
        from archlab.sandbox.process import ProcessSandbox  # lazy: process imports this module

        return ProcessSandbox()
    if backend == "docker":
        from archlab.sandbox.docker import DockerSandbox  # lazy: needs the docker package

        return DockerSandbox(docker or DockerOptions())
    if backend == "ray":
        from archlab.sandbox.ray_backend import RaySandbox  # lazy: needs the ray package

        return RaySandbox(ray or RayOptions(), docker=docker)
    raise ConfigError(f"unknown sandbox backend {backend!r}; known backends: {', '.join(BACKENDS)}")
