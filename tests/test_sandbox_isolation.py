"""What a candidate sees from inside each backend: no network, no capabilities, no writable root, no host
processes; the process backend's fallback when namespaces are unavailable; the Docker sweep."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from hostile import open_sandbox

from archlab.evaluator.tasks import get_task
from archlab.sandbox import Job, JobStatus, Limits, namespaces

TASK = get_task("mnist1d")
LOOKS_AROUND = '''
load = [__import__][0]
os, socket = load("os"), load("socket")

def build_model(task):
    status = dict(line.split(":", 1) for line in [open][0]("/proc/self/status").read().splitlines())
    try:
        [open][0]("/archlab-root-write", "w")
        root = "writable"
    except OSError as exc:
        root = exc.strerror
    nets = sorted(name for _, name in socket.if_nameindex())
    seen = {"uid": os.getuid(), "caps": status["CapEff"].strip(), "nets": nets, "ppid": os.getppid(), "root": root}
    raise RuntimeError(f"seen={seen}")
'''


def look_around(backend: str) -> str:
    sandbox = open_sandbox(backend)
    try:
        result = sandbox.run(Job(stage="build", source=LOOKS_AROUND, task=TASK.spec.model_dump(),
                                 limits=Limits(wall_s=60)))
    finally:
        sandbox.close()
    assert result.status is JobStatus.CANDIDATE_ERROR
    return result.error


def test_process_worker_is_confined() -> None:
    found = namespaces.detect()
    if not found.active:
        pytest.skip(f"namespaces unavailable here: {found.reason}")
    seen = look_around("process")
    assert "'caps': '0000000000000000'" in seen
    assert "'nets': ['lo']" in seen
    assert "'ppid': 0" in seen  # the host is outside the worker's PID namespace
    assert "'root': 'Read-only file system'" in seen


@pytest.mark.docker
def test_docker_container_is_locked_down() -> None:
    seen = look_around("docker")
    assert "'uid': 65534" in seen
    assert "'caps': '0000000000000000'" in seen
    assert "'nets': ['lo']" in seen
    assert "'root': 'Read-only file system'" in seen


def test_process_backend_without_namespaces_says_so_and_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(namespaces, "detect", lambda: namespaces.Namespaces(reason="unshare refused (test)"))
    sandbox = open_sandbox("process")
    try:
        described = sandbox.describe()
        result = sandbox.run(Job(stage="build", source="from torch import nn\n\ndef build_model(task):\n"
                                 "    return nn.Sequential(nn.Flatten(), nn.Linear(40, 10))\n",
                                 task=TASK.spec.model_dump(), limits=Limits(wall_s=60)))
    finally:
        sandbox.close()
    assert described["network"] == "not isolated (unshare refused (test))"
    assert "not isolated" in described["filesystem"]
    assert result.status is JobStatus.OK, result.error


@pytest.mark.docker
def test_startup_sweep_removes_containers_of_dead_runs() -> None:
    from archlab.sandbox.docker import OWNER

    probe = open_sandbox("docker")  # skips (fails under CI) without a daemon or image
    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = {"archlab.sandbox": "job"}
    orphan = probe.client.containers.create(probe.image_id, ["true"],
                                            labels={**labels, OWNER: f"{socket.gethostname()}:{dead.pid}"})
    alive = probe.client.containers.create(probe.image_id, ["true"],
                                           labels={**labels, OWNER: f"{socket.gethostname()}:{os.getpid()}"})
    try:
        open_sandbox("docker").close()  # a new sandbox sweeps at start
        remaining = {c.id for c in probe.client.containers.list(all=True, filters={"label": "archlab.sandbox=job"})}
        assert orphan.id not in remaining
        assert alive.id in remaining  # a live run's containers are left alone
    finally:
        for container in (orphan, alive):
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        probe.close()
