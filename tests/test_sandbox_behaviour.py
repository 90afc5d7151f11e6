"""One behaviour suite for every sandbox backend: tiny real candidates that work, crash, loop, leak.

The candidates here use os/signal on purpose: the evaluator's static checks would reject them, but
the sandbox must hold without those checks.
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

from archlab.errors import ConfigError
from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, JobResult, JobStatus, Limits, Sandbox, make_sandbox, procfs

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

LOOPS_IGNORING_SIGTERM = """
import pathlib, signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path({marker!r}).write_text("looping")

def build_model(task):
    while True:
        pass
"""

FORKS_SLEEPERS = """
import os, pathlib, signal, time

def build_model(task):
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)
        pids.append(pid)
    pathlib.Path({marker!r}).write_text(" ".join(map(str, pids)))
    while True:
        time.sleep(1)
"""

ALLOCATES = """
import torch

def build_model(task):
    hoard = [torch.ones(64 * 2**20) for _ in range(64)]  # 256 MB a block, 16 GB in all
    return hoard
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
PRINTS = """
def build_model(task):
    line = "x" * 1023
    for _ in range(10 * 1024):  # 10 MB
        print(line)
    raise RuntimeError("printed 10 MB")
"""

READS_SECRET = """
import os

def build_model(task):
    seen = os.environ.get("OPENAI_API_KEY")
    home_inside = os.environ["HOME"].startswith(os.getcwd())
    raise RuntimeError(f"key={seen} home_inside={home_inside} env={sorted(os.environ)}")
"""

EXITS = "import os\n\ndef build_model(task):\n    os._exit(3)\n"

WRITES_BIG_FILE = """
def build_model(task):
    with open("big.bin", "wb") as f:
        f.write(b"0" * (3 * 2**20))
    raise RuntimeError("wrote 3 MB")
"""


@pytest.fixture(params=["process"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    backend = make_sandbox(request.param)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def data_file(request: pytest.FixtureRequest) -> Path:
    # pytest's own cache dir: MNIST-1D takes seconds to generate, so keep it across sessions.
    return TASK.job_inputs(request.config.cache.mkdir("archlab-tasks"))


def job(source: str, stage: str = "build", **limits: float) -> Job:
    return Job(stage=stage, source=source, task=TASK.spec.model_dump(), limits=Limits(**limits))


def assert_group_gone(sandbox: Sandbox) -> None:
    pgid = getattr(sandbox, "last_pgid", None)
    if pgid is None:
        return  # a backend without host process groups (a container) is checked by its own means
    assert procfs.group_members(pgid) == []  # nothing of the group runs any more
    # Killed children are zombies until init reaps them, and killpg still finds a zombie; give init a moment.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"process group {pgid} still exists (as zombies) 5 s after the job")


def test_build_ok(sandbox: Sandbox) -> None:
    result = sandbox.run(job(GOOD))
    assert result.status is JobStatus.OK, result.error
    assert {"params", "flops", "graph_hash"} <= result.metrics.keys()
    assert result.metrics["params"] > 0
    assert result.peak_memory_mb and result.peak_memory_mb > 50


def test_train_ok(sandbox: Sandbox, data_file: Path) -> None:
    result = sandbox.run(Job(stage="train", source=GOOD, task=TASK.spec.model_dump(),
                             params={"steps": 50}, files={"data.npz": data_file}))
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


def test_loop_ignoring_sigterm_times_out(sandbox: Sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    began = time.monotonic()
    result = sandbox.run(job(LOOPS_IGNORING_SIGTERM.format(marker=str(marker)), wall_s=6))
    assert result.status is JobStatus.TIMEOUT
    assert time.monotonic() - began < 8
    assert marker.exists(), "the candidate never ran: the limit tested nothing"
    assert_group_gone(sandbox)


def test_forked_sleepers_die_with_the_job(sandbox: Sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "children"
    result = sandbox.run(job(FORKS_SLEEPERS.format(marker=str(marker)), wall_s=6))
    assert result.status is JobStatus.TIMEOUT
    children = [int(p) for p in marker.read_text().split()]
    assert len(children) == 3
    assert not any(procfs.is_alive(pid) for pid in children)
    assert_group_gone(sandbox)


def test_ctrl_c_kills_the_job(sandbox: Sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "children"
    source = FORKS_SLEEPERS.format(marker=str(marker))

    def interrupt_once_started() -> None:
        while not marker.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in the CLI delivers

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored when run in the background
    threading.Thread(target=interrupt_once_started, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sandbox.run(job(source, wall_s=30))
    finally:
        signal.signal(signal.SIGINT, previous)
    children = [int(p) for p in marker.read_text().split()]
    assert not any(procfs.is_alive(pid) for pid in children)
    assert_group_gone(sandbox)


def test_allocation_beyond_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(job(ALLOCATES, memory_mb=1024))
    assert result.status is JobStatus.OUT_OF_MEMORY, result.error
    assert result.peak_memory_mb is not None and result.peak_memory_mb < 1024


def test_group_allocation_beyond_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(job(GROUP_ALLOCATES, memory_mb=1024, wall_s=20))
    assert result.status is JobStatus.OUT_OF_MEMORY, result.error
    assert_group_gone(sandbox)


def test_flood_of_output_is_capped(sandbox: Sandbox) -> None:
    result = sandbox.run(job(PRINTS, output_cap_kb=16))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "printed 10 MB" in result.error
    assert 0 < len(result.artifacts["stdout_tail"]) <= 16 * 1024
    assert result.artifacts["stdout_tail"].rstrip().endswith("x" * 100)


def test_environment_is_scrubbed(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    result = sandbox.run(job(READS_SECRET))
    assert "key=None" in result.error
    assert "home_inside=True" in result.error
    assert "sk-must-not-leak" not in result.model_dump_json()


def test_os_exit_is_a_candidate_error(sandbox: Sandbox) -> None:
    result = sandbox.run(job(EXITS))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "3" in result.error


def test_file_size_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(job(WRITES_BIG_FILE, file_size_mb=1))
    assert result.status is JobStatus.CANDIDATE_ERROR
    assert "too large" in result.error.lower()


def test_describe_names_the_backend(sandbox: Sandbox) -> None:
    info = sandbox.describe()
    assert info["name"] and all(isinstance(v, str) for v in info.values())


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="process"):
        make_sandbox("nope")


def test_job_file_names_stay_inside_the_work_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Job(stage="build", source="", task={}, files={"../escape": tmp_path})


def test_result_round_trips_as_json() -> None:
    result = JobResult(status=JobStatus.TIMEOUT, wall_s=1.0, peak_memory_mb=None)
    assert json.loads(result.model_dump_json())["status"] == "timeout"
