"""A run is ranked by its task's objective and direction (store/objective.py): bits per byte lowest first, a
card's log-loss lowest first, accuracy highest first; the run record carries it, an older store is upgraded with
its byte-level LM runs set to bits per byte, and the report's sentences and fronts follow the direction."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from archlab.report.baselines import Scores, verdict
from archlab.report.plots import pareto_front
from archlab.store import Candidate, Evaluation, Run, open_store, sqlite_url
from archlab.store import records as store
from archlab.store.db import alembic_config
from archlab.store.objective import ACCURACY, Objective, of_run


def _trained(session: Session, run_id: str, cid: str, params: int, **metrics: float) -> None:
    store.upsert_candidate(session=session, candidate=Candidate(
        id=cid, run_id=run_id, origin="sample", source="x", status="evaluated", fingerprint=f"fp-{cid}",
        params=params))
    store.add_evaluation(session=session, evaluation=Evaluation(
        candidate_id=cid, run_id=run_id, fingerprint=f"fp-{cid}", task="t", stage="train", fidelity=100, seed=0,
        status="ok", metrics=metrics))


def test_the_leaderboard_ranks_by_the_runs_objective_and_direction(tmp_path):
    engine = open_store(sqlite_url(tmp_path / "archlab.db"))
    with Session(engine) as session:
        store.add_run(session=session, run=Run(id="lm", task="bytes-lm", space="lmblocks", objective="val_bpb",
                                               minimize=True))
        store.add_run(session=session, run=Run(id="cls", task="digits", space="seq1d"))
        # next-byte accuracy and bits per byte disagree: b is more accurate, a has fewer bits per byte
        _trained(session, "lm", "a", 10, val_bpb=3.583, val_acc=0.3587, test_bpb=3.60)
        _trained(session, "lm", "b", 10, val_bpb=3.606, val_acc=0.3632, test_bpb=3.61)
        _trained(session, "lm", "c", 10, val_acc=0.9)  # no bits per byte: not ranked
        _trained(session, "cls", "d", 10, val_acc=0.8)
        _trained(session, "cls", "e", 5, val_acc=0.9)
        assert [c.id for c, _ in store.leaderboard(session=session, run_id="lm")] == ["a", "b"]
        assert [c.id for c, _ in store.leaderboard(session=session, run_id="cls")] == ["e", "d"]
        objective = store.run_objective(session=session, run_id="lm")
        assert objective == Objective("val_bpb", True) and objective.short == "val bpb"
        assert objective.value({"test_bpb": 3.6}, "test") == 3.6 and objective.test == "test_bpb"
        assert store.run_objective(session=session, run_id=None) == ACCURACY
    engine.dispose()


def test_an_older_store_is_upgraded_and_its_lm_runs_rank_by_bits_per_byte(tmp_path):
    url = sqlite_url(tmp_path / "archlab.db")
    engine = open_store(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "32db4c6fa334")
    with engine.begin() as conn:
        assert "objective" not in {r[1] for r in conn.execute(text("PRAGMA table_info(run)"))}
        for rid, task in (("old-lm", "bytes-lm"), ("old-cls", "mnist1d")):
            conn.execute(text("INSERT INTO run (id, task, space, config, status, used_s, created_at, updated_at) "
                              "VALUES (:id, :task, 's', '{}', 'finished', 0, '2026-01-01', '2026-01-01')"),
                         {"id": rid, "task": task})
    engine.dispose()
    engine = open_store(url)  # opening upgrades it
    with Session(engine) as session:
        assert of_run(session.get(Run, "old-lm")) == Objective("val_bpb", True)
        assert of_run(session.get(Run, "old-cls")) == ACCURACY
    engine.dispose()


def test_objective_values_are_finite_numbers_or_nothing():
    bpb = Objective("val_bpb", minimize=True)
    assert bpb.key({"val_bpb": 3.5}) == -3.5 and bpb.key({}) == float("-inf")
    assert bpb.value({"val_bpb": float("nan")}) is None and bpb.value({"val_bpb": "3"}) is None
    assert bpb.value({"val_bpb": True}) is None and bpb.improvement(3.4, 3.5) == pytest.approx(0.1)
    assert ACCURACY.improvement(0.9, 0.8) == pytest.approx(0.1) and ACCURACY.label == "validation accuracy"


def test_the_fronts_and_the_reference_verdict_follow_the_direction():
    points = [(10, 3.6, "small"), (100, 3.4, "big"), (50, 3.7, "worse")]
    assert [p[2] for p in pareto_front(points, minimize=True)] == ["small", "big"]
    assert [p[2] for p in pareto_front(points)] == ["small", "worse"]

    def scores(cid: str, val: list[float], test: list[float]) -> Scores:
        return Scores(candidate=Candidate(id=cid, origin="reference", source="", summary=f"{cid}: net",
                                          params=100), seeds=list(range(len(val))), val=val, test=test)

    found = scores("found", [3.50, 3.52], [3.40, 3.42])
    refs = [scores("gru", [3.60, 3.62], [3.60, 3.61]), scores("fcn", [3.90, 3.95], [3.30, 3.31])]
    text_ = verdict(found, refs, Objective("val_bpb", True))
    # the best reference by validation is the GRU (lower bits per byte), not the FCN whose test happens to be lower
    assert "lower (better) than the best reference" in text_ and "(gru: 3.6050)" in text_
    assert "0.1950 test bits per byte" in text_
