"""A stored run for the report tests, written row by row through the store (no discovery is run):
a fresh sample, its mutation (trained at two fidelities, two seeds at the higher), an LLM-written child
whose summary and rationale are a script tag, a rejected and a failed candidate, a concept with evidence,
an untested concept the planner kept retrieving, an LLM plan and verdict, and an LLM call."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from archlab.agents.roles.critic.offline import candidate_id
from archlab.memory.concept_store import add_evidence, insert_concept
from archlab.run.settings import load_config
from archlab.run.workspace import Workspace
from archlab.spaces import load_space
from archlab.store import Candidate, Evaluation, Run
from archlab.store import records as store
from archlab.store.agent_log import AgentNote, LLMCall
from archlab.store.concepts import ConceptCreate
from archlab.store.evidence import EvidenceCreate
from archlab.store.retrieval_log import RetrievalLog

RUN = "r-report"
EVIL = "<script>alert(1)</script>"
START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
SAMPLE, MUTANT, LLM_CHILD, REJECTED, FAILED = (candidate_id(RUN, step, 0) for step in range(5))
GRAPH = {"method": "fx", "total": 4, "truncated": False, "nodes": [
    {"id": 0, "op": "placeholder", "label": "input", "inputs": []},
    {"id": 1, "op": "call_module", "label": "Conv1d(1, 16, k=5, s=1)", "inputs": [0]},
    {"id": 2, "op": "call_function", "label": EVIL, "inputs": [1]},
    {"id": 3, "op": "output", "label": "output", "inputs": [2]}]}


def make_run(ws: Workspace) -> None:
    space = load_space("seq1d")
    parent_tree = space.sample(random.Random(1))
    child_tree, move = space.mutate_with_move(parent_tree, random.Random(2))
    cfg = load_config(None, {"task": "mnist1d", "space": "seq1d", "max_evals": 5, "seed": 7})
    with Session(ws.engine) as s:
        store.add_run(session=s, run=Run(id=RUN, task="mnist1d", space="seq1d", config=cfg.resolved(), budget_s=300,
                                         max_evals=5, status="finished", stop_reason="evaluation budget reached",
                                         used_s=123.0, created_at=START))
        _candidates(s, space, parent_tree, child_tree, move)
        _evaluations(s)
        _memory(s)
        _llm(s)


def _candidate(s: Session, cid: str, step: int, **fields) -> None:
    fields.setdefault("source", "def build_model(task):\n    raise NotImplementedError\n")
    store.upsert_candidate(session=s, candidate=Candidate(id=cid, run_id=RUN, step=step,
                                                          created_at=START + timedelta(minutes=step), **fields))


def _candidates(s: Session, space, parent_tree, child_tree, move: str) -> None:
    _candidate(s, SAMPLE, 0, origin="sample", rationale="a fresh sample widens the population (0 evaluated) "
               "(fresh sample)", source=space.compile(parent_tree), derivation=parent_tree.to_dict(),
               summary=space.summary(parent_tree), status="evaluated", fingerprint="fp-sample", params=5000,
               flops=90000)
    _candidate(s, MUTANT, 1, origin="mutate", parent_ids=[SAMPLE], source=space.compile(child_tree),
               rationale=f"a small change to {SAMPLE} (val 0.600) can improve it (mutation: {move})",
               derivation=child_tree.to_dict(), summary=space.summary(child_tree), status="evaluated",
               fingerprint="fp-mutant", params=12000, flops=200000, parent_delta=0.15)
    _candidate(s, LLM_CHILD, 2, origin="write", parent_ids=[MUTANT], rationale=EVIL, summary=EVIL,
               source=f"# {EVIL}\ndef build_model(task):\n    return None  # ``` not a fence end\n",
               status="evaluated", fingerprint="fp-llm", params=3000, flops=50000, parent_delta=-0.05)
    _candidate(s, REJECTED, 3, origin="mutate", parent_ids=[MUTANT], rationale="(mutation: param)",
               summary="dup", status="rejected", reason=f"duplicate of {MUTANT} | {EVIL}")
    _candidate(s, FAILED, 4, origin="sample", rationale="(fresh sample)", summary="broken", status="failed",
               reason="build candidate_error: shapes")


def _evaluation(s: Session, cid: str, fp: str, stage: str, fidelity: int, seed: int, minute: float, **fields) -> None:
    fields.setdefault("status", "ok")
    store.add_evaluation(session=s, evaluation=Evaluation(
        candidate_id=cid, run_id=RUN, fingerprint=fp, task="mnist1d", stage=stage, fidelity=fidelity, seed=seed,
        created_at=START + timedelta(minutes=minute), **fields))


def _train(val: float) -> dict:
    return {"val_acc": val, "test_acc": val - 0.01, "train_loss": 1.0 - val, "curve": [1.0, 0.5], "steps": 30}


def _evaluations(s: Session) -> None:
    _evaluation(s, SAMPLE, "fp-sample", "build", 0, 7, 0.5, metrics={"params": 5000, "flops": 90000},
                artifacts={"graph": GRAPH}, wall_s=2.0)
    _evaluation(s, SAMPLE, "fp-sample", "train", 30, 7, 1, metrics=_train(0.6), wall_s=5.0)
    # An evaluation stored before build stages kept a graph: the mutant's card must say so.
    _evaluation(s, MUTANT, "fp-mutant", "build", 0, 7, 1.5, metrics={"params": 12000, "flops": 200000}, wall_s=2.0)
    _evaluation(s, MUTANT, "fp-mutant", "screen", 0, 7, 1.6, metrics={"params": 12000, "latency_ms_b1": 0.4,
                                                                     "proxies": {"synflow": 3.5}}, wall_s=1.0)
    _evaluation(s, MUTANT, "fp-mutant", "train", 30, 7, 2, metrics=_train(0.7), wall_s=5.0)
    _evaluation(s, MUTANT, "fp-mutant", "train", 150, 7, 3, metrics=_train(0.75), wall_s=20.0)
    _evaluation(s, MUTANT, "fp-mutant", "train", 150, 8, 3.5, metrics=_train(0.74), wall_s=20.0)
    _evaluation(s, LLM_CHILD, "fp-llm", "build", 0, 7, 4, metrics={"params": 3000}, artifacts={"graph": GRAPH})
    _evaluation(s, LLM_CHILD, "fp-llm", "train", 30, 7, 4.5, metrics=_train(0.65), wall_s=4.0)
    _evaluation(s, FAILED, "src-broken", "build", 0, 7, 5, status="candidate_error", error="shapes do not fit")


def _memory(s: Session) -> None:
    learned = insert_concept(session=s, concept_in=ConceptCreate(
        claim="On mnist1d, regrowing the head of a gated conv stack helps", kind="hypothesis"), run_id=RUN)
    untested = insert_concept(session=s, concept_in=ConceptCreate(
        claim=f"Wider first convolutions help small 1-D models {EVIL}", kind="design_principle"), run_id=None)
    add_evidence(session=s, evidence_in=EvidenceCreate(concept_id=learned.id, candidate_id=MUTANT, run_id=RUN,
                                                       direction="supports", effect_size=0.15, fidelity=150))
    for step in (1, 2, 3):
        s.add(RetrievalLog(run_id=RUN, step=step, attempt=0, agent="planner", query="what helps",
                           concept_ids=[untested.id, learned.id], scores=[0.9, 0.8]))
    s.commit()


def _llm(s: Session) -> None:
    s.add(AgentNote(run_id=RUN, step=2, attempt=0, role="planner", kind="plan", data={
        "move": "refine", "parents": [MUTANT], "hypothesis": f"a smaller head keeps accuracy {EVIL}",
        "expected_effect": "fewer parameters", "by": "llm"}))
    s.add(AgentNote(run_id=RUN, step=2, attempt=0, role="critic", kind="verdict", data={
        "candidate": LLM_CHILD, "decision": "accept", "by": "llm", "reason": f"looks novel {EVIL}"}))
    s.add(LLMCall(run_id=RUN, step=2, role="planner", model="test-model", status="ok", prompt_tokens=1200,
                  completion_tokens=300, cost_usd=0.0123, latency_s=2.5, requests=1))
    s.commit()


def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(root=tmp_path / "ws")
    make_run(ws)
    return ws
