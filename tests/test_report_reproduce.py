"""`archlab reproduce`: a real tiny candidate, evaluated through the process sandbox like a run's, is built
and trained again at its recorded fidelity and seed; the results agree with the stored ones and no
Evaluation row is added. The stored build row carries the model's graph for the report."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from archlab.cli.main import app
from archlab.run.oneoff import evaluate_file
from archlab.run.reproduce import SCORE_TOL, compare, describe
from archlab.run.settings import load_config
from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation, Run
from archlab.store import records as store

STEPS = 20
TINY = """
from torch import nn


def build_model(task):
    channels, height, width = task.input_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, 16), nn.ReLU(),
                         nn.Linear(16, task.num_outputs))
"""


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A digits candidate trained STEPS steps in the sandbox, then filed under a run (its config is used)."""
    root = tmp_path_factory.mktemp("reproduce")
    ws = Workspace(root=root / "ws")
    (root / "tiny.py").write_text(TINY)
    cfg = load_config(None, {"task": "digits", "max_evals": 1, "seed": 1, "evaluation": {"steps": STEPS, "seed": 3}})
    result = evaluate_file(ws, cfg, root / "tiny.py")
    assert result["status"] == "ok", result
    with Session(ws.engine) as s:
        store.add_run(session=s, run=Run(id="r1", task="digits", space="seq1d", config=cfg.resolved()))
        cand = store.get_candidate(session=s, candidate_id=result["candidate_id"])
        cand.run_id = "r1"
        store.upsert_candidate(session=s, candidate=cand)
    return ws, result["candidate_id"]


def rows(ws: Workspace) -> int:
    with Session(ws.engine) as s:
        return s.exec(select(func.count()).select_from(Evaluation)).one()


def test_reproduce_agrees_with_the_stored_results_and_stores_nothing(evaluated, monkeypatch):
    ws, cid = evaluated
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(ws.root))
    before = rows(ws)
    with Session(ws.engine) as s:
        build = next(e for e in store.candidate_evaluations(session=s, candidate_id=cid) if e.stage == "build")
    assert build.artifacts["graph"]["method"] == "fx"  # run_build kept the sandbox's drawing
    assert [n["label"] for n in build.artifacts["graph"]["nodes"]][1:3] == ["Flatten()", "Linear(64, 16)"]

    done = CliRunner().invoke(app, ["reproduce", cid, "--sandbox", "process", "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["agree"] and result["sandbox"] == "process", result["checks"]
    checked = {(c["stage"], c["fidelity"], c["seed"], c["metric"]) for c in result["checks"]}
    assert {("build", 0, 3, "graph_hash"), ("build", 0, 3, "probe_hash"), ("train", STEPS, 3, "val_acc"),
            ("train", STEPS, 3, "test_acc")} <= checked
    assert rows(ws) == before
    assert describe(result)[-1] == f"reproduced: all {len(result['checks'])} checks agree"


def test_reproduce_command_rejects_unknown_candidates(evaluated, monkeypatch):
    ws, _ = evaluated
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(ws.root))
    unknown = CliRunner().invoke(app, ["reproduce", "no-such-candidate"])
    assert unknown.exit_code == 2 and "no candidate 'no-such-candidate'" in unknown.output
    with Session(ws.engine) as s:
        store.upsert_candidate(session=s, candidate=Candidate(id="never-evaluated", origin="user", source=TINY))
    nothing = CliRunner().invoke(app, ["reproduce", "never-evaluated"])
    assert nothing.exit_code == 2 and "no stored build or train evaluation" in nothing.output


def test_compare_applies_the_stated_tolerances():
    stored = Evaluation(candidate_id="c", fingerprint="f", task="digits", stage="train", fidelity=20, seed=0,
                        status="ok", metrics={"val_acc": 0.80, "test_acc": 0.70, "train_loss": 1.0})
    close = compare(stored, "ok", {"val_acc": 0.80 + SCORE_TOL / 2, "test_acc": 0.70, "train_loss": 1.04})
    assert all(c.agree for c in close)
    far = {c.metric: c.agree for c in compare(stored, "ok", {"val_acc": 0.85, "test_acc": 0.70, "train_loss": 1.2})}
    assert far == {"status": True, "val_acc": False, "test_acc": True, "train_loss": False}
    assert [c.agree for c in compare(stored, "timeout", {})] == [False]
    build = stored.model_copy(update={"stage": "build", "fidelity": 0, "metrics": {"params": 10, "graph_hash": "a"}})
    assert {c.metric: c.agree for c in compare(build, "ok", {"params": 10, "graph_hash": "b"})} == {
        "status": True, "params": True, "graph_hash": False}
