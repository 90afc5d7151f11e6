"""The hostile-candidate suite, against every backend and through `archlab eval`.

For each candidate in tests/hostile/: the job ends with the expected status within its limit plus a
grace, the canary API key never appears in any output or stored artifact, nothing outside the job's
folder changed, nothing of the job outlives it, the host survives, and the next job runs normally
(the cases share one sandbox per backend, and a plain job closes each backend's run).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import BACKENDS, CANARY, CASES, GRACE_S, Case, assert_nothing_left, open_sandbox, session_image, source

from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, JobStatus, Limits, Sandbox
from archlab.sandbox.integrity import suspected_leakage

TASK = get_task("mnist1d")
TRAIN_STEPS = 30
ESCAPES = [Path(tempfile.gettempdir(), "archlab-escaped"), Path("/etc/archlab-escaped")]
TINY = "from torch import nn\n\ndef build_model(task):\n    return nn.Sequential(nn.Flatten(), nn.Linear(40, 10))\n"


class Listener:
    """A TCP listener on the host's loopback that counts who reaches it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(4096) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    backend = open_sandbox(request.param)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def data_file(request: pytest.FixtureRequest) -> Path:
    return TASK.job_inputs(request.config.cache.mkdir("archlab-tasks"))


@pytest.fixture(autouse=True)
def no_escapes() -> Iterator[None]:
    for path in ESCAPES:
        path.unlink(missing_ok=True)
    yield
    for path in ESCAPES:
        path.unlink(missing_ok=True)


def skip_unsafe(backend: str, case: Case) -> None:
    """Without a PID namespace a candidate that kills its parent would kill this test run."""
    if case.name == "kill_parent" and backend == "process":
        from archlab.sandbox.namespaces import detect

        if not detect().active:
            pytest.skip(f"no PID namespace here ({detect().reason}): the candidate could kill the test run")


def make_job(case: Case, src: str, data_file: Path) -> Job:
    params, files = {"device": "cpu"}, {}
    if case.stage == "train":
        params |= {"steps": TRAIN_STEPS, "batch_size": 128, "data": "data.npz"}
        files = {"data.npz": data_file}
    return Job(stage=case.stage, source=src, task=TASK.spec.model_dump(), params=params, files=files,
               limits=Limits(**case.limits))


def assert_host_untouched(outside: Path, listener: Listener) -> None:
    assert not outside.exists(), "the candidate wrote outside its work dir"
    assert not any(p.exists() for p in ESCAPES), "the candidate wrote outside its work dir"
    assert listener.received == [], f"the candidate reached the host's loopback: {listener.received}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_candidate(sandbox: Sandbox, case: Case, listener: Listener, tmp_path: Path, data_file: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    skip_unsafe(sandbox.name, case)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    outside = tmp_path / "outside.txt"
    job = make_job(case, source(case.name, port=str(listener.port), outside=str(outside)), data_file)
    began = time.monotonic()
    result = sandbox.run(job)
    elapsed = time.monotonic() - began
    assert result.status in case.statuses, f"{result.status}: {result.error}"
    assert elapsed < job.limits.wall_s + GRACE_S
    assert case.says.lower() in (result.error or "").lower()
    stdout = result.artifacts.get("stdout_tail", "")
    assert case.printed in stdout, "the candidate never got to run: the limit tested nothing"
    assert len(stdout.encode()) <= job.limits.output_cap_kb * 1024 + 64  # + the "[... cut ...]" marker
    if case.name == "allocate":
        assert result.peak_memory_mb is not None and result.peak_memory_mb <= job.limits.memory_mb
    assert CANARY not in result.model_dump_json()
    assert_host_untouched(outside, listener)
    assert_nothing_left(sandbox)
    if case.name == "perfect_score":
        scores = TASK.score(TASK.data(data_file.parent), result.outputs)
        reason = suspected_leakage(TASK.name, TRAIN_STEPS, result.metrics, scores)
        assert reason and "far below" in reason


def test_a_plain_job_runs_after_them(sandbox: Sandbox) -> None:
    result = sandbox.run(Job(stage="build", source=TINY, task=TASK.spec.model_dump(), limits=Limits(wall_s=60)))
    assert result.status is JobStatus.OK, result.error


# Through the CLI: the cases whose outcome passes through what the CLI adds (environment, settings, the
# stored evaluation, the host's leakage check). Every case runs directly against each backend above.
CLI_CASES = [c for c in CASES if c.name in {"loop", "read_secret", "write_outside", "perfect_score"}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.name)
def test_hostile_candidate_through_the_cli(backend: str, case: Case, listener: Listener, tmp_path: Path) -> None:
    open_sandbox(backend).close()  # skips (fails under CI) when the backend cannot run here
    skip_unsafe(backend, case)
    outside = tmp_path / "outside.txt"
    path = tmp_path / f"{case.name}.py"
    path.write_text(source(case.name, port=str(listener.port), outside=str(outside)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARCHLAB_"))}
    env |= {"OPENAI_API_KEY": CANARY, "ARCHLAB_WORKSPACE": str(tmp_path / "ws"), "COLUMNS": "200"}
    limits = {**case.limits, "wall_s": 10} if case.statuses == (JobStatus.TIMEOUT,) else case.limits
    env |= {f"ARCHLAB_SANDBOX__LIMITS__{k.upper()}": str(v) for k, v in limits.items()}
    if backend == "docker":
        env["ARCHLAB_SANDBOX__DOCKER__IMAGE"] = session_image()
    argv = [sys.executable, "-m", "archlab", "eval", str(path), "--task", "mnist1d", "--sandbox", backend,
            "--json", "--steps", str(TRAIN_STEPS)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=case.limits["wall_s"] + 120)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the candidate's status is not ok
    report = json.loads(proc.stdout)
    if case.name == "perfect_score":
        assert report["status"] == "candidate_error" and "suspected leakage" in report["error"]
    else:
        assert report["status"] in case.statuses, report
    assert CANARY not in proc.stdout + proc.stderr
    stored = b"".join(p.read_bytes() for p in (tmp_path / "ws").glob("archlab.db*"))
    assert stored and CANARY.encode() not in stored
    assert_host_untouched(outside, listener)
