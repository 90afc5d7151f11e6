"""Three discovery runs at once, one PostgreSQL store, jobs on the session's Ray cluster: every count
checked, so that no evaluation is lost or stored twice. Two of the runs share a seed, so they propose
the same candidates and race to store the same evaluations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from archlab.store import Candidate, Evaluation, Run, open_store

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.ray]

EVALS = 1
SEEDS = (5, 5, 9)


def start_run(ws: Path, db: str, seed: int) -> subprocess.Popen[str]:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_DATABASE_URL": db, "ARCHLAB_EMBEDDER": "hashing",
           "ARCHLAB_SANDBOX__LIMITS__THREADS": "1"}  # one CPU per job: four jobs at once on the test cluster
    args = ["run", "--task", "mnist1d", "--max-evals", str(EVALS), "--budget", "10m", "--steps", "30",
            "--seed", str(seed), "--sandbox", "ray"]
    return subprocess.Popen([sys.executable, "-m", "archlab", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_three_concurrent_runs_on_one_postgres(tmp_path, fresh_postgres_url, ray_cluster) -> None:
    runs = [start_run(tmp_path / f"ws{i}", fresh_postgres_url, seed) for i, seed in enumerate(SEEDS)]
    for proc in runs:
        _, err = proc.communicate(timeout=420)
        assert proc.returncode == 0, err[-3000:]

    engine = open_store(fresh_postgres_url)
    with Session(engine) as s:
        stored_runs = s.exec(select(Run)).all()
        evals = s.exec(select(Evaluation)).all()
        cands = s.exec(select(Candidate).where(Candidate.status == "evaluated")).all()
    engine.dispose()
    assert len(stored_runs) == 3 and {r.status for r in stored_runs} == {"finished"}
    keys = Counter((e.fingerprint, e.task, e.stage, e.fidelity, e.seed) for e in evals)
    assert max(keys.values()) == 1  # the unique key held under the race: nothing stored twice
    trained = [e for e in evals if e.stage == "train" and e.status == "ok"]
    # Nothing lost: every evaluated candidate of every run has its stored evaluation, and none is spare.
    assert {e.fingerprint for e in trained} == {c.fingerprint for c in cands}
    assert Counter(e.run_id for e in trained) == Counter({r.id: EVALS for r in stored_runs})
    # The same-seed runs proposed the same first candidate: one stored evaluation serves both.
    twins = [{c.fingerprint for c in cands if c.run_id == r.id} for r in stored_runs
             if r.config.get("seed") == SEEDS[0]]
    assert len(twins) == 2 and twins[0] & twins[1]

    # Any workspace pointed at the store sees every run, with its counts.
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(tmp_path / "ws0"), "ARCHLAB_DATABASE_URL": fresh_postgres_url}
    listed = json.loads(subprocess.run([sys.executable, "-m", "archlab", "runs", "--json"], env=env,
                                       capture_output=True, text=True, check=True).stdout)
    assert sorted(row["evaluations"] for row in listed) == [EVALS] * 3


def test_a_run_on_a_pgvector_store_keeps_its_memory_in_the_server(tmp_path, fresh_pgvector_url) -> None:
    from sqlalchemy import func, text

    from archlab.memory.pgvector_index import table_name
    from archlab.store.concepts import Concept
    from archlab.store.retrieval_log import RetrievalLog

    env = {**os.environ, "ARCHLAB_WORKSPACE": str(tmp_path / "ws"), "ARCHLAB_DATABASE_URL": fresh_pgvector_url,
           "ARCHLAB_EMBEDDER": "hashing", "ARCHLAB_VECTOR_INDEX": "pgvector"}
    args = ["run", "--task", "mnist1d", "--max-evals", "3", "--budget", "10m", "--steps", "30", "--seed", "3"]
    done = subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                          timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    engine = open_store(fresh_pgvector_url)
    with Session(engine) as s:
        concepts = s.exec(select(func.count()).select_from(Concept)).one()
        mirrored = s.exec(select(func.count()).select_from(text(table_name("hashing-512")))).one()
        retrievals = s.exec(select(RetrievalLog)).all()
    engine.dispose()
    # The seeds and what the analyst learned are all searchable inside the server; the agents retrieved.
    assert concepts > 20 and mirrored == concepts
    assert retrievals and all(r.concept_ids for r in retrievals)  # offline: the critic retrieves
    found = subprocess.run([sys.executable, "-m", "archlab", "memory", "search", "state space models long sequences",
                            "--json"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(found.stdout)
