"""The hostile-candidate suite as a table: case, backend, status, time to containment.

    python benchmarks/sandbox_hostile.py [--backends process,docker] [--json FILE]

Runs every candidate in tests/hostile/ with the limits the test suite gives it and prints what
each backend made of it. Time to containment is the job's wall time, from `Sandbox.run` called to
the job's processes or container gone. `perfect_score` trains and is then judged by the host's
integrity check, as a run would judge it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile import CANARY, CASES, Case, source  # noqa: E402

from archlab.evaluator.tasks import get_task  # noqa: E402
from archlab.sandbox import Job, Limits, Sandbox, make_sandbox  # noqa: E402
from archlab.sandbox.integrity import suspected_leakage  # noqa: E402

TASK = get_task("mnist1d")
STEPS = 30


def run_case(sandbox: Sandbox, case: Case, port: int, data: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        outside = Path(tmp) / "outside.txt"
        params, files = {"device": "cpu"}, {}
        if case.stage == "train":
            params |= {"steps": STEPS, "data": "data.npz"}
            files = {"data.npz": data}
        job = Job(stage=case.stage, source=source(case.name, port=str(port), outside=str(outside)),
                  task=TASK.spec.model_dump(), params=params, files=files, limits=Limits(**case.limits))
        result = sandbox.run(job)
        escaped = outside.exists()
    status, note, expected = str(result.status), result.error or "", result.status in case.statuses
    if case.name == "perfect_score" and result.status == "ok":
        leak = suspected_leakage(TASK.name, STEPS, result.metrics, TASK.score(TASK.data(data.parent), result.outputs))
        status, note, expected = ("rejected by host", leak, True) if leak else ("ACCEPTED", "", False)
    return {"case": case.name, "status": status, "expected": expected, "seconds": round(result.wall_s, 2),
            "limit_s": case.limits.get("wall_s"), "leaked_canary": CANARY in result.model_dump_json(),
            "escaped": escaped, "note": note[:70]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="process,docker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = CANARY  # the canary the candidates look for
    data = TASK.job_inputs(Path(tempfile.gettempdir()) / "archlab-bench-data")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0)
    rows = []
    print(f"{'backend':<9}{'case':<16}{'status':<18}{'ok':<4}{'secs':>6}{'limit':>6}  note")
    for backend in args.backends.split(","):
        sandbox = make_sandbox(backend)
        try:
            for case in CASES:
                row = {"backend": backend, **run_case(sandbox, case, listener.getsockname()[1], data)}
                try:
                    listener.accept()
                    row["reached_host"] = True
                except BlockingIOError:
                    row["reached_host"] = False
                rows.append(row)
                ok = row["expected"] and not (row["leaked_canary"] or row["escaped"] or row["reached_host"])
                print(f"{backend:<9}{row['case']:<16}{row['status']:<18}{'yes' if ok else 'NO':<4}"
                      f"{row['seconds']:>6.1f}{row['limit_s']:>6.0f}  {row['note']}", flush=True)
        finally:
            sandbox.close()
    listener.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
