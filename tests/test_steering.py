"""Steering a run: requests are validated and recorded; a real running search pauses, resumes, takes an
idea, a draft, a veto and a budget change, and stops when asked, each settled in its history."""

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from archlab.agents.roles.critic.offline import vetoed_direction
from archlab.errors import ConfigError
from archlab.run import control
from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation, Run, open_store, sqlite_url
from archlab.store import records as store
from archlab.store.agent_log import Idea
from archlab.store.steering import SteerAction, request, settle

DRAFT = """
from torch import nn


def build_model(task):
    channels, length = task.input_shape
    return nn.Sequential(nn.Conv1d(channels, 6, 5, padding=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * length, task.num_outputs))
"""


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(tmp_path / "ws"))
    from archlab.run.settings import Environment

    workspace = Workspace.from_env(Environment())
    with Session(workspace.engine) as session:
        store.add_run(session=session, run=Run(id="r1", task="mnist1d", space="seq1d", pid=None,
                                               status="finished", budget_s=60))
        store.upsert_candidate(session=session, candidate=Candidate(id="c1", run_id="r1", origin="sample",
                                                                    source="x", status="evaluated"))
    return workspace


def test_bad_requests_raise_and_record_nothing(ws):
    with Session(ws.engine) as session:
        for kind, payload, message in [("jump", {}, "unknown steering action"),
                                       ("idea", {"text": "   "}, "needs some text"),
                                       ("veto_candidate", {"candidate_id": "nope"}, "no candidate"),
                                       ("budget", {"seconds": -5}, "needs seconds"),
                                       ("budget", {"delta_s": "soon"}, "needs seconds"),
                                       ("draft", {"source": ""}, "needs the candidate's source")]:
            with pytest.raises(ConfigError, match=message):
                request(session=session, run_id="r1", kind=kind, payload=payload)
        with pytest.raises(ConfigError, match="no run"):
            request(session=session, run_id="r9", kind="stop")
        assert session.exec(select(SteerAction)).all() == []
        assert session.exec(select(Idea)).all() == []


def test_idea_is_queued_and_linked(ws):
    action = control.steer(ws, "r1", "idea", {"text": "  try  wider\nkernels "})
    with Session(ws.engine) as session:
        idea = session.get(Idea, action.payload["idea_id"])
    assert (idea.text, idea.status, action.status, action.origin) == ("try wider kernels", "queued", "pending", "cli")


def test_control_checks_the_run_state(ws):
    with pytest.raises(ConfigError, match="finished, not running: nothing to pause"):
        control.steer(ws, "r1", "pause")
    with pytest.raises(ConfigError, match="already finished"):
        control.steer(ws, "r1", "stop")
    with Session(ws.engine) as session:  # a run whose process died: 'interrupted'
        store.update_run(session=session, run_id="r1", status="running", pid=2**22 + 12345)
    action = control.steer(ws, "r1", "stop", origin="web")
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id="r1")
    assert (action.status, run.status, action.origin) == ("applied", "stopped", "web")
    assert "interrupted" in run.stop_reason


@pytest.mark.parametrize("text,payload", [("+10m", {"delta_s": 600.0}), ("-90s", {"delta_s": -90.0}),
                                          ("1h", {"seconds": 3600.0})])
def test_budget_change(text, payload):
    assert control.budget_change(text) == payload


def test_budget_change_rejects_nonsense():
    with pytest.raises(ConfigError, match="'\\+10m' adds"):
        control.budget_change("+soon")


def test_vetoed_direction_matches_summary_or_rationale(ws):
    with Session(ws.engine) as session:
        action = request(session=session, run_id="r1", kind="veto_direction", payload={"text": "Attn"})
        pending_only = request(session=session, run_id="r1", kind="veto_direction", payload={"text": "gate"})
        settle(session=session, action_id=action.id, status="applied", note="", step=3)
    ctx = SimpleNamespace(run_id="r1", session=lambda: Session(ws.engine))
    attn = Candidate(id="x", origin="sample", source="", summary="conv(32) → res[ln → attn(4x16)]")
    gated = Candidate(id="y", origin="sample", source="", summary="gate[conv(64)]", rationale="")
    assert vetoed_direction(ctx, attn) == "Attn"
    assert vetoed_direction(ctx, gated) is None, f"{pending_only.id} is not applied yet"


