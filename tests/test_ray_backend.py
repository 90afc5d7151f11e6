"""The Ray backend's own faults, on the session's real local cluster (the shared behaviour suite runs on
it too, in test_sandbox_behaviour.py): a node killed mid-job, a worker killed twice, jobs that no
node can take, results that come back as they finish."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from hostile import host_processes_mentioning

from archlab.errors import SandboxError
from archlab.evaluator.tasks import get_task
from archlab.run.settings import load_config
from archlab.sandbox import Job, JobResult, JobStatus, Limits, make_sandbox
from archlab.sandbox.base import RayOptions

pytestmark = pytest.mark.ray

TASK = get_task("mnist1d")
SLOW_OK = """
import time
from torch import nn

def build_model(task):
    print("building", flush=True)
    time.sleep(__SLEEP__)
    return nn.Sequential(nn.Flatten(), nn.Linear(40, task.num_outputs))
"""


def job(sleep: float, wall_s: float = 120, threads: int = 1) -> Job:
    return Job(stage="build", source=SLOW_OK.replace("__SLEEP__", str(sleep)), task=TASK.spec.model_dump(),
               params={"device": "cpu"}, limits=Limits(wall_s=wall_s, threads=threads, memory_mb=2048))


@pytest.fixture
def sandbox(ray_cluster: object) -> Iterator:
    box = make_sandbox("ray")
    yield box
    box.close()


def await_job_processes(box, exclude: set[int] = frozenset(), timeout_s: float = 60) -> list[int]:
    """The processes of the sandbox's job (submitted from another thread), once it has started."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tag = box.last_tag
        found = [pid for pid in host_processes_mentioning(f"archlab-ray-{tag}") if pid not in exclude] if tag else []
        if found:
            return found
        time.sleep(0.1)
    pytest.fail("the job never started")


def ray_worker_of(pids: list[int]) -> int:
    """The Ray worker process that started the job: the parent of the job's outermost process."""
    parents = {pid: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]) for pid in pids}
    outer = [ppid for ppid in parents.values() if ppid not in parents]
    assert outer, parents
    return outer[0]


def run_in_thread(box, j: Job) -> tuple[threading.Thread, list[JobResult]]:
    results: list[JobResult] = []
    thread = threading.Thread(target=lambda: results.append(box.run(j)), daemon=True)
    thread.start()
    return thread, results


def test_a_node_killed_mid_job_is_retried_on_another(ray_cluster, sandbox) -> None:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    from ray_cluster import wait_for_nodes

    others = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
    doomed = ray_cluster.add_node()
    wait_for_nodes(len(others) + 1)

    @ray.remote(num_cpus=2)
    def hold() -> None:
        time.sleep(300)

    # Every CPU but the new node's is taken, so the job's first try can only land there.
    blockers = [hold.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
                for node in others]
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) > 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        thread, results = run_in_thread(sandbox, job(sleep=4, threads=2))
        first = await_job_processes(sandbox)
        ray_cluster.kill_node(doomed)
    finally:
        for blocker in blockers:
            ray.cancel(blocker, force=True)
    thread.join(timeout=120)
    assert results, "the job never came back"
    result = results[0]
    assert result.status is JobStatus.OK, result.error
    assert "NodeDiedError" in result.artifacts["ray_lost"] or "WorkerCrashedError" in result.artifacts["ray_lost"]
    assert sandbox.last_node in others  # the retry ran elsewhere
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in first) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in first if os.path.exists(f"/proc/{pid}")], "the lost try's job outlived its node"


def test_a_job_lost_twice_is_an_infra_error(sandbox) -> None:
    thread, results = run_in_thread(sandbox, job(sleep=120))
    seen: set[int] = set()
    for _ in range(2):  # the first try, then its one retry
        pids = await_job_processes(sandbox, exclude=seen)
        seen.update(pids)
        os.kill(ray_worker_of(pids), signal.SIGKILL)
    thread.join(timeout=60)
    assert results and results[0].status is JobStatus.INFRA_ERROR
    assert "lost 2 time(s)" in results[0].error
    assert results[0].artifacts["ray_lost"].count("WorkerCrashedError") == 2
    deadline = time.monotonic() + 5  # the killed workers took their jobs along (die_with_parent)
    while any(os.path.exists(f"/proc/{pid}") for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if os.path.exists(f"/proc/{pid}")]


def test_results_come_back_as_they_finish(sandbox) -> None:
    order = [index for index, result in sandbox.run_many([job(sleep=4), job(sleep=0)])
             if result.status is JobStatus.OK]
    assert order == [1, 0]


def test_a_job_no_node_can_take_is_refused(ray_cluster) -> None:
    box = make_sandbox("ray", ray=RayOptions(gpus_per_job=1))
    gpu_job = job(sleep=0).model_copy(update={"params": {}})  # may use a GPU: asks Ray for one
    with pytest.raises(SandboxError, match="no node of the Ray cluster"):
        box.run(gpu_job)


def test_config_selects_ray() -> None:
    cfg = load_config(None, {"sandbox": {"backend": "ray", "ray": {"address": "auto", "gpus_per_job": 0.5}}})
    assert cfg.sandbox.backend == "ray" and cfg.sandbox.ray.gpus_per_job == 0.5


WHOAMI = """import os

def build_model(task):
    raise RuntimeError(f"uid={os.getuid()} container={os.path.exists('/.dockerenv')}")
"""


@pytest.mark.docker
def test_jobs_run_in_docker_containers_on_the_nodes(ray_cluster) -> None:
    """isolation: docker — each job in a container on its node; a container whose Ray worker is killed
    is removed by the next job's sweep, and the job runs again."""
    from hostile import open_sandbox, session_image

    from archlab.sandbox.base import DockerOptions
    from archlab.sandbox.docker import OWNER, connect

    open_sandbox("docker").close()  # the daemon and the image, or a skip (a failure under CI) saying why
    box = make_sandbox("ray", DockerOptions(image=session_image()), RayOptions(isolation="docker"))
    client = connect()
    try:
        who = box.run(Job(stage="build", source=WHOAMI, task=TASK.spec.model_dump(), params={"device": "cpu"},
                          limits=Limits(wall_s=60, threads=1, memory_mb=1024)))
        assert who.status is JobStatus.CANDIDATE_ERROR and "uid=65534 container=True" in (who.error or "")
        assert who.image and who.image.startswith("sha256:")  # the digest every evaluation records
        assert "docker backend" in box.describe()["isolation"]

        thread, results = run_in_thread(box, job(sleep=6))
        container = _await_container(client)
        worker = int(container.labels[OWNER].rpartition(":")[2])  # the Ray worker that started it
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=180)
        assert results, "the job never came back"
        assert results[0].status is JobStatus.OK, results[0].error
        assert "WorkerCrashedError" in results[0].artifacts["ray_lost"] or "NodeDiedError" in \
            results[0].artifacts["ray_lost"]
        left = [c.id for c in client.containers.list(all=True, filters={"label": "archlab.sandbox=job"})]
        assert container.id not in left, "the killed worker's container was not swept"
    finally:
        box.close()


def _await_container(client, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = client.containers.list(filters={"label": ["archlab.sandbox=job", "archlab.stage=build"]})
        if running:
            return running[0]
        time.sleep(0.1)
    pytest.fail("no job container started")
