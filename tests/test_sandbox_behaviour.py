"""One behaviour suite for every sandbox backend: tiny real candidates that work, crash, loop, leak.

The candidates here use os/signal on purpose: the evaluator's static checks would reject them, but
the sandbox must hold without those checks. They report what they did on stdout, since a confined
candidate can write nowhere the test could look. Loops, memory bombs, floods, secrets and large files
are the hostile suite's (test_sandbox_hostile.py), against the same backends.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import BACKENDS, assert_nothing_left, job_is_running, open_sandbox

from archlab.errors import ConfigError
from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, JobResult, JobStatus, Limits, Sandbox, make_sandbox

TASK = get_task("mnist1d")

MODEL = """
import torch
from torch import nn

def _model(task):
    return nn.Sequential(nn.Conv1d(1, 8, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(4),
                         nn.Flatten(), nn.Linear(32, task.num_outputs))
"""
GOOD = MODEL + "\ndef build_model(task):\n    return _model(task)\n"

RAISES = "def build_model(task):\n    raise ValueError('boom-42 from the candidate')\n"

SYNTAX = "def build_model(task)\n    return (\n"

FORKS_SLEEPERS = """
import os, signal, time

def build_model(task):
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)
        pids.append(pid)
    print("forked", *pids, flush=True)
    while True:
        time.sleep(1)
"""

# Each child stays under the per-process cap (the worker alone holds ~650 MB of address space);
# only the group's total is over it.
GROUP_ALLOCATES = """
import os, time
import numpy as np

def build_model(task):
    for _ in range(4):
        if os.fork() == 0:
            try:
                block = np.ones(250 * 2**20 // 8)  # 250 MB, touched
                while True:
                    time.sleep(1)
            finally:
                os._exit(0)  # a child must never return into the worker's code
    while True:
        time.sleep(1)
"""

# Cheap candidates report what they saw by raising: no build stage to wait for.
EXITS = "import os\n\ndef build_model(task):\n    os._exit(3)\n"

@pytest.fixture(params=[*BACKENDS, pytest.param("ray", marks=pytest.mark.ray)])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")  # one local cluster for the session; RAY_ADDRESS names it
    backend = open_sandbox(request.param)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def data_file(request: pytest.FixtureRequest) -> Path:
    # pytest's own cache dir: MNIST-1D takes seconds to generate, so keep it across sessions.
    return TASK.job_inputs(request.config.cache.mkdir("archlab-tasks"))


def job(source: str, stage: str = "build", **limits: float) -> Job:
    return Job(stage=stage, source=source, task=TASK.spec.model_dump(), limits=Limits(**limits))


def test_build_ok(sandbox: Sandbox) -> None:
    result = sandbox.run(job(GOOD))
    assert result.status is JobStatus.OK, result.error
    assert {"params", "flops", "graph_hash"} <= result.metrics.keys()
    assert result.metrics["params"] > 0
    assert result.peak_memory_mb and result.peak_memory_mb > 50
    if sandbox.name == "docker":
        assert result.image and result.image.startswith("sha256:")  # the digest every evaluation records


def test_train_ok(sandbox: Sandbox, data_file: Path) -> None:
    result = sandbox.run(Job(stage="train", source=GOOD, task=TASK.spec.model_dump(),
                             params={"steps": 50, "data": "data.npz"}, files={"data.npz": data_file}))
    assert result.status is JobStatus.OK, result.error
    assert len(result.outputs["val_pred"]) == 800
    assert len(result.outputs["test_pred"]) == 1000
    assert result.metrics["steps"] == 50


def test_exception_in_build_model(sandbox: Sandbox) -> None:
    result = sandbox.run(job(RAISES))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "ValueError" in result.error and "boom-42" in result.error
    assert "boom-42" in result.artifacts["traceback"]
    assert "\n" not in result.error


def test_syntax_error(sandbox: Sandbox) -> None:
    result = sandbox.run(job(SYNTAX))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "syntax" in result.error.lower()


def test_forked_sleepers_die_with_the_job(sandbox: Sandbox) -> None:
    result = sandbox.run(job(FORKS_SLEEPERS, wall_s=8))
    assert result.status is JobStatus.TIMEOUT
    assert "forked" in result.artifacts.get("stdout_tail", "")
    assert_nothing_left(sandbox)


def test_ctrl_c_kills_the_job(sandbox: Sandbox) -> None:
    def interrupt_once_started() -> None:
        while not job_is_running(sandbox):
            time.sleep(0.05)
        time.sleep(4)  # torch imported, children forked
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in the CLI delivers

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored when run in the background
    threading.Thread(target=interrupt_once_started, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sandbox.run(job(FORKS_SLEEPERS, wall_s=60))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert_nothing_left(sandbox)


def test_group_allocation_beyond_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(job(GROUP_ALLOCATES, memory_mb=1024, wall_s=20))
    assert result.status is JobStatus.OUT_OF_MEMORY, result.error
    assert_nothing_left(sandbox)


def test_os_exit_is_a_candidate_error(sandbox: Sandbox) -> None:
    result = sandbox.run(job(EXITS))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "3" in result.error


def test_describe_names_the_backend(sandbox: Sandbox) -> None:
    info = sandbox.describe()
    assert info["name"] and all(isinstance(v, str) for v in info.values())


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="process, docker"):
        make_sandbox("nope")


def test_job_file_names_stay_inside_the_work_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Job(stage="build", source="", task={}, files={"../escape": tmp_path})


def test_result_round_trips_as_json() -> None:
    result = JobResult(status=JobStatus.TIMEOUT, wall_s=1.0, peak_memory_mb=None)
    assert json.loads(result.model_dump_json())["status"] == "timeout"


def test_a_large_host_is_not_counted_in_a_jobs_peak_memory() -> None:
    """The process backend forks the worker from the host, and wait4's ru_maxrss starts at the RSS the fork
    copied: a host holding a large task's data would look like every job's peak. The host's own samples (VmHWM
    after the worker's exec, PSS, the cgroup) say what the job used."""
    import numpy as np

    ballast = np.ones(900 * 2**20 // 8)  # 900 MB held, and touched, by the host while the job runs
    backend = open_sandbox("process")
    try:
        result = backend.run(job(GOOD))
    finally:
        backend.close()
    assert result.status is JobStatus.OK, result.error
    assert 50 < result.peak_memory_mb < 800 and ballast[-1] == 1.0
