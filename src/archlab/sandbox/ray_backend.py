"""RaySandbox: each job a Ray task on some node of a cluster, isolated there by the process backend
(or, with `sandbox.ray.isolation: docker`, by the Docker backend on that node).

Ray only places and carries the job: the task asks for the job's resources (CPUs = `threads`, memory
= `memory_mb`, GPUs = `gpus_per_job`), and on the node it runs `ProcessSandbox.run` exactly as a
single machine would, so limits, statuses and confinement are those of `process.py`. The job's input
files travel through Ray's object store (once per file and content, not once per job), the result
comes back as the task's return value. With Docker isolation each node runs the job in a container of
the sandbox image (built there with `archlab sandbox build-image`); a container whose Ray worker was
killed is removed by the next job's DockerSandbox on that node (its sweep of containers whose owner died).

Faults, sorted as everywhere else: what the candidate does is in the JobResult; a node (or its
worker process) lost mid-job is retried `retries` times, on another node since the dead one takes no
work, and only then reported as `infra_error`; a cluster that cannot run the job at all (unreachable,
no node with the resources asked for, archlab missing on a node) raises SandboxError.

`run_many` submits several jobs at once and yields each result as it finishes; `run` is one of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archlab.errors import SandboxError
from archlab.sandbox.base import DockerOptions, Job, JobResult, JobStatus, RayOptions

try:
    import ray
    import ray.exceptions as rex
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SandboxError("the ray backend needs the ray package: pip install 'archlab[ray]'") from exc

log = logging.getLogger(__name__)

WAIT_S = 0.5  # ray.wait slices: Ctrl-C is seen between them
CANCEL_GRACE_S = 10.0  # a cancelled job's own cleanup (kill the group, remove the work dir) before force
# The job, its node or its worker process went away: nothing the candidate did, worth another node.
LOST = (rex.NodeDiedError, rex.WorkerCrashedError, rex.ObjectLostError, rex.LocalRayletDiedError,
        rex.OutOfMemoryError)


def connect(options: RayOptions) -> None:
    """Join the cluster `address` names (or RAY_ADDRESS), or start a local one; once per process."""
    if ray.is_initialized():
        return
    # Ray itself reads RAY_ADDRESS when no address is given; "local" starts a cluster here even when an
    # earlier one left its address file behind. Only a cluster we start takes sizes.
    joins = options.address or os.environ.get("RAY_ADDRESS")
    local = {"object_store_memory": options.object_store_mb << 20, "include_dashboard": False}
    try:
        ray.init(address=options.address if joins else "local", logging_level=logging.WARNING,
                 log_to_driver=False, configure_logging=False, **({} if joins else local))
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SandboxError(f"cannot reach or start a Ray cluster ({options.address or 'local'}): {exc}") from exc


@ray.remote(max_retries=0)  # retries are ours: a lost job is logged and recorded before it runs again
def _execute(job_json: str, files: dict[str, Any], tag: str, docker_json: str | None = None,
             ) -> tuple[dict[str, Any], str]:
    """On a node: the job under the process backend (or in a container when docker_json carries the Docker
    backend's options), with its inputs in a work root named by the job's tag."""
    root = Path(tempfile.mkdtemp(prefix=f"archlab-ray-{tag}-"))
    try:
        inputs = root / "in"
        inputs.mkdir()
        paths = {}
        for name, ref in files.items():
            paths[name] = inputs / name
            paths[name].write_bytes(ray.get(ref))
        job = Job.model_validate_json(job_json).model_copy(update={"files": paths})
        with _node_sandbox(root, docker_json) as sandbox:
            result = sandbox.run(job)
        return result.model_dump(mode="json"), ray.get_runtime_context().get_node_id()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _node_sandbox(root: Path, docker_json: str | None):
    """The backend that isolates a job on this node (imported here: neither imports Ray)."""
    if docker_json is not None:
        from archlab.sandbox.docker import DockerSandbox

        return DockerSandbox(DockerOptions.model_validate_json(docker_json))
    from archlab.sandbox.process import ProcessSandbox

    # die_with_parent: a force-cancelled or crashed Ray worker takes its job along.
    return ProcessSandbox(workroot=root, die_with_parent=True)


@dataclass
class _Attempt:
    index: int  # the job's place in run_many's input
    job: Job
    tag: str
    tries: int = 0
    lost: str = ""  # why earlier tries were lost, for the result's artifacts


class RaySandbox:
    name = "ray"

    def __init__(self, options: RayOptions | None = None, docker: DockerOptions | None = None) -> None:
        self.options = options or RayOptions()
        # The Docker backend's settings travel with each job when it isolates jobs on the nodes.
        self._docker_json = (docker or DockerOptions()).model_dump_json() if self.options.isolation == "docker" \
            else None
        connect(self.options)
        self._live: dict[Any, _Attempt] = {}  # ObjectRef -> the attempt it runs
        self._lock = threading.Lock()
        self._files: dict[tuple[str, str], Any] = {}  # (name, content hash) -> ObjectRef, shipped once
        self.last_tag: str | None = None  # for tests and diagnostics: names the latest job's work root
        self.last_node: str | None = None  # the node that ran the latest job

    def __enter__(self) -> RaySandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, job: Job) -> JobResult:
        return next(self.run_many([job]))[1]

    def run_many(self, jobs: Iterable[Job]) -> Iterator[tuple[int, JobResult]]:
        """Submit every job now; yield (its index, its result) in the order they finish."""
        pending: dict[Any, _Attempt] = {}
        try:
            for index, job in enumerate(jobs):
                attempt = _Attempt(index, job, uuid.uuid4().hex[:12])
                pending[self._submit(attempt)] = attempt
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
                for ref in done:
                    attempt = pending.pop(ref)
                    result = self._collect(ref, attempt)
                    if result is None:  # lost with its node: again, elsewhere
                        pending[self._submit(attempt)] = attempt
                    else:
                        yield attempt.index, result
        finally:  # Ctrl-C, or the caller stopped iterating: nothing of ours keeps running
            self._cancel(list(pending))

    def describe(self) -> dict[str, str]:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        total = ray.cluster_resources()
        return {
            "name": self.name,
            "cluster": f"{len(nodes)} nodes, {total.get('CPU', 0):g} CPUs, {total.get('GPU', 0):g} GPUs"
                       f" ({self.options.address or 'RAY_ADDRESS or local'})",
            "placement": "one Ray task per job, asking for threads CPUs, memory_mb and gpus_per_job GPUs",
            "isolation": f"the {self.options.isolation} backend on the node that runs the job "
                         "(see `archlab doctor` there)",
            "node_loss": f"retried {self.options.retries} time(s) on another node, then infra_error",
            "inputs": "job files through the object store, once per content",
        }

    def close(self) -> None:
        with self._lock:
            refs = list(self._live)
        self._cancel(refs)

    def _submit(self, attempt: _Attempt) -> Any:
        job = attempt.job
        _check_feasible(self._resources(job))
        files = {name: self._file_ref(name, path) for name, path in job.files.items()}
        ref = _execute.options(**self._resources(job)).remote(job.model_dump_json(exclude={"files"}), files,
                                                             attempt.tag, self._docker_json)
        attempt.tries += 1
        self.last_tag = attempt.tag
        with self._lock:
            self._live[ref] = attempt
        return ref

    def _resources(self, job: Job) -> dict[str, float]:
        gpus = 0.0 if job.params.get("device") == "cpu" else self.options.gpus_per_job
        return {"num_cpus": job.limits.threads, "num_gpus": gpus, "memory": job.limits.memory_mb << 20}

    def _file_ref(self, name: str, path: Path) -> Any:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SandboxError(f"cannot read job input {name} ({path}): {exc}") from exc
        key = (name, hashlib.sha256(data).hexdigest())
        if key not in self._files:
            self._files[key] = ray.put(data)
        return self._files[key]

    def _collect(self, ref: Any, attempt: _Attempt) -> JobResult | None:
        """The job's result; None when it was lost with its node and may run again."""
        with self._lock:
            self._live.pop(ref, None)
        try:
            reported, node = ray.get(ref)
        except LOST as exc:
            why = f"try {attempt.tries} lost: {type(exc).__name__}: {_first_line(exc)}"
            attempt.lost = f"{attempt.lost}\n{why}".strip()
            if attempt.tries <= self.options.retries:
                log.warning("sandbox job %s %s; running it again elsewhere", attempt.tag, why)
                return None
            log.error("sandbox job %s %s; giving up", attempt.tag, why)
            return JobResult(status=JobStatus.INFRA_ERROR, wall_s=0.0, artifacts={"ray_lost": attempt.lost},
                             error=f"the Ray node running the job was lost {attempt.tries} time(s): {why}")
        except rex.RayTaskError as exc:  # our task itself failed on the node: not the candidate's doing
            raise SandboxError(f"the Ray task could not run the job: {_first_line(exc.cause or exc)}") from exc
        except rex.RayError as exc:
            raise SandboxError(f"Ray failed to run the job: {_first_line(exc)}") from exc
        self.last_node = node
        result = JobResult.model_validate(reported)
        if attempt.lost:  # ran, but not on the first node: say so beside the result
            result.artifacts["ray_lost"] = attempt.lost
        return result

    def _cancel(self, refs: list[Any]) -> None:
        """Cancel gently (the task kills its job group and cleans up), then by force."""
        if not refs:
            return
        for ref in refs:
            ray.cancel(ref, force=False)
        _, stuck = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for ref in stuck:
            ray.cancel(ref, force=True)  # kills the Ray worker; die_with_parent takes the job along
        with self._lock:
            for ref in refs:
                self._live.pop(ref, None)


def _check_feasible(request: dict[str, float]) -> None:
    """SandboxError when no live node has the resources the job asks for: Ray would queue it forever."""
    wanted = {"CPU": request["num_cpus"], "GPU": request["num_gpus"], "memory": request["memory"]}
    for node in ray.nodes():
        have = node.get("Resources", {})
        if node.get("Alive") and all(have.get(k, 0) >= v for k, v in wanted.items() if v):
            return
    asks = ", ".join(f"{k} {v:g}" for k, v in wanted.items() if v)
    raise SandboxError(f"no node of the Ray cluster has the resources a job asks for ({asks}); "
                       "lower sandbox.limits (threads, memory_mb) or sandbox.ray.gpus_per_job, or add nodes")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

