"""Hostile candidates and the helpers every sandbox suite shares.

Each `*.py` here is a real candidate file, written to get past the static check the way a hostile
author would (`[__import__][0]("os")`), so the same files also go through `archlab eval`.
`__PORT__` and `__OUTSIDE__` are filled in by the test that runs them.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from archlab.errors import SandboxError
from archlab.sandbox import JobStatus, Sandbox, make_sandbox, procfs
from archlab.sandbox.base import DockerOptions

HERE = Path(__file__).parent
CANARY = "sk-canary-0f8e2d-must-never-leak"
GRACE_S = 6  # killing and removing the job after its limit, on a loaded 2-core machine
BACKENDS = [pytest.param("process"), pytest.param("docker", marks=pytest.mark.docker)]


@functools.cache
def session_image() -> str:
    """The image for the source as it was when the first Docker test ran: the whole session uses it,
    so that an edit made meanwhile (a shared checkout) does not pull the image from under the tests."""
    from archlab.sandbox.image import image_tag

    return image_tag()


def open_sandbox(backend: str) -> Sandbox:
    """The backend, or a skip saying why it cannot run here; under CI=true a failure instead."""
    try:
        return make_sandbox(backend, DockerOptions(image=session_image()) if backend == "docker" else None)
    except SandboxError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{backend} sandbox unavailable under CI: {exc}")
        pytest.skip(f"{backend} sandbox unavailable: {exc}")


def source(name: str, **fill: str) -> str:
    text = (HERE / f"{name}.py").read_text()
    for key, value in fill.items():
        text = text.replace(f"__{key.upper()}__", value)
    return text


@dataclass(frozen=True)
class Case:
    name: str
    statuses: tuple[JobStatus, ...]
    limits: dict[str, float] = field(default_factory=dict)
    says: str = ""  # a fragment the error must hold
    stage: str = "build"
    printed: str = ""  # a fragment stdout must hold: proof the candidate ran before its limit


TIMEOUT = (JobStatus.TIMEOUT,)
FAILED = (JobStatus.CANDIDATE_ERROR,)
CASES = [
    # The wall clock covers the worker's torch import, which takes seconds on a loaded machine.
    Case("loop", TIMEOUT, {"wall_s": 15}, printed="looping"),
    Case("sleep_forever", TIMEOUT, {"wall_s": 15}, printed="sleeping"),
    Case("ignore_sigterm", TIMEOUT, {"wall_s": 15}, printed="ignoring SIGTERM"),
    Case("allocate", (JobStatus.OUT_OF_MEMORY,), {"memory_mb": 1024, "wall_s": 60}),
    Case("fork_bomb", FAILED, {"max_procs": 32, "wall_s": 60}),
    Case("huge_file", FAILED, {"file_size_mb": 8, "wall_s": 60}, says="too large"),
    Case("stdout_flood", FAILED, {"output_cap_kb": 16, "wall_s": 60}, says="printed 10 MB", printed="x" * 100),
    Case("phone_home", FAILED, {"wall_s": 60}),
    Case("read_secret", FAILED, {"wall_s": 60}, says="key=None"),
    Case("write_outside", FAILED, {"wall_s": 60}, says="wrote []"),
    Case("kill_parent", (JobStatus.KILLED, JobStatus.CANDIDATE_ERROR), {"wall_s": 60}),
    Case("segfault", (JobStatus.KILLED,), {"wall_s": 60}, says="SIGSEGV"),
    Case("return_nan", FAILED, {"wall_s": 60}, says="NaN"),
    Case("perfect_score", (JobStatus.OK,), {"wall_s": 120}, stage="train"),
]


def host_processes_mentioning(text: str) -> list[int]:
    """Live host processes whose command line holds text (a job's work dir, say)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and procfs.is_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def assert_nothing_left(sandbox: Sandbox) -> None:
    """No process or container of the sandbox's latest job still exists."""
    if sandbox.name == "ray":  # the local test cluster: the job's processes name its work root's tag
        tag = f"archlab-ray-{sandbox.last_tag}"  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while host_processes_mentioning(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert host_processes_mentioning(tag) == [], "a process of the job outlived it"
        return
    if sandbox.name == "docker":
        owner = sandbox.owner  # type: ignore[attr-defined]
        leftovers = sandbox.client.containers.list(all=True, filters={"label": f"archlab.owner={owner}"})  # type: ignore[attr-defined]
        assert leftovers == [], f"containers left behind: {leftovers}"
        return
    pgid, workdir = sandbox.last_pgid, sandbox.last_workdir  # type: ignore[attr-defined]
    assert procfs.group_members(pgid) == []
    deadline = time.monotonic() + 5
    while host_processes_mentioning(str(workdir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host_processes_mentioning(str(workdir)) == [], "a process of the job outlived it"
    # Killed children are zombies until init reaps them, and killpg still finds a zombie.
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"process group {pgid} still exists (as zombies) 5 s after the job")


def job_is_running(sandbox: Sandbox) -> bool:
    if sandbox.name == "ray":
        tag = sandbox.last_tag  # type: ignore[attr-defined]
        return tag is not None and bool(host_processes_mentioning(f"archlab-ray-{tag}"))
    if sandbox.name == "docker":
        return bool(sandbox._live)  # type: ignore[attr-defined]
    workdir = sandbox.last_workdir  # type: ignore[attr-defined]
    return workdir is not None and (workdir / "started").exists()
