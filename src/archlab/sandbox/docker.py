"""DockerSandbox: each job in a fresh, locked-down container, through the Docker Engine API.

Every container: no network (`network_mode="none"`), a read-only root filesystem, a size-limited tmpfs
as work dir, the candidate and its inputs bind-mounted read-only, a memory limit with no swap, a pids
limit, a CPU quota of `threads` CPUs, every capability dropped, no-new-privileges, user 65534, no IPC
namespace shared, RLIMIT_FSIZE, and a log capped at `output_cap_kb`. Only the result comes back,
through a small host folder mounted at /out; nothing of the host's environment goes in.

Containers carry the label `archlab.sandbox=job` and their owner (host and pid). They are removed
after every job, on Ctrl-C (the `finally` of `run`), at interpreter exit, and, should all of that
fail (the host was killed), by the sweep each new DockerSandbox makes of containers whose owner died.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from archlab.errors import SandboxError
from archlab.sandbox import image, procfs, protocol
from archlab.sandbox.base import DockerOptions, Job, JobResult, JobStatus, Limits, cpu_seconds

try:
    import docker
    import docker.errors
    import requests.exceptions
    from docker.types import DeviceRequest, LogConfig, Ulimit
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SandboxError("the docker backend needs the docker package: pip install 'archlab[docker]'") from exc

log = logging.getLogger(__name__)

OWNER = "archlab.owner"
WAIT_S = 0.5  # container.wait slices; between them the host checks the deadline and /out
NPROC_HEADROOM = 32  # the pids limit counts threads: torch and OpenMP pools need some
UID = image.SANDBOX_UID
WORK, OUT = "/work", "/out"


class DockerSandbox:
    name = "docker"

    def __init__(self, options: DockerOptions | None = None) -> None:
        self.options = options or DockerOptions()
        self.client = connect()
        self.image_ref = self.options.image or image.image_tag()
        self.image_id = _image_id(self.client, self.image_ref)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._live: dict[str, Any] = {}
        self._lock = threading.Lock()
        sweep(self.client)
        # Interpreter exit (even after an unhandled Ctrl-C) must not leave a container running.
        self._finalizer = weakref.finalize(self, _remove_all, self._live, self._lock)

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, job: Job) -> JobResult:
        started = time.monotonic()
        stage = Path(tempfile.mkdtemp(prefix="archlab-docker-"))
        container = None
        try:
            inputs, out = _stage_dirs(stage)
            protocol.write_inputs(inputs, job)
            container = self._start(job, inputs, out)
            with OomWatch(self.client, container.id) as oom:
                container.start()
                reason = _wait(container, out, job.limits, started, oom)
            tails = _tails(container, job.limits.output_cap_kb * 1024)
            state = _state(container)
            return _judge(reason, state, out, job.limits, tails, time.monotonic() - started, self.image_id)
        finally:
            if container is not None:
                self._remove(container)
            shutil.rmtree(stage, ignore_errors=True)

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "image": f"{self.image_ref} ({self.image_id[:19]})",
            "isolation": "a fresh container per job, removed after it; startup sweep of leftovers",
            "network": "none",
            "filesystem": f"read-only root; tmpfs {WORK}; candidate and inputs mounted read-only; host files unseen",
            "user": f"uid {UID}, all capabilities dropped, no-new-privileges",
            "memory": "cgroup limit, no swap; the OOM killer's verdict is read from the container",
            "max_procs": "pids limit (threads count too)",
            "cpu": "CPU quota of `threads` CPUs",
            "file_size": f"RLIMIT_FSIZE; {WORK} holds twice the file-size limit",
            "wall_clock": "host deadline, then SIGKILL to the container",
            "environment": "nothing of the host's: thread counts, HOME and TMPDIR only",
            "gpus": "all, by device_requests" if self.options.gpus else "none",
        }

    def close(self) -> None:
        _remove_all(self._live, self._lock)

    def _start(self, job: Job, inputs: Path, out: Path) -> Any:
        try:
            container = self.client.containers.create(**self._spec(job, inputs, out))
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise SandboxError(f"cannot start a sandbox container: {exc}") from exc
        with self._lock:
            self._live[container.id] = container
        return container

    def _spec(self, job: Job, inputs: Path, out: Path) -> dict[str, Any]:
        lim = job.limits
        binds = {str(p): {"bind": f"{WORK}/{p.name}", "mode": "ro"} for p in sorted(inputs.iterdir())}
        binds[str(out)] = {"bind": OUT, "mode": "rw"}
        return dict(
            image=self.image_id, command=["python3", "-m", "archlab.sandbox.worker", WORK, "--out", OUT],
            user=f"{UID}:{UID}", working_dir=WORK, network_mode="none", ipc_mode="none", read_only=True,
            # Sized above the file-size limit, so that RLIMIT_FSIZE, not a full disk, stops a large file.
            tmpfs={WORK: f"size={2 * lim.file_size_mb + 16}m,uid={UID},gid={UID},mode=0700"}, volumes=binds,
            environment={"HOME": WORK, "TMPDIR": WORK, **protocol.worker_env(lim.threads)},
            mem_limit=f"{lim.memory_mb}m", memswap_limit=f"{lim.memory_mb}m",
            pids_limit=lim.max_procs + NPROC_HEADROOM, nano_cpus=int(min(lim.threads, os.cpu_count() or 1) * 1e9),
            cap_drop=["ALL"], security_opt=["no-new-privileges"],
            ulimits=[Ulimit(name="fsize", soft=lim.file_size_mb << 20, hard=lim.file_size_mb << 20),
                     # Docker has no run-time limit; CPU time bounds a container whose starter died before
                     # the next archlab process's sweep removes it.
                     Ulimit(name="cpu", soft=cpu_seconds(lim), hard=cpu_seconds(lim))],
            log_config=LogConfig(type="json-file", config={"max-size": f"{lim.output_cap_kb}k", "max-file": "1"}),
            labels={image.LABEL: "job", OWNER: self.owner, "archlab.stage": job.stage},
            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])] if self.options.gpus else None,
            hostname="sandbox", stdin_open=False, tty=False,
        )

    def _remove(self, container: Any) -> None:
        with self._lock:
            self._live.pop(container.id, None)
        _force_remove(container)


def connect() -> Any:
    """A client for the daemon DOCKER_HOST (or the default socket) names; SandboxError if none answers."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise SandboxError(f"cannot reach a Docker daemon: {exc}") from exc
    return client


