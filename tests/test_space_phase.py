"""A run that mixes both modes: the LLM proposes a new space, offline evolution explores it for
llm.space_steps steps, the analyst reports the phase, and the LLM roles act again."""

import os
import subprocess
import sys

import pytest
from llm_server import ScriptedLLM
from sqlmodel import Session

from archlab.agents.grammar_intake import load_workspace_space
from archlab.store import agent_log, open_store, sqlite_url
from archlab.store import records as store

pytestmark = pytest.mark.slow

MLP = '''from torch import nn


def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[-1], {width}), nn.ReLU(),
                         nn.Linear({width}, task.num_outputs))
'''
GRAMMAR = "grammar seq1d_convs\nextends seq1d\nstage = conv_block @ 1\n"


def script() -> ScriptedLLM:
    widths = iter(range(16, 400, 8))
    s = ScriptedLLM()
    s.add(["archlab PLANNER", "Leaderboard"], {"move": "new_space", "parents": [],
                                               "hypothesis": "convolution-only stages suit 1-D signals"}, times=1)
    s.add("archlab PLANNER", {"move": "explore", "parents": [], "hypothesis": "another width of the MLP"})
    s.add(["archlab CODER", "Plan (new_space)"], {"kind": "grammar", "rationale": "conv stages only",
                                                  "grammar": GRAMMAR})
    s.add("archlab CODER", lambda _: {"kind": "source", "rationale": "an untried width", "summary": "MLP",
                                      "source": MLP.replace("{width}", str(next(widths)))})
    s.add("archlab CRITIC", {"decision": "accept", "reason": "plausible"})
    s.add("archlab ANALYST", {"insights": []})
    return s


def test_offline_evolution_explores_the_llms_new_space(tmp_path):
    ws = tmp_path / "ws"
    cfg = tmp_path / "mixed.yaml"
    cfg.write_text("llm: {space_steps: 2}\n")
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}
    env.pop("OPENAI_BASE_URL", None)
    server = script()
    try:
        done = subprocess.run([sys.executable, "-m", "archlab", "run", "-c", str(cfg), "--llm-base-url", server.url,
                               "--llm-model", "scripted",
                               "--max-evals", "5", "--steps", "20", "--seed", "4", "--budget", "10m"], env=env,
                              capture_output=True, text=True, timeout=600)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-3000:]
    engine = open_store(sqlite_url(ws / "archlab.db"))
    with Session(engine) as s:
        [run] = store.list_runs(session=s)
        by_step = {c.step: c for c in store.run_candidates(session=s, run_id=run.id) if c.status == "evaluated"}
        notes = agent_log.run_notes(session=s, run_id=run.id)
        space = load_workspace_space(s, "seq1d_convs")
    assert sorted(by_step) == [0, 1, 2, 3, 4]
    assert by_step[1].origin == "grammar"
    for step in (2, 3):  # offline evolution, in the new space
        assert by_step[step].origin in ("sample", "mutate")
        space.load_tree(by_step[step].derivation)
    assert by_step[4].origin == "write"  # the LLM coder again
    assert sorted(n.step for n in notes if n.kind == "plan") == [0, 1, 4]
    [report] = [n for n in notes if n.kind == "insight" and "phase" in n.data]
    assert report.data["phase"]["space"] == "seq1d_convs" and report.step == 4
    assert report.data["claim"].startswith("offline evolution explored the new space seq1d_convs for 2 steps: 3 "
                                           "trained")
    assert set(report.data["evidence"]) == {by_step[s].id for s in (1, 2, 3)}
