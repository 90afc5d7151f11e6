"""A real local Ray cluster for the tests: a head and worker nodes, each a `ray start --block` process
in its own process group, so that a test can kill one node (raylet and its workers) and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

OBJECT_STORE = str(80 << 20)  # Ray's floor is 75 MB; job inputs are a few MB
# Find a dead node in about 2 s instead of Ray's default 15 s or more. Token authentication off on every
# node and in the tests alike: Ray turns it on by itself where an earlier local cluster left a token.
NODE_ENV = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
            "RAY_health_check_failure_threshold": "3", "RAY_AUTH_MODE": "disabled"}


def _ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


@dataclass
class RayCluster:
    temp_dir: Path
    head: subprocess.Popen[str]
    address: str
    nodes: list[subprocess.Popen[str]] = field(default_factory=list)

    @classmethod
    def start(cls, cpus: int = 2) -> RayCluster:
        # A short temp dir: Ray's socket paths live under it, and a Unix socket path holds 107 bytes.
        temp_dir = Path(tempfile.mkdtemp(prefix="ray-"))
        head = _launch(["--head", "--port=0", f"--temp-dir={temp_dir}", "--include-dashboard=false"], cpus)
        address = _await_address(head)
        return cls(temp_dir=temp_dir, head=head, address=address)

    def add_node(self, cpus: int = 2, resources: dict[str, float] | None = None) -> subprocess.Popen[str]:
        extra = [f"--resources={json.dumps(resources)}"] if resources else []
        node = _launch([f"--address={self.address}", *extra], cpus, quiet=True)
        self.nodes.append(node)
        return node

    def kill_node(self, node: subprocess.Popen[str]) -> None:
        """SIGKILL to the node's raylet and everything Ray started with it, as a lost machine would."""
        _killpg(node)
        self.nodes.remove(node)

    def stop(self) -> None:
        for node in [*self.nodes, self.head]:
            _killpg(node)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _launch(args: list[str], cpus: int, quiet: bool = False) -> subprocess.Popen[str]:
    argv = [_ray_cli(), "start", "--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", "--num-gpus=0",
            f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats", *args]
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(argv, env=os.environ | NODE_ENV, stdout=out, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _await_address(head: subprocess.Popen[str], timeout_s: float = 90) -> str:
    deadline, seen = time.monotonic() + timeout_s, []
    assert head.stdout is not None
    for line in head.stdout:  # `ray start` prints the command a worker node joins with
        seen.append(line)
        if "ray start --address=" in line:
            address = line.split("--address=", 1)[1].strip().strip("'\"")
            _drain(head)
            return address
        if time.monotonic() > deadline:
            break
    _killpg(head)
    raise RuntimeError("the Ray head did not start:\n" + "".join(seen[-20:]))


def _drain(proc: subprocess.Popen[str]) -> None:
    """Keep reading the head's output so that a full pipe never blocks it."""
    threading.Thread(target=proc.communicate, daemon=True).start()


def _killpg(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def wait_for_nodes(count: int, timeout_s: float = 60.0) -> None:
    import ray

    deadline = time.monotonic() + timeout_s
    while sum(1 for n in ray.nodes() if n.get("Alive")) != count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Ray cluster did not reach {count} live nodes in {timeout_s:g} s")
        time.sleep(0.2)
