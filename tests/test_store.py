import pytest
from sqlmodel import Session

from archlab.errors import StoreError
from archlab.store import Candidate, Evaluation, Run, open_store, sqlite_url
from archlab.store import records as store


@pytest.fixture
def engine(store_url):  # SQLite, and PostgreSQL where one is configured (conftest.py)
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def cand(cid, run_id="r1", **kw):
    fields = {"origin": "sample", "source": "src", "status": "evaluated", "fingerprint": f"fp-{cid}",
              "graph_hash": f"g-{cid}", "probe_hash": f"p-{cid}", "params": 10, "flops": 20} | kw
    return Candidate(id=cid, run_id=run_id, **fields)


def ev(cid, val, **kw):
    fields = {"fingerprint": f"fp-{cid}", "task": "mnist1d", "stage": "train", "fidelity": 100, "seed": 0,
              "status": "ok", "metrics": {"val_acc": val, "test_acc": val - 0.01}} | kw
    return Evaluation(candidate_id=cid, run_id="r1", **fields)


def test_wal_mode(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's journal mode")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_evaluation_key_is_unique(engine):
    with Session(engine) as s:
        first = store.add_evaluation(session=s, evaluation=ev("a", 0.5))
        again = store.add_evaluation(session=s, evaluation=ev("a", 0.9))  # same key: never stored twice
        assert again.id == first.id and again.metrics["val_acc"] == 0.5
        other_seed = store.add_evaluation(session=s, evaluation=ev("a", 0.7, seed=1))
        assert other_seed.id != first.id
        assert store.get_evaluation(session=s, fingerprint="fp-a", task="mnist1d", stage="train",
                                    fidelity=100, seed=1).metrics["val_acc"] == 0.7


def test_leaderboard_orders_by_validation(engine):
    with Session(engine) as s:
        for cid, val in [("a", 0.5), ("b", 0.9), ("c", 0.7)]:
            store.upsert_candidate(session=s, candidate=cand(cid))
            store.add_evaluation(session=s, evaluation=ev(cid, val))
        store.upsert_candidate(session=s, candidate=cand("d", status="failed"))
        store.add_evaluation(session=s, evaluation=ev("d", 0.99, status="candidate_error"))
        board = store.leaderboard(session=s, run_id="r1")
    assert [c.id for c, _ in board] == ["b", "c", "a"]


def test_duplicates_are_found_within_a_run_only(engine):
    with Session(engine) as s:
        store.upsert_candidate(session=s, candidate=cand("a", graph_hash="G", probe_hash="P"))
        store.upsert_candidate(session=s, candidate=cand("rej", graph_hash="H", status="rejected"))
        same_graph = store.find_duplicate(session=s, run_id="r1", graph_hash="G", probe_hash="x", params=1,
                                          flops=1, exclude_id="new")
        same_behaviour = store.find_duplicate(session=s, run_id="r1", graph_hash="x", probe_hash="P",
                                              params=10, flops=20, exclude_id="new")
        assert same_graph.id == same_behaviour.id == "a"
        assert store.find_duplicate(session=s, run_id="r2", graph_hash="G", probe_hash="P", params=10,
                                    flops=20, exclude_id="new") is None
        assert store.find_duplicate(session=s, run_id="r1", graph_hash="H", probe_hash="-", params=0,
                                    flops=0, exclude_id="new") is None  # rejected ones don't count


def test_upsert_is_idempotent(engine):
    with Session(engine) as s:
        store.upsert_candidate(session=s, candidate=cand("a"))
        store.upsert_candidate(session=s, candidate=cand("a", status="failed", reason="timeout"))
        assert len(store.run_candidates(session=s, run_id="r1")) == 1
        assert store.get_candidate(session=s, candidate_id="a").reason == "timeout"


def test_run_roundtrip(engine):
    with Session(engine) as s:
        store.add_run(session=s, run=Run(id="r1", task="mnist1d", space="seq1d", config={"a": 1}))
        store.update_run(session=s, run_id="r1", status="finished", used_s=12.5)
        run = store.get_run(session=s, run_id="r1")
    assert (run.status, run.used_s, run.config) == ("finished", 12.5, {"a": 1})


def test_unopenable_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(sqlite_url(blocker / "sub" / "archlab.db"))
