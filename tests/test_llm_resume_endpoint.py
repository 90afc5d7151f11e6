"""A run whose LLM endpoint went away is resumed against another endpoint and model: the new endpoint
answers every later call, the run's config records it, and no evaluation is lost or repeated."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from llm_server import ScriptedLLM
from sqlmodel import Session, select

from archlab.store import Evaluation, agent_log, open_store, sqlite_url
from archlab.store import records as store

pytestmark = pytest.mark.slow

SOURCE = """from torch import nn


def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[-1], {hidden}), nn.ReLU(),
                         nn.Linear({hidden}, task.num_outputs))
"""


def scripted(first_width: int, analyst_delay: float = 0.0) -> ScriptedLLM:
    widths = iter(range(first_width, first_width + 400, 8))
    server = ScriptedLLM()
    server.add("archlab PLANNER", {"move": "explore", "hypothesis": "another width of the MLP"})
    server.add("archlab CODER", lambda _: {"kind": "source", "rationale": "an untried width", "summary": "MLP",
                                           "source": SOURCE.replace("{hidden}", str(next(widths)))})
    server.add("archlab CRITIC", {"decision": "accept", "reason": "fine"})
    server.add("archlab ANALYST", lambda _: time.sleep(analyst_delay) or {"insights": []})
    return server


def test_resume_against_another_endpoint_and_model(tmp_path):
    ws = tmp_path / "ws"
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}
    env.pop("OPENAI_BASE_URL", None)
    # The first endpoint stalls in the analyst after the first training, so the kill lands there, before
    # the next plan: every later call, the planner's included, is the second endpoint's.
    first, second = scripted(16, analyst_delay=120), scripted(200)
    cmd = [sys.executable, "-m", "archlab"]
    try:
        proc = subprocess.Popen([*cmd, "run", "--llm-base-url", first.url, "--llm-model", "model-a",
                                 "--max-evals", "2", "--steps", "30", "--seed", "2", "--budget", "10m"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while not _trained(ws) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first.close()  # the first endpoint is gone for good
        assert _trained(ws), "the first process trained nothing before it was killed"
        with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
            run_id = store.list_runs(session=s)[0].id
            calls_before = len(agent_log.run_calls(session=s, run_id=run_id))
        resumed = subprocess.run([*cmd, "resume", run_id, "--llm-base-url", second.url, "--llm-model",
                                  "model-b"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        first.close()
        second.close()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        run = store.get_run(session=s, run_id=run_id)
        later = agent_log.run_calls(session=s, run_id=run_id)[calls_before:]
    evaluations = _trained(ws)
    assert len(evaluations) == 2 and run.status == "finished"
    keys = Counter((e.fingerprint, e.task, e.fidelity, e.seed) for e in evaluations)
    assert max(keys.values()) == 1, "an evaluation was repeated"
    assert later and {c.model for c in later} == {"model-b"} and all(c.status == "ok" for c in later)
    assert second.calls("archlab PLANNER"), "the new endpoint answered no planner call"
    assert run.config["llm"]["base_url"] == second.url and run.config["llm"]["model"] == "model-b"
    assert second.url in (ws / "runs" / run_id / "config.yaml").read_text()


def _trained(ws) -> list[Evaluation]:
    if not (ws / "archlab.db").exists():
        return []
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        return list(s.exec(select(Evaluation).where(Evaluation.stage == "train", Evaluation.status == "ok")).all())
