"""A run with the LLM roles (scripted server, tests/llm_server.py) killed with SIGKILL after its first
training, then resumed: prints the training evaluations before and after, and whether any evaluation key
(fingerprint, task, fidelity, seed) was lost or repeated.

    python benchmarks/llm_resume.py [--evals 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_server import ScriptedLLM  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from archlab.report.llm import usage_figures  # noqa: E402
from archlab.store import Evaluation, agent_log, open_store, sqlite_url  # noqa: E402

SOURCE = '''from torch import nn


def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[-1], {hidden}), nn.ReLU(),
                         nn.Linear({hidden}, task.num_outputs))
'''


def script() -> ScriptedLLM:
    widths = itertools.count(16, 8)
    server = ScriptedLLM()
    server.add("archlab PLANNER", {"move": "explore", "hypothesis": "another width of the MLP is worth a try"})
    server.add("archlab CODER", lambda _: {"kind": "source", "rationale": "a width not tried yet", "summary": "MLP",
                                           "source": SOURCE.replace("{hidden}", str(next(widths)))})
    server.add("archlab CRITIC", {"decision": "accept", "reason": "fine"})
    server.add("archlab ANALYST", {"insights": []})
    return server


def trained(db: Path) -> list[Evaluation]:
    if not db.exists():
        return []
    with Session(open_store(sqlite_url(db))) as s:
        return list(s.exec(select(Evaluation).where(Evaluation.stage == "train")).all())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=3)
    args = parser.parse_args()
    server = script()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}
        cmd = [sys.executable, "-m", "archlab"]
        proc = subprocess.Popen([*cmd, "run", "--llm-base-url", server.url, "--llm-model", "scripted",
                                 "--max-evals", str(args.evals),
                                 "--steps", "30", "--seed", "2", "--budget", "10m"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(trained(ws / "archlab.db")) < 1 and proc.poll() is None:
            time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = len(trained(ws / "archlab.db"))
        run_id = json.loads(subprocess.run([*cmd, "runs", "--json"], env=env, capture_output=True,
                                           text=True).stdout)[0]["run_id"]
        resumed = subprocess.run([*cmd, "resume", run_id], env=env, capture_output=True, text=True)
        server.close()
        evals = trained(ws / "archlab.db")
        keys = Counter((e.fingerprint, e.task, e.fidelity, e.seed) for e in evals)
        with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
            figures = usage_figures(agent_log.run_calls(session=s, run_id=run_id), len(evals))
        print(f"killed after {before} training evaluation(s); resume exit code {resumed.returncode}")
        print(f"after resume: {len(evals)} training evaluations of {args.evals} asked; "
              f"repeated keys: {sum(n - 1 for n in keys.values())}; lost: {args.evals - len(keys)}")
        print(f"LLM calls {figures['calls']}, tokens {figures['tokens']}, tokens per evaluated candidate "
              f"{figures['tokens_per_evaluated']:.0f}")


if __name__ == "__main__":
    main()
