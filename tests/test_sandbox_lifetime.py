"""A job never outlives the process that started it (process backend): SIGKILL the starter while its job
ignores SIGTERM and spins, or has double-forked a child that spins; within seconds nothing of the job is left.
And the CPU-time limit a job carries even when nobody watches it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archlab.sandbox import namespaces
from archlab.sandbox.base import Limits, cpu_seconds

HERE = Path(__file__).parent
STARTER = """
import sys
from pathlib import Path
from archlab.evaluator.tasks import get_task
from archlab.sandbox.base import Job, Limits
from archlab.sandbox.process import ProcessSandbox
box = ProcessSandbox(workroot=Path(sys.argv[1]), die_with_parent=len(sys.argv) < 4)
job = Job(stage="build", source=Path(sys.argv[2]).read_text(), task=get_task("mnist1d").spec.model_dump(),
          limits=Limits(wall_s=600, threads=1))
box.run(job)
"""
DOUBLE_FORK = '''
load = [__import__][0]
os = load("os")


def build_model(task):
    if os.fork() == 0:  # a child that leaves its parent and the process group, then a grandchild that spins
        os.setsid()
        if os.fork() == 0:
            while True:
                pass
        os._exit(0)
    while True:
        pass
'''


def job_processes(root: Path) -> list[int]:
    """Live processes whose command line or working directory lies under this test's job root."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State"))
        except (OSError, StopIteration):
            continue
        if (str(root) in cmdline or cwd.startswith(str(root))) and "zombie" not in state:
            found.append(int(entry.name))
    return found


def workers(root: Path) -> list[int]:
    """The job's worker processes (under unshare, where namespaces are used)."""
    found = []
    for pid in job_processes(root):
        try:
            if b"-m\0archlab.sandbox.worker" in Path(f"/proc/{pid}/cmdline").read_bytes() and \
                    b"unshare" not in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                found.append(pid)
        except OSError:
            continue
    return found


def start(tmp_path: Path, source: str, *extra: str) -> tuple[subprocess.Popen, Path]:
    root = tmp_path / "jobs"
    root.mkdir()
    candidate = tmp_path / "candidate.py"
    candidate.write_text(source)
    proc = subprocess.Popen([sys.executable, "-c", STARTER, str(root), str(candidate), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, root


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("name", ["ignore_sigterm", "double_fork"])
def test_sigkilled_starter_takes_its_job_along(tmp_path, name):
    if name == "double_fork" and not namespaces.detect().active and os.environ.get("CI") != "true":
        pytest.skip("a double-forked child leaves the job's reach without a PID namespace (no unshare here)")
    source = (HERE / "hostile" / "ignore_sigterm.py").read_text() if name == "ignore_sigterm" else DOUBLE_FORK
    proc, root = start(tmp_path, source)
    try:
        # The job runs the candidate: its processes spin (for the double fork: three of them beside the worker).
        assert wait_for(lambda: (root / next(iter(os.listdir(root)), "x") / "started").exists()
                        if os.listdir(root) else False, 60), "the job never started"
        time.sleep(3)  # the candidate is imported and spinning
        running = job_processes(root)
        assert len(running) >= (3 if name == "double_fork" else 1), running  # the grandchild among them
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not job_processes(root), 5), f"left running: {job_processes(root)}"
    finally:
        proc.kill()
        for pid in job_processes(root):
            os.kill(pid, signal.SIGKILL)


def test_a_job_carries_a_cpu_time_limit(tmp_path):
    limits = Limits(wall_s=600, threads=1)
    assert cpu_seconds(limits) == 2 * 600 * 2 + 60 and cpu_seconds(Limits(wall_s=10, threads=4)) == 160
    proc, root = start(tmp_path, (HERE / "hostile" / "loop.py").read_text())
    try:
        assert wait_for(lambda: bool(workers(root)), 60)
        worker = workers(root)[0]
        line = next(line for line in Path(f"/proc/{worker}/limits").read_text().splitlines()
                    if line.startswith("Max cpu time"))
        assert line.split()[3:5] == [str(cpu_seconds(limits))] * 2, line
    finally:
        proc.kill()
        proc.wait(timeout=10)
        assert wait_for(lambda: not job_processes(root), 5)


DOCKER_STARTER = """
import sys
from pathlib import Path
from archlab.evaluator.tasks import get_task
from archlab.sandbox.base import DockerOptions, Job, Limits
from archlab.sandbox.docker import DockerSandbox
box = DockerSandbox(DockerOptions(image=sys.argv[3]))
job = Job(stage="build", source=Path(sys.argv[2]).read_text(), task=get_task("mnist1d").spec.model_dump(),
          limits=Limits(wall_s=600, threads=1))
box.run(job)
"""


@pytest.mark.docker
def test_a_killed_starters_container_is_bounded_and_swept_by_the_next_process(tmp_path):
    """Docker keeps a container whose starter died: it carries the CPU-time limit, and the next archlab process
    that opens the Docker sandbox removes it."""
    from hostile import open_sandbox, session_image

    from archlab.sandbox.docker import OWNER, connect

    open_sandbox("docker").close()  # skips (or fails under CI) without a daemon and the image
    client = connect()
    candidate = tmp_path / "candidate.py"
    candidate.write_text((HERE / "hostile" / "ignore_sigterm.py").read_text())
    proc = subprocess.Popen([sys.executable, "-c", DOCKER_STARTER, "-", str(candidate), session_image()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mine() -> list:
        return [c for c in client.containers.list(all=True, filters={"label": "archlab.sandbox=job"})
                if c.labels.get(OWNER, "").endswith(f":{proc.pid}")]

    try:
        assert wait_for(lambda: any(c.status == "running" for c in mine()), 120), "no running container"
        ulimits = {u["Name"]: u["Hard"] for u in mine()[0].attrs["HostConfig"]["Ulimits"]}
        assert ulimits["cpu"] == cpu_seconds(Limits(wall_s=600, threads=1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert mine(), "the container went with its starter: nothing left to sweep"
        open_sandbox("docker").close()  # the next process on this host sweeps containers of dead owners
        assert wait_for(lambda: not mine(), 30), mine()
    finally:
        proc.kill()
        for container in mine():
            container.remove(force=True)


def test_an_orphaned_job_is_listed_by_doctor_and_killed_by_the_next_run(tmp_path):
    """A job left without its starter (here one started without the parent-death signal, as an older archlab
    did) is what `archlab doctor` lists and what the next run or resume kills before it starts."""
    from archlab.run.doctor import check_orphans
    from archlab.sandbox.procfs import kill_orphans, orphaned_jobs

    assert check_orphans().ok is True
    proc, root = start(tmp_path, (HERE / "hostile" / "ignore_sigterm.py").read_text(), "--no-die-with-parent")
    try:
        assert wait_for(lambda: bool(workers(root)), 60)
        assert not any(str(root) in cmd for _, cmd in orphaned_jobs())  # its starter lives: not an orphan
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: any(str(root) in cmd for _, cmd in orphaned_jobs()), 10)
        check = check_orphans()
        assert check.ok is None and "whose starter died" in check.detail and str(root) in check.detail
        assert kill_orphans() >= 1
        assert wait_for(lambda: not job_processes(root), 5), job_processes(root)
    finally:
        proc.kill()
        for pid in job_processes(root):
            os.kill(pid, signal.SIGKILL)
