"""A control group per process-sandbox job, where this machine lets us make one (root, cgroup v1 or v2).

rlimits and the /proc watchdog act per process or every 0.25 s; a cgroup is enforced by the kernel for
the job as a whole: `pids.max` stops a fork bomb at its first fork past the limit, the memory limit
brings the kernel's OOM killer in at once, and the counters say afterwards whether it did.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
PARENT = "archlab"


def version() -> int | None:
    """1 or 2 when a pids and a memory controller we can write to exist; None otherwise."""
    if os.geteuid() != 0:
        return None
    if (ROOT / "pids" / "cgroup.procs").exists() and (ROOT / "memory" / "cgroup.procs").exists():
        return 1
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and {"pids", "memory"} <= set(controllers.read_text().split()):
        return 2
    return None


class JobCgroup:
    """The cgroup(s) of one job. Make it with `create`; the job's first process joins with `join_fds`."""

    def __init__(self, version_: int, dirs: dict[str, Path]) -> None:
        self.version, self.dirs = version_, dirs

    @classmethod
    def create(cls, name: str, *, max_procs: int, memory_mb: int) -> JobCgroup | None:
        """None where cgroups are not available to us; the job then relies on rlimits and the watchdog."""
        found = version()
        if found is None:
            return None
        try:
            group = cls._make(found, name)
            group._limit(max_procs, memory_mb)
        except OSError as exc:
            log.warning("cannot make a cgroup for the job (%s); relying on rlimits and the watchdog", exc)
            return None
        return group

    @classmethod
    def _make(cls, found: int, name: str) -> JobCgroup:
        if found == 1:
            dirs = {c: ROOT / c / PARENT / name for c in ("pids", "memory")}
        else:
            _enable_v2(ROOT)
            (ROOT / PARENT).mkdir(exist_ok=True)
            _enable_v2(ROOT / PARENT)
            dirs = {"pids": ROOT / PARENT / name}
            dirs["memory"] = dirs["pids"]
        group = cls(found, dirs)
        for path in set(dirs.values()):
            path.mkdir(parents=True, exist_ok=True)
        return group

    def _limit(self, max_procs: int, memory_mb: int) -> None:
        (self.dirs["pids"] / "pids.max").write_text(str(max_procs))
        memory_file = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        (self.dirs["memory"] / memory_file).write_text(str(memory_mb << 20))
        swap = self.dirs["memory"] / "memory.swap.max"
        if self.version == 2 and swap.exists():  # without swap accounting the file is absent
            swap.write_text("0")

    def join_fds(self) -> list[int]:
        """Open `cgroup.procs` files; the child writes "0" to each (in preexec_fn) to join before it runs."""
        return [os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for path in set(self.dirs.values())]

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer acted inside the job."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            lines = (self.dirs["memory"] / name).read_text().splitlines()
        except OSError:
            return False
        counts = dict(line.split() for line in lines if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0)) > 0

    def peak_mb(self) -> float | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((self.dirs["memory"] / name).read_text()) / 2**20
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        """Remove the (by now empty) cgroups; an exiting process may hold one for a few milliseconds."""
        for path in set(self.dirs.values()):
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                log.warning("cgroup %s is still busy; left behind", path)


def join(fds: list[int]) -> None:
    """In the child before exec: move this process into the job's cgroups. Only write syscalls."""
    for fd in fds:
        os.write(fd, b"0")


def _enable_v2(path: Path) -> None:
    control = path / "cgroup.subtree_control"
    enabled = set(control.read_text().split())
    missing = {"pids", "memory"} - enabled
    if missing:
        control.write_text(" ".join(f"+{c}" for c in sorted(missing)))
