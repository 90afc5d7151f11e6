"""Candidates in flight: accepted candidates train while the next are proposed; a run killed with some in
flight resumes with none lost and none trained twice."""

import threading
from collections import Counter

import pytest
from sqlmodel import Session, select
from test_e2e_run import archlab, kill_after_training, train_evals

from archlab.agents.evaluation.inflight import Pipeline, advance, each_finished, width
from archlab.agents.state import verdict_of
from archlab.store import Candidate, Evaluation, open_store, sqlite_url


def test_width_is_the_search_setting_bounded_by_the_sandbox_slots():
    assert width(4, 2) == 2 and width(1, 8) == 1 and width(3, None) >= 1


def test_the_pipeline_waits_only_when_full_and_reraises_a_job_error():
    gate = threading.Event()
    pipeline = Pipeline(2)
    try:
        pipeline.submit("a", lambda _: gate.wait(10))
        pipeline.submit("a", lambda _: pytest.fail("a candidate already in flight is not started again"))
        assert pipeline.collect(["a"], at_least=0) == []  # not full: no waiting
        pipeline.submit("b", lambda _: None)
        assert pipeline.collect(["a", "b"], at_least=1) == ["b"]
        gate.set()
        assert pipeline.collect(["a"], at_least=1) == ["a"]
        pipeline.submit("c", lambda _: (_ for _ in ()).throw(RuntimeError("the sandbox is gone")))
        with pytest.raises(RuntimeError, match="sandbox is gone"):
            pipeline.collect(["c"], at_least=1)
    finally:
        gate.set()
        pipeline.close()


class _Ctx:
    def __init__(self, size):
        self.pipeline = Pipeline(size)


def test_advance_hands_on_accepted_candidates_and_drains_when_done():
    ctx, release = _Ctx(2), threading.Event()
    trained = []

    def train(candidate_id):
        release.wait(10)
        trained.append(candidate_id)

    try:
        first = advance(ctx, {"step": 3, "verdict": {"decision": "accept", "candidate_id": "a"}}, train)
        assert first["pending"] == ["a"] and first["finished"] == [] and first["step"] == 4
        assert first["verdict"] is None  # the step ends with its candidate training
        rejected = advance(ctx, {"step": 4, "pending": ["a"], "verdict": {"decision": "reject",
                                                                          "candidate_id": "x"}}, train)
        assert rejected["pending"] == ["a"]  # a rejected proposal never trains
        threading.Timer(0.2, release.set).start()
        full = advance(ctx, {"step": 5, "pending": ["a"], "verdict": {"decision": "accept", "candidate_id": "b"}},
                       train)
        assert full["finished"] and "step" not in full  # full: waited; the analyst ends the step
        left = full["pending"]
        drained = advance(ctx, {"step": 6, "pending": left, "done": True, "verdict": None}, train)
        assert drained["pending"] == [] and sorted(full["finished"] + drained["finished"]) == ["a", "b"]
        assert sorted(trained) == ["a", "b"]
    finally:
        release.set()
        ctx.pipeline.close()


def test_the_analyst_reads_every_finished_candidate_and_ends_the_step_once():
    seen = []

    def node(state, runtime):
        seen.append(verdict_of(state).candidate_id)  # a model, or an old checkpoint's dict
        return {"step": state["step"] + 1, "insights": [{"candidate_id": verdict_of(state).candidate_id}]}

    analyst = each_finished(node)
    update = analyst({"step": 7, "finished": ["a", "b"], "pending": ["c"]}, None)
    assert seen == ["a", "b"] and update["step"] == 8 and update["finished"] is None
    assert [i["candidate_id"] for i in update["insights"]] == ["a", "b"]
    assert analyst({"step": 1, "verdict": {"decision": "accept", "candidate_id": "z"}}, None)["step"] == 2
    assert seen[-1] == "z"  # one at a time: the node as it was


def _candidates(ws) -> list[Candidate]:
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        return list(s.exec(select(Candidate)).all())


def _no_repeats(evaluations: list[Evaluation]) -> None:
    keys = Counter((e.fingerprint, e.task, e.fidelity, e.seed) for e in evaluations)
    assert max(keys.values()) == 1, "an evaluation was repeated"


@pytest.mark.slow
def test_proposals_overlap_training_and_a_killed_run_loses_nothing(tmp_path):
    ws = tmp_path / "ws"
    args = ["run", "--task", "mnist1d", "--max-evals", "4", "--budget", "10m", "--steps", "100", "--seed", "5",
            "--in-flight", "2", "-v"]
    kill_after_training(ws, args, trained=1)
    before = len(train_evals(ws))
    assert before < 4, "the run finished before it could be killed"

    resumed = archlab(ws, "resume", "latest")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    evaluations = [e for e in train_evals(ws) if e.status == "ok"]
    _no_repeats(evaluations)
    assert len(evaluations) == 4
    candidates = _candidates(ws)
    assert not [c.id for c in candidates if c.status == "accepted"], "an accepted candidate was never trained"
    trained_at = {e.candidate_id: e.created_at for e in evaluations}
    started = {e.candidate_id: e.created_at.timestamp() - e.wall_s for e in evaluations}
    # Overlap: some candidate was proposed and built while an earlier one was still training.
    overlapped = [c.id for c in candidates if any(started[o] < c.created_at.timestamp() < trained_at[o].timestamp()
                                                  for o in trained_at if o != c.id)]
    assert overlapped, "no proposal overlapped a training job"
