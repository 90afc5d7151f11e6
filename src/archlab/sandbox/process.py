"""ProcessSandbox: each job in a fresh worker process, in its own process group and temp work dir.

What holds, and how (see `describe()` for what is active on this machine):

- wall clock: a host-side deadline; on expiry the whole process group gets SIGKILL, which a
  candidate cannot ignore, and forked children go with it.
- memory: RLIMIT_AS per process makes a large allocation fail inside the worker (reported as
  out_of_memory). It is per process, so a host-side watchdog also sums the proportional set size of
  the whole group and kills it past the limit. CUDA reserves huge virtual ranges, so jobs that may
  use a GPU get only the watchdog.
- processes: RLIMIT_NPROC where it is enforced (not as root), and the watchdog counts the group.
- file size: RLIMIT_FSIZE (Python ignores SIGXFSZ, so a large write raises in the candidate).
- life: a job never outlives the process that started it. The worker (or unshare, whose --kill-child then
  takes the worker along) gets SIGKILL when its starter dies, SIGKILL included (PR_SET_PDEATHSIG; the
  signal follows the thread that forked, which is the one waiting in `run` until the job ends). RLIMIT_CPU
  caps the CPU time at what the wall-clock limit allows the job's threads (with headroom), so even a job
  nobody watches stops.
- threads: OMP/MKL/OpenBLAS variables here, torch.set_num_threads in the worker.
- environment: an allow-list; HOME and TMPDIR point into the work dir.
- output: stdout/stderr drained by threads into bounded tails; the result comes back as a file.
- where the machine allows (see `namespaces.py`, `cgroups.py`): no network, a read-only filesystem
  but for the work dir, no capabilities, host processes out of sight, and a cgroup whose pids and
  memory limits the kernel enforces for the job as a whole.

Still readable: files this user may read (a container backend hides them).
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archlab.errors import SandboxError
from archlab.sandbox import cgroups, namespaces, procfs, protocol
from archlab.sandbox.base import Job, JobResult, JobStatus, Limits, cpu_seconds
from archlab.sandbox.streams import TailReader

log = logging.getLogger(__name__)

POLL_S = 0.05
WATCH_EVERY = 5  # polls between group scans: /proc is read every 0.25 s, not every 0.05 s
OOM_NEAR = 0.9  # a bare SIGKILL with the peak this close to the limit is the kernel's OOM killer
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES")
NPROC_HEADROOM = 32  # RLIMIT_NPROC counts threads too; torch and OpenMP pools need some
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True)  # looked up here: the child between fork and exec only calls it


@dataclass
class _Watch:
    """What the wait loop saw while the worker ran."""

    started: bool = False
    reason: str | None = None  # "timeout", "memory" or "procs" when we killed the group
    peak_group_kb: int = 0
    peak_hwm_kb: int = 0  # the group's summed VmHWM, sampled once the worker runs (after its exec)
    cgroup_oom: bool = False  # the kernel's OOM killer acted inside the job's cgroup


def _read_cgroup(cgroup: cgroups.JobCgroup | None, watch: _Watch) -> None:
    if cgroup is None:
        return
    watch.cgroup_oom = cgroup.oom_killed()
    peak = cgroup.peak_mb()
    if peak is not None:
        watch.peak_group_kb = max(watch.peak_group_kb, int(peak * 1024))


class ProcessSandbox:
    name = "process"

    def __init__(self, *, workroot: Path | None = None, die_with_parent: bool = True) -> None:
        # Where job work dirs are made (default: the temp dir), and whether a job is killed when the
        # process that started it dies, even by SIGKILL (an archlab run killed by `kill -9` or the OOM
        # killer; a Ray node's worker).
        self.workroot, self.die_with_parent = workroot, die_with_parent
        self._live: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self.last_pgid: int | None = None  # for tests and diagnostics: the group of the latest job
        self.last_workdir: Path | None = None  # and its work dir (in the worker's command line)
        self.namespaces = namespaces.detect()
        # Interpreter exit (even after an unhandled Ctrl-C) must not leave a job running.
        self._finalizer = weakref.finalize(self, _kill_groups, self._live, self._lock)

    def __enter__(self) -> ProcessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, job: Job) -> JobResult:
        started = time.monotonic()
        workdir = Path(tempfile.mkdtemp(prefix="archlab-job-", dir=self.workroot))
        self.last_workdir = workdir
        # pids.max counts threads too, like RLIMIT_NPROC: torch and OpenMP pools need headroom.
        cgroup = cgroups.JobCgroup.create(workdir.name, max_procs=job.limits.max_procs + NPROC_HEADROOM,
                                          memory_mb=job.limits.memory_mb)
        try:
            _prepare(workdir, job)
            proc = self._spawn(workdir, job, cgroup)
            out = TailReader(proc.stdout, job.limits.output_cap_kb * 1024)  # type: ignore[arg-type]
            err = TailReader(proc.stderr, job.limits.output_cap_kb * 1024)  # type: ignore[arg-type]
            try:
                watch = _wait(proc, workdir, job.limits, started, cgroup)
                watch.started = watch.started or (workdir / "started").exists()
            finally:
                wait_status, rusage = self._end(proc)
            tails = {"stdout_tail": out.finish(), "stderr_tail": err.finish()}
            _read_cgroup(cgroup, watch)
            return _judge(watch, wait_status, rusage, workdir, job.limits, tails, time.monotonic() - started)
        finally:
            if cgroup is not None:
                cgroup.remove()
            shutil.rmtree(workdir, ignore_errors=True)

    def describe(self) -> dict[str, str]:
        root, ns, cg = os.geteuid() == 0, self.namespaces, cgroups.version()
        nproc = "not enforced (running as root)" if root else "RLIMIT_NPROC (per user: tasks now + max_procs)"
        off = f"not isolated ({ns.reason})"
        return {
            "name": self.name,
            "isolation": "own process group and temp work dir per job; scrubbed environment",
            "wall_clock": "host deadline, then SIGKILL to the whole process group",
            "memory": "RLIMIT_AS per process (CPU jobs) + watchdog on the group's PSS"
                      + (f" + cgroup v{cg} memory limit" if cg else ""),
            "max_procs": f"cgroup v{cg} pids.max; watchdog counts the group" if cg
                         else f"watchdog counts the group; {nproc}",
            "file_size": "RLIMIT_FSIZE",
            "lifetime": ("killed with the process that started it (PR_SET_PDEATHSIG)" if self.die_with_parent
                         else "outlives a killed starter until its CPU-time limit")
                        + "; RLIMIT_CPU from the wall limit",
            "threads": "OMP/MKL/OPENBLAS_NUM_THREADS + torch.set_num_threads",
            "output": "bounded stdout/stderr tails; result through a file",
            "rlimits": "hard limits" if ns.active or not root else "settable back up by a root candidate",
            "network": "none (own network namespace, loopback down)" if ns.active else off,
            "filesystem": ("read-only but for the work dir; /tmp, /run, /dev/shm empty; other files readable"
                           if ns.active else f"{off}: readable and writable as this user"),
            "capabilities": "all dropped, no_new_privs" if ns.active else off,
            "processes": "own PID namespace: host processes unseen, leftovers die with the worker"
                         if ns.active else f"{off}: the candidate can signal this user's processes",
            "procfs_watchdog": "active" if procfs.procfs_available() else "unavailable (no /proc)",
        }

    def close(self) -> None:
        _kill_groups(self._live, self._lock)

    def _spawn(self, workdir: Path, job: Job, cgroup: cgroups.JobCgroup | None) -> subprocess.Popen[bytes]:
        limits, die_with_parent = _rlimits(job), self.die_with_parent
        argv = [sys.executable, "-m", "archlab.sandbox.worker", str(workdir)]
        if self.namespaces.active:
            argv = [*self.namespaces.prefix, *argv, "--confine"]
        join_fds: list[int] = []

        def before_exec() -> None:  # only setrlimit and write syscalls run here
            cgroups.join(join_fds)
            _apply_rlimits(limits)
            if die_with_parent:  # with namespaces, unshare's --kill-child then takes the whole job along
                _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

        try:
            join_fds = cgroup.join_fds() if cgroup is not None else []
            proc = subprocess.Popen(
                argv, cwd=workdir, env=_child_env(workdir, job.limits), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                preexec_fn=before_exec,  # noqa: PLW1509
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"cannot start the sandbox worker: {exc}") from exc
        finally:
            for fd in join_fds:
                os.close(fd)
        with self._lock:
            self._live[proc.pid] = proc
        self.last_pgid = proc.pid  # start_new_session: the worker leads its own group
        log.debug("job %s started as pid %d in %s", job.stage, proc.pid, workdir)
        return proc

    def _end(self, proc: subprocess.Popen[bytes]) -> tuple[int, Any]:
        """Kill what is left of the group, then reap the worker and return its status and rusage.

        The worker is still unreaped here (a zombie at worst), so its pid, which is the group id,
        cannot have been reused: killpg reaches only this job's processes.
        """
        _killpg(proc.pid)
        _await_group_death(proc.pid)
        _, wait_status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)  # tell Popen not to wait again
        with self._lock:
            self._live.pop(proc.pid, None)
        return wait_status, rusage


def _prepare(workdir: Path, job: Job) -> None:
    (workdir / "home").mkdir()
    (workdir / "tmp").mkdir()
    protocol.write_inputs(workdir, job)


def _child_env(workdir: Path, limits: Limits) -> dict[str, str]:
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.update(
        HOME=str(workdir / "home"), TMPDIR=str(workdir / "tmp"), **protocol.worker_env(limits.threads),
        PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _rlimits(job: Job) -> dict[int, int]:
    """Limits for the child, computed here because preexec_fn should do no more than set them."""
    lim = job.limits
    out = {resource.RLIMIT_FSIZE: lim.file_size_mb << 20, resource.RLIMIT_CPU: cpu_seconds(lim)}
    if not _may_use_gpu(job):
        out[resource.RLIMIT_AS] = lim.memory_mb << 20
    if os.geteuid() != 0:  # RLIMIT_NPROC is per user and ignored for root
        out[resource.RLIMIT_NPROC] = procfs.user_tasks(os.getuid()) + lim.max_procs + NPROC_HEADROOM
    return out


def _may_use_gpu(job: Job) -> bool:
    if job.params.get("device", "auto") == "cpu":
        return False
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible not in ("", "-1") and Path("/dev/nvidiactl").exists()


def _apply_rlimits(limits: dict[int, int]) -> None:
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))


def _wait(proc: subprocess.Popen[bytes], workdir: Path, limits: Limits, started: float,
          cgroup: cgroups.JobCgroup | None) -> _Watch:
    """Poll until the worker exits (left unreaped) or we decide to kill its group."""
    watch, deadline, tick = _Watch(), started + limits.wall_s, 0
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        watch.started = watch.started or (workdir / "started").exists()
        if time.monotonic() >= deadline:
            watch.reason = "timeout"
            break
        if cgroup is not None and cgroup.oom_killed():
            watch.reason = "memory"  # the kernel killed one of the job's processes: the job is over its limit
            break
        if tick % WATCH_EVERY == 0 and procfs.procfs_available():
            watch.reason = _check_group(proc.pid, limits, watch, watch.started)
            if watch.reason:
                break
        tick += 1
        time.sleep(POLL_S)
    return watch


def _check_group(pgid: int, limits: Limits, watch: _Watch, running: bool) -> str | None:
    members = procfs.group_members(pgid)
    used_kb = procfs.group_memory_kb(members)
    watch.peak_group_kb = max(watch.peak_group_kb, used_kb)
    if running:  # before its `started` marker the worker may still be the forked copy of the host
        watch.peak_hwm_kb = max(watch.peak_hwm_kb, sum(procfs.high_water_kb(pid) for pid in members))
    if used_kb > limits.memory_mb * 1024:
        return "memory"
    return "procs" if len(members) > limits.max_procs else None


def _peak_mb(watch: _Watch, rusage: Any, reported: dict[str, Any] | None) -> float:
    """The job's peak memory as the host saw it: the cgroup's peak, the sampled PSS and high-water marks. wait4's
    ru_maxrss counts the RSS the worker had when forked from the host (exec keeps it): a host holding a large
    task's data would look like every job's peak. It is the last resort, after the worker's own VmHWM report,
    for a job too short to be sampled."""
    seen = max(watch.peak_group_kb, watch.peak_hwm_kb) / 1024
    if watch.peak_hwm_kb:
        return seen
    value = (reported or {}).get("peak_rss_mb")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return max(seen, float(value))
    return max(seen, rusage.ru_maxrss / 1024)  # ru_maxrss is in KB on Linux


def _judge(watch: _Watch, wait_status: int, rusage: Any, workdir: Path, limits: Limits,
           tails: dict[str, str], wall_s: float) -> JobResult:
    """Turn what happened into a JobResult; the order is which explanation wins."""
    reported = protocol.read_result(workdir / "result.json", limits)
    peak_mb = _peak_mb(watch, rusage, reported)
    artifacts = {k: v for k, v in tails.items() if v}
    base: dict[str, Any] = {"wall_s": wall_s, "peak_memory_mb": peak_mb, "artifacts": artifacts}
    if watch.reason == "timeout":
        return JobResult(status=JobStatus.TIMEOUT,
                         error=f"exceeded the wall-clock limit of {limits.wall_s:g} s", **base)
    if watch.reason == "memory":
        how = "the kernel's OOM killer acted in the job's cgroup" if watch.cgroup_oom else "watchdog"
        return JobResult(status=JobStatus.OUT_OF_MEMORY, error=f"the job's processes held more than "
                         f"{limits.memory_mb} MB ({how})", **base)
    if watch.reason == "procs":
        return JobResult(status=JobStatus.CANDIDATE_ERROR,
                         error=f"ran more than {limits.max_procs} processes at once; killed", **base)
    if reported is not None:
        return protocol.from_report(reported, base)
    return _from_exit(watch, wait_status, peak_mb, limits, base)


def _from_exit(watch: _Watch, wait_status: int, peak_mb: float, limits: Limits,
               base: dict[str, Any]) -> JobResult:
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGKILL and watch.cgroup_oom:
            return JobResult(status=JobStatus.OUT_OF_MEMORY, error=f"the kernel's OOM killer stopped the job at "
                             f"its {limits.memory_mb} MB cgroup limit", **base)
        if sig == signal.SIGKILL and peak_mb >= OOM_NEAR * limits.memory_mb:
            return JobResult(status=JobStatus.OUT_OF_MEMORY, error=f"killed by SIGKILL at {peak_mb:.0f} MB, "
                             f"near the {limits.memory_mb} MB limit (kernel OOM killer?)", **base)
        return JobResult(status=JobStatus.KILLED, error=f"killed by {signal.Signals(sig).name}", **base)
    code = os.waitstatus_to_exitcode(wait_status)
    if not watch.started:
        log.warning("sandbox worker did not start (exit code %d)", code)
        error = f"the sandbox worker did not start (exit code {code}); see stderr_tail"
        return JobResult(status=JobStatus.INFRA_ERROR, error=error, **base)
    error = f"the worker exited with code {code} without a result (os._exit or sys.exit?)"
    return JobResult(status=JobStatus.CANDIDATE_ERROR, error=error, **base)


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is already empty


def _await_group_death(pgid: int, timeout: float = 2.0) -> None:
    """SIGKILL is delivered asynchronously: wait until no member still runs, so that when run()
    returns, nothing of the job does."""
    deadline = time.monotonic() + timeout
    while procfs.procfs_available() and procfs.group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _kill_groups(live: dict[int, subprocess.Popen[bytes]], lock: threading.Lock) -> None:
    with lock:
        pgids = list(live)
    for pgid in pgids:
        log.info("killing sandbox job group %d", pgid)
        _killpg(pgid)
