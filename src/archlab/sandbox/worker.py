"""`python -m archlab.sandbox.worker WORKDIR [--out DIR] [--confine]`: runs one stage on a candidate.

Reads `job.json` and `candidate.py` from WORKDIR and writes `started`, then `result.json` (tmp then
rename, so the host never reads half a file) to DIR, by default WORKDIR itself. The result travels
through a file, not stdout, so whatever the candidate prints cannot break the protocol.

Only the standard library is imported at module level: the first thing this process does is write
the `started` marker, so the host can tell "the worker never ran" (our fault) from "the candidate
killed the worker" (its fault). With `--confine` (process backend, in fresh namespaces) the worker
then makes the filesystem read-only but for WORKDIR and drops its capabilities (`confine.py`), before
torch or the candidate is imported.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path
from typing import Any

TRACEBACK_CHARS = 4000
OOM_MARKERS = ("can't allocate memory", "cannot allocate memory", "out of memory")


def _peak_rss_mb() -> float:
    """This process' VmHWM since its exec; ru_maxrss would include the RSS of the host it was forked from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    workdir = Path(argv[1])
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else workdir
    worker_pid = os.getpid()
    (out / "started").touch()
    job = json.loads((workdir / "job.json").read_text())
    if "--confine" in argv[2:]:
        from archlab.sandbox.confine import confine

        try:
            confine(workdir)
        except OSError as exc:
            _write(out, _failure("infra_error", f"worker could not confine itself: {_line(exc)}"))
            return 0
    try:
        run_stage, candidate_error = _import_runtime(int(job.get("threads", 1)))
    except BaseException as exc:  # noqa: BLE001 - any import failure means the worker is broken
        _write(out, _failure("infra_error", f"worker could not import archlab/torch: {_line(exc)}"))
        return 0
    try:
        done = run_stage(job["stage"], workdir / "candidate.py", job["task"], job.get("params", {}), workdir)
        result = {"status": "ok", "metrics": done.get("metrics", {}), "outputs": done.get("outputs", {})}
    except BaseException as exc:  # noqa: BLE001 - whatever the candidate raised is recorded, not fatal
        result = _classify(exc, candidate_error)
    if os.getpid() != worker_pid:
        # A process the candidate forked came back up here: only the worker reports, and a fork
        # bomb's thousand exits should not each run the interpreter's teardown.
        os._exit(1)
    result["peak_rss_mb"] = _peak_rss_mb()  # for hosts that can't see
    _write(out, result)
    return 0


def _import_runtime(threads: int) -> tuple[Any, type[BaseException]]:
    """torch with its thread count fixed, and the stage runner."""
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)  # must happen before any parallel work starts
    from archlab.errors import CandidateError
    from archlab.evaluator.stages import run_stage

    return run_stage, CandidateError


def _classify(exc: BaseException, candidate_error: type[BaseException]) -> dict[str, Any]:
    if _is_oom(exc):
        return _failure("out_of_memory", _line(exc), exc)
    if isinstance(exc, candidate_error):
        return _failure("candidate_error", str(exc) or type(exc).__name__, exc)
    return _failure("candidate_error", _line(exc), exc)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in OOM_MARKERS)


def _failure(status: str, error: str, exc: BaseException | None = None) -> dict[str, Any]:
    tb = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:] if exc is not None else None
    return {"status": status, "metrics": {}, "outputs": {}, "error": error, "traceback": tb}


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _write(workdir: Path, result: dict[str, Any]) -> None:
    tmp = workdir / "result.json.tmp"
    try:
        text = json.dumps(result, allow_nan=True)
    except (TypeError, ValueError) as exc:  # a stage returning something JSON cannot hold
        text = json.dumps(_failure("candidate_error", f"result is not JSON: {_line(exc)}"))
    tmp.write_text(text)
    os.replace(tmp, workdir / "result.json")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
