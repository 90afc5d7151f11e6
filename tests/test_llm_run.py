"""Whole runs with the LLM roles against the scripted OpenAI-compatible server: real sandbox, real (short)
training. One run carries a plan, code that does not compile, a build failure and their repairs, a
grammar proposal, duplicates, insights, and a fault of every kind; another is an endless duplicate stream."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import ScriptedLLM
from sqlmodel import Session, select

from archlab.report.build import write_report
from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation, agent_log, open_store, sqlite_url
from archlab.store import records as store

pytestmark = pytest.mark.slow

MLP = '''import torch
from torch import nn


def build_model(task):
    hidden = 32
    inputs = task.input_shape[0] * task.input_shape[-1]
    return nn.Sequential(nn.Flatten(), nn.Linear({inputs}, hidden), nn.ReLU(), nn.Linear(hidden, task.num_outputs))
'''
FIXED = MLP.replace("{inputs}", "inputs")
BUGGY = MLP.replace("{inputs}", "7")  # builds, then fails its forward pass: a shape error
SYNTAX = FIXED.replace("def build_model(task):", "def build_model(task)")
COMMENTED = "# the same network, reformatted\n" + FIXED.replace("nn.ReLU(), ", "nn.ReLU(),  ")
RENAMED = FIXED.replace("hidden", "width")
GRAMMAR = "grammar seq1d_convs\nextends seq1d\nstage = conv_block @ 1\n"


def source(code: str, summary: str = "MLP-32", kind: str = "source") -> dict:
    return {"kind": kind, "rationale": "a small baseline", "summary": summary, "source": code}


def refine_best_mlp(text: str) -> dict:
    parent = re.search(r"- (c\w+): val [^\n]*MLP-32", text).group(1)
    return {"move": "refine", "parents": [parent], "hypothesis": "a wider hidden layer fits mnist1d better",
            "expected_effect": "higher validation accuracy"}


def insight(text: str) -> dict:
    child = re.search(r"ANALYSE the evaluation of (c\w+)", text).group(1)
    return {"insights": [{"claim": f"On mnist1d, candidate {child} shows a small network trains in a few steps",
                          "kind": "hypothesis", "evidence": [child], "confidence": 0.3, "relation": "new"}]}


def whole_run_script(*, grammar: bool = False, renamed: bool = False) -> ScriptedLLM:
    """The test runs the short form (two evaluations); the full form adds a grammar proposal and a renamed
    duplicate (caught by its fingerprint after a build): `python tests/test_llm_run.py full` runs it."""
    s = ScriptedLLM()
    first = ["archlab PLANNER", "Nothing has been evaluated yet"]
    s.add(first, fault="429", times=1).add(first, fault="500", times=1)
    s.add(first, {"move": "explore", "parents": [], "hypothesis": "a two-layer MLP is a fair first baseline"})
    if grammar:
        s.add(["archlab PLANNER", "Leaderboard"], {"move": "new_space", "parents": [],
                                                   "hypothesis": "convolution-only stages suit 1-D signals"}, times=1)
    s.add(["archlab PLANNER", "Leaderboard"], refine_best_mlp)
    s.add(["archlab CODER", "REPAIR", "static check"], source(BUGGY))
    s.add(["archlab CODER", "REPAIR", "build"], source(FIXED))
    s.add(["archlab CODER", "Plan (explore)"], source(SYNTAX), fault="truncated", times=1)
    s.add(["archlab CODER", "Plan (explore)"], source(SYNTAX))
    s.add(["archlab CODER", "Plan (new_space)"], {"kind": "grammar", "rationale": "conv stages only",
                                                  "grammar": GRAMMAR})
    s.add(["archlab CODER", "Plan (refine)"], {"kind": "edit", "rationale": "widen", "edits": [
        {"search": "hidden = 99", "replace": "hidden = 64"}]}, times=1)  # does not apply: re-asked
    s.add(["archlab CODER", "Plan (refine)"], source(COMMENTED), times=1)  # a duplicate by its source
    if renamed:
        s.add(["archlab CODER", "Plan (refine)"], source(RENAMED), times=1)  # a duplicate by its fingerprint
    s.add(["archlab CODER", "Plan (refine)"], {"kind": "edit", "rationale": "widen", "summary": "MLP-64",
                                               "edits": [{"search": "hidden = 32", "replace": "hidden = 64"}]})
    s.add("archlab CRITIC", {"decision": "accept", "reason": "plausible"}, fault="timeout", delay=1.5, times=1)
    s.add("archlab CRITIC", {"decision": "accept", "reason": "plausible and new"})
    s.add("archlab ANALYST", insight)
    return s


def archlab(ws: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "COLUMNS": "200", "ARCHLAB_EMBEDDER": "hashing"}
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_script(ws: Path, server: ScriptedLLM, evals: int) -> str:
    cfg = ws.parent / "llm.yaml"
    cfg.write_text("llm: {timeout_s: 1.0, max_retries: 2, validation_retries: 2, max_revisions: 2,"
                   " price_in: 0.5, price_out: 1.5}\n")
    try:
        done = archlab(ws, "run", "-c", str(cfg), "--llm-base-url", server.url, "--llm-model", "scripted",
                       "--max-evals", str(evals),
                       "--steps", "30", "--seed", "1", "--budget", "10m", "-v")
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-3000:]
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        return store.list_runs(session=s)[0].id


def report(ws: Path, run_id: str) -> str:
    return write_report(Workspace(root=ws), run_id).read_text()


def test_a_whole_llm_run_with_every_fault(tmp_path):
    ws = tmp_path / "ws"
    run_id = run_script(ws, whole_run_script(), evals=2)
    engine = open_store(sqlite_url(ws / "archlab.db"))
    with Session(engine) as s:
        cands = {c.id: c for c in s.exec(select(Candidate)).all()}
        trained = s.exec(select(Evaluation).where(Evaluation.stage == "train")).all()
        calls = agent_log.run_calls(session=s, run_id=run_id)
    assert len(trained) == 2 and all(e.status == "ok" for e in trained)
    assert sorted(cands[e.candidate_id].origin for e in trained) == ["edit", "repair"]
    assert {c.role for c in calls} == {"planner", "coder", "critic", "analyst"}
    reasons = [c.reason or "" for c in cands.values()]
    assert any(r.startswith("static check: syntax error") for r in reasons)
    assert any(r.startswith("build candidate_error") for r in reasons)
    assert any(r.endswith("(same source)") for r in reasons)

    text = report(ws, run_id)
    for heading in ("## LLM roles", "### Plans", "### Verdicts", "### Insights", "tokens per evaluated candidate"):
        assert heading in text
    faults = dict(re.findall(r"^\| ([^|]+?) \| (\d+) \|$", text.split("### Faults")[1], re.M))
    assert faults["transport 429"] == "1" and faults["transport 500"] == "1" and faults["transport timeout"] == "1"
    assert faults["call invalid"] == "2"  # the truncated JSON and the edit that did not apply
    assert faults["sent back for repair: does not compile / static check"] == "1"
    assert faults["sent back for repair: build failed"] == "1"
    assert faults["duplicate rejected before training"] == faults["duplicate rejected before any sandbox job"] == "1"
    assert "a two-layer MLP is a fair first baseline" in text and "refine" in text


if __name__ == "__main__":  # the full script: a grammar proposal and a renamed duplicate as well
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        run_id = run_script(ws, whole_run_script(grammar=True, renamed=True), evals=3)
        print(report(ws, run_id))