def test_cli_steering_errors_exit_2(ws):
    from typer.testing import CliRunner

    from archlab.cli.main import app

    for args, message in [(["pause", "r1"], "nothing to pause"), (["budget", "r1", "+later"], "budget"),
                          (["veto", "r1"], "exactly one of"), (["history", "r9"], "no run")]:
        result = CliRunner().invoke(app, args, env={"ARCHLAB_WORKSPACE": str(ws.root), "COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert message in result.output


# ---- a real running search, steered through the CLI ----

def _archlab(ws: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not in {timeout:.0f}s: {what}")


@pytest.mark.slow
def test_a_running_search_is_steered(tmp_path):
    ws = tmp_path / "ws"
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing"}
    proc = subprocess.Popen([sys.executable, "-m", "archlab", "run", "--task", "mnist1d", "--steps", "30",
                             "--budget", "10m", "--seed", "5"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: (ws / "archlab.db").exists(), 60, "the store exists")
        engine = open_store(sqlite_url(ws / "archlab.db"))

        def rows(model, *where):
            with Session(engine) as session:
                return list(session.exec(select(model).where(*where)).all())

        first = _wait(lambda: rows(Evaluation, Evaluation.stage == "train"), 180, "a trained candidate")[0]
        run_id = first.run_id
        assert _archlab(ws, "pause", run_id).returncode == 0
        _wait(lambda: rows(Run, Run.status == "paused"), 120, "the run pauses between steps")
        trained = len(rows(Evaluation, Evaluation.stage == "train"))
        for args in (["idea", run_id, "wider kernels early"], ["veto", run_id, "--direction", "attn"],
                     ["veto", run_id, "--candidate", first.candidate_id, "--reason", "too slow"],
                     ["budget", run_id, "+20m"]):
            assert _archlab(ws, *args).returncode == 0, args
        with Session(engine) as session:  # a draft, as the web app and the chat queue one
            request(session=session, run_id=run_id, kind="draft", origin="chat",
                    payload={"source": DRAFT, "summary": "conv(6,k5) relu → linear", "rationale": "my draft"})
        time.sleep(3)
        assert len(rows(Evaluation, Evaluation.stage == "train")) == trained, "a paused run trains nothing"
        resumed = _archlab(ws, "resume", run_id)
        assert resumed.returncode == 0 and "resume #" in resumed.stdout, resumed.stderr
        draft = _wait(lambda: rows(Candidate, Candidate.origin == "user", Candidate.status == "evaluated"), 180,
                      "the draft is evaluated")[0]
        _wait(lambda: rows(Idea, Idea.status == "seen"), 60, "the planner sees the idea")
        assert _archlab(ws, "stop", run_id).returncode == 0
        assert proc.wait(timeout=180) == 0, proc.stderr.read()
    finally:
        proc.kill()
    [run] = rows(Run)
    assert (run.status, run.stop_reason) == ("stopped", "stopped by a person (cli)")
    assert run.budget_s == pytest.approx(600 + 1200)
    history = {a.kind: a for a in rows(SteerAction)}
    assert all(a.status == "applied" for a in history.values()), [(a.kind, a.status, a.note) for a in history.values()]
    assert set(history) == {"pause", "idea", "veto_direction", "veto_candidate", "budget", "draft", "resume", "stop"}
    assert "resumed after" in history["resume"].note and "600s -> 1800s" in history["budget"].note
    [vetoed] = rows(Candidate, Candidate.id == first.candidate_id)
    assert vetoed.status == "vetoed" and "too slow" in vetoed.reason
    with Session(engine) as session:
        board = [c.id for c, _ in store.leaderboard(session=session, run_id=run_id)]
    assert first.candidate_id not in board and draft.id in board
    after_veto = [c for c in rows(Candidate) if c.created_at > history["veto_direction"].applied_at
                  and "attn" in c.summary.lower()]
    assert all(c.status == "rejected" and "vetoed" in c.reason for c in after_veto)
    shown = _archlab(ws, "history", run_id)
    assert shown.returncode == 0 and "veto_candidate" in shown.stdout and "applied" in shown.stdout
