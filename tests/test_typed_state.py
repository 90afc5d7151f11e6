"""The graph state carries the hand-offs as pydantic models; the checkpointer stores and rebuilds them (and no
other class); a checkpoint written before the state was typed (plain dicts) still resumes."""

import json
import os
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

from sqlmodel import Session, select

from archlab.agents.graph import after_critic, after_steer, build_graph
from archlab.agents.state import Insight, Plan, Proposal, Verdict, plan_of, serializer, verdict_of
from archlab.run.lifecycle import checkpointer
from archlab.store import Candidate, Evaluation, open_store, sqlite_url

# A workspace killed by SIGKILL while its second candidate trained, made by the code before the state was typed
# (commit 7483d4f): its checkpoint holds plan, proposal, verdict and insight as dicts. `archlab run --task mnist1d
# --max-evals 3 --steps 400 --seed 3`, hashing embedder.
OLD = Path(__file__).parent / "fixtures" / "checkpoint-before-typed-state.tar.gz"
OLD_RUN = "20261207-120137-d271"

PLAN = Plan(move="draft", hypothesis="a person's draft", space="seq1d")
VERDICT = Verdict(decision="revise", reason="too wide", candidate_id="c1")


def test_routers_read_models_and_the_dicts_of_old_checkpoints_alike():
    for form in (lambda m: m, lambda m: m.model_dump()):
        state = {"plan": form(PLAN), "verdict": form(VERDICT)}
        assert after_critic(state) == "planner"  # a person's draft is not sent back to the coder
        assert after_steer({"plan": form(PLAN), "verdict": None}) == "critic"
        assert plan_of(state) == PLAN and verdict_of(state) == VERDICT
    assert after_critic({"plan": PLAN.model_copy(update={"move": "refine"}), "verdict": VERDICT}) == "coder"
    assert after_critic({}) == "planner" and plan_of({}) is None


def test_the_serializer_rebuilds_hand_offs_and_refuses_other_classes():
    from pydantic import BaseModel

    class Foreign(BaseModel):
        secret: int = 7

    serde = serializer()
    proposal = Proposal(origin="write", rationale="r", source="def build_model(task): ...")
    insight = Insight(candidate_id="c2", parent_id="c1", claim="wider helps", delta=0.01)
    state = {"plan": PLAN, "proposal": proposal, "verdict": VERDICT, "insight": insight, "insights": [insight]}
    assert serde.loads_typed(serde.dumps_typed(state)) == state
    back = serde.loads_typed(serde.dumps_typed({"x": Foreign()}))
    assert back == {"x": {"secret": 7}} and not isinstance(back["x"], BaseModel)  # data, never a foreign class


def test_a_checkpoint_from_before_the_typed_state_resumes(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    with tarfile.open(OLD) as archive:
        archive.extractall(ws, filter="data")
    with checkpointer(ws / "checkpoints.db") as saver:
        old = build_graph(saver).get_state({"configurable": {"thread_id": OLD_RUN}}).values
    assert isinstance(old["verdict"], dict) and old["verdict"]["decision"] == "accept"  # the old form
    trained_before = _train_evals(ws)

    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "archlab", "resume", OLD_RUN], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    evals = _train_evals(ws)
    assert len(trained_before) == 1 and len(evals) == 3  # the interrupted candidate trained, then one more
    assert max(Counter((e.fingerprint, e.fidelity, e.seed) for e in evals).values()) == 1  # none twice
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        assert len(s.exec(select(Candidate).where(Candidate.status == "evaluated")).all()) == 3
    row = json.loads(subprocess.run([sys.executable, "-m", "archlab", "runs", "--json"], env=env,
                                    capture_output=True, text=True, timeout=120).stdout)[0]
    assert row["run_id"] == OLD_RUN and row["status"] == "finished" and row["evaluations"] == 3
    with checkpointer(ws / "checkpoints.db") as saver:
        final = build_graph(saver).get_state({"configurable": {"thread_id": OLD_RUN}}).values
    assert isinstance(final["insight"], Insight)  # written by today's analyst, read back as the model


def _train_evals(ws: Path) -> list[Evaluation]:
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        return list(s.exec(select(Evaluation).where(Evaluation.stage == "train")).all())