def _image_id(client: Any, ref: str) -> str:
    try:
        return client.images.get(ref).id
    except docker.errors.ImageNotFound:
        raise SandboxError(f"no sandbox image {ref} for this archlab source: run `archlab sandbox build-image`"
                           ) from None
    except docker.errors.APIError as exc:
        raise SandboxError(f"cannot inspect image {ref}: {exc}") from exc


def sweep(client: Any) -> int:
    """Remove job containers whose owning process on this host is gone (a crashed or killed run)."""
    host, removed = socket.gethostname(), 0
    try:
        leftovers = client.containers.list(all=True, filters={"label": f"{image.LABEL}=job"})
    except docker.errors.APIError as exc:
        raise SandboxError(f"cannot list containers: {exc}") from exc
    for container in leftovers:
        owner_host, _, pid = container.labels.get(OWNER, "").rpartition(":")
        if owner_host == host and pid.isdigit() and not procfs.is_alive(int(pid)):
            log.info("removing leftover sandbox container %s of dead process %s", container.short_id, pid)
            _force_remove(container)
            removed += 1
    if removed:
        log.warning("removed %d sandbox container(s) left by an archlab process that died", removed)
    return removed


def _stage_dirs(stage: Path) -> tuple[Path, Path]:
    inputs, out = stage / "in", stage / "out"
    inputs.mkdir()
    out.mkdir()
    inputs.chmod(0o755)
    try:
        os.chown(out, UID, UID)
    except PermissionError:  # not root: let uid 65534 write by mode instead
        out.chmod(0o777)
    return inputs, out


