"""The host's side of the worker protocol, shared by every backend: the job's files in, the result out.

The worker reads `job.json` and `candidate.py` and writes `started`, then `result.json`. Whatever the
result file holds was written by a process the candidate shared, so it is parsed defensively: a
missing, oversized, malformed or odd result is the candidate's fault, never an exception here.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from archlab.errors import SandboxError
from archlab.sandbox.base import Job, JobResult, JobStatus, Limits

log = logging.getLogger(__name__)


def worker_env(threads: int) -> dict[str, str]:
    """What every backend sets for the worker beside its own paths: thread counts and glibc malloc's.

    Malloc: each arena reserves 64 MB of address space, which RLIMIT_AS counts, so two at most. And a
    fresh process hands a training step's freed tensors back to the kernel and faults them in again on the
    next step (glibc's mmap threshold starts at 128 KB, heap trimming at 128 KB): 2-3.5 million minor
    faults in 4,000 MNIST-1D steps, 37% slower than the same training in a long-lived process. A fixed
    32 MB mmap threshold (the largest the dynamic rule would reach) with no trimming below 1 GB keeps the
    memory in the process: 25 thousand faults, the long-lived speed (benchmarks/sandbox_throughput.py).
    """
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MALLOC_ARENA_MAX": "2",
            "MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def write_inputs(folder: Path, job: Job) -> None:
    """candidate.py, job.json and the job's files, in folder."""
    (folder / "candidate.py").write_text(job.source)
    for name, src in job.files.items():
        # A copy, not a hardlink: a hardlink shares the inode, and the candidate could rewrite the
        # host's cached file for every later job.
        try:
            shutil.copyfile(src, folder / name)
        except OSError as exc:
            raise SandboxError(f"cannot place job file {name!r} from {src}: {exc}") from exc
    spec = {"stage": job.stage, "task": job.task, "params": job.params, "threads": job.limits.threads}
    (folder / "job.json").write_text(json.dumps(spec))


def read_result(path: Path, limits: Limits) -> dict[str, Any] | None:
    """The worker's report, or None when it wrote none."""
    try:
        if path.stat().st_size > limits.file_size_mb << 20:
            return {"status": "candidate_error", "error": "result.json is larger than the file-size limit"}
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"status": "candidate_error", "error": f"result.json is unreadable: {exc}"}
    if not isinstance(data, dict):
        return {"status": "candidate_error", "error": "result.json holds no JSON object"}
    return data


def from_report(reported: dict[str, Any], base: dict[str, Any]) -> JobResult:
    """A JobResult from the worker's report; base holds wall_s, peak_memory_mb, artifacts."""
    try:
        status = JobStatus(reported.get("status"))
    except ValueError:
        status, reported = JobStatus.CANDIDATE_ERROR, {"error": f"bad status {reported.get('status')!r}"}
    if reported.get("traceback"):
        base["artifacts"]["traceback"] = str(reported["traceback"])
    error = reported.get("error")
    if status is JobStatus.INFRA_ERROR:
        log.warning("sandbox worker is broken: %s", error)
    return JobResult(status=status, metrics=_dict(reported.get("metrics")),
                     outputs=_dict(reported.get("outputs")), error=one_line(error), **base)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def one_line(text: Any, limit: int = 500) -> str | None:
    if text is None:
        return None
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