class OomWatch:
    """Listens for the daemon's `oom` events of one container: the OOM killer may take a child and leave
    the job running, and the container's OOMKilled flag is only set once it has exited."""

    def __init__(self, client: Any, container_id: str) -> None:
        self._client, self._id, self._seen = client, container_id, threading.Event()
        self._stream: Any = None

    def __enter__(self) -> OomWatch:
        self._stream = self._client.events(decode=True, filters={"container": self._id, "event": "oom"})
        threading.Thread(target=self._listen, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()

    def _listen(self) -> None:
        try:
            for _ in self._stream:
                self._seen.set()
                return
        except Exception:  # noqa: BLE001 - the stream closes under us when the job ends
            return

    def seen(self) -> bool:
        return self._seen.is_set()


def _wait(container: Any, out: Path, limits: Limits, started: float, oom: OomWatch) -> str | None:
    """Wait for the container to exit; kill it and say why when a limit is hit first."""
    deadline, cap = started + limits.wall_s, limits.file_size_mb << 20
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _kill(container, "timeout")
        if oom.seen():
            return _kill(container, "memory")
        try:
            container.wait(timeout=min(WAIT_S, remaining))
            return None
        except requests.exceptions.RequestException:  # the slice ran out; the container still runs
            pass
        if _folder_bytes(out) > cap:  # /out is a host folder: bound what the candidate may put there
            return _kill(container, "output")


def _kill(container: Any, reason: str) -> str:
    try:
        container.kill()
    except docker.errors.APIError:
        pass  # it exited meanwhile
    return reason


def _folder_bytes(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        try:
            total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def _tails(container: Any, cap: int) -> dict[str, str]:
    tails = {}
    for name, flags in (("stdout_tail", {"stdout": True, "stderr": False}),
                        ("stderr_tail", {"stdout": False, "stderr": True})):
        try:
            raw = container.logs(**flags)
        except docker.errors.APIError:
            raw = b""
        text = raw[-cap:].decode("utf-8", errors="replace")
        if len(raw) > cap:
            marker = f"[... {len(raw) - cap} bytes cut ...]\n"
            text = marker + text[len(marker):]
        if text:
            tails[name] = text
    return tails


def _state(container: Any) -> dict[str, Any]:
    try:
        container.reload()
    except docker.errors.APIError as exc:
        raise SandboxError(f"cannot inspect the sandbox container: {exc}") from exc
    return container.attrs["State"]


def _judge(reason: str | None, state: dict[str, Any], out: Path, limits: Limits, tails: dict[str, str],
           wall_s: float, image_id: str) -> JobResult:
    reported = protocol.read_result(out / "result.json", limits)
    peak = reported.get("peak_rss_mb") if reported else None
    base: dict[str, Any] = {"wall_s": wall_s, "artifacts": tails, "image": image_id,
                            "peak_memory_mb": float(peak) if isinstance(peak, int | float) else None}
    if reason == "timeout":
        return JobResult(status=JobStatus.TIMEOUT, error=f"exceeded the wall-clock limit of {limits.wall_s:g} s",
                         **base)
    if reason == "output":
        return JobResult(status=JobStatus.CANDIDATE_ERROR, error=f"wrote more than {limits.file_size_mb} MB to "
                         "its output folder; killed", **base)
    if reason == "memory" or state.get("OOMKilled"):
        base["peak_memory_mb"] = float(limits.memory_mb)
        return JobResult(status=JobStatus.OUT_OF_MEMORY, error=f"the kernel's OOM killer stopped the container "
                         f"at its {limits.memory_mb} MB limit", **base)
    if reported is not None:
        return protocol.from_report(reported, base)
    return _from_exit(int(state.get("ExitCode", -1)), (out / "started").exists(), base)


def _from_exit(code: int, started: bool, base: dict[str, Any]) -> JobResult:
    if code > 128 and code - 128 in signal.Signals._value2member_map_:
        return JobResult(status=JobStatus.KILLED, error=f"killed by {signal.Signals(code - 128).name}", **base)
    if not started:
        log.warning("sandbox worker did not start in its container (exit code %d)", code)
        return JobResult(status=JobStatus.INFRA_ERROR, error=f"the sandbox worker did not start (exit code {code}); "
                         "see stderr_tail", **base)
    return JobResult(status=JobStatus.CANDIDATE_ERROR,
                     error=f"the worker exited with code {code} without a result (os._exit or sys.exit?)", **base)


def _force_remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        log.warning("could not remove sandbox container %s: %s", container.short_id, exc)


def _remove_all(live: dict[str, Any], lock: threading.Lock) -> None:
    with lock:
        containers = list(live.values())
        live.clear()
    for container in containers:
        log.info("removing sandbox container %s", container.short_id)
        _force_remove(container)
