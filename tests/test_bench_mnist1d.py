"""`archlab bench mnist1d` for real at a tiny budget: a capped search, then the baselines and random
architectures trained by the same harness, through the sandbox."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from archlab.store import Candidate, open_store, sqlite_url

pytestmark = pytest.mark.slow


def test_bench_mnist1d_searches_below_the_cnn_and_compares_with_the_same_harness(tmp_path, monkeypatch):
    from archlab.cli.main import app

    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("ARCHLAB_EMBEDDER", "hashing")
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "mnist1d", "--budget", "25s", "--seeds", "2", "--random-samples", "1",
                                      "--steps", "30", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    models = data["models"]
    cnn = models["cnn"]
    assert cnn["params"] == 5_210 and data["max_params"] == 5_209 and len(cnn["test_acc"]) == 2
    assert {"mlp", "gru", "best found", "random (mean)"} <= set(models)
    assert models["best found"]["params"] < cnn["params"]
    rand = models["random (mean)"]  # drawn from the capped space, as the search's own samples
    assert rand["params"] <= 5_209 and rand["drawn"] == len(rand["test_acc"]) + rand["above_cap"]
    assert "best found < CNN params" not in models  # the best found is below the CNN: no second row
    assert "--max-params cnn" in data["command"] and "at most 5,209 params" in result.output
    with Session(open_store(sqlite_url(tmp_path / "ws" / "archlab.db"))) as s:
        run = s.exec(select(Candidate).where(Candidate.run_id == data["run_id"])).all()
    trained = [c for c in run if c.status == "evaluated"]
    assert trained and all(c.params <= 5_209 for c in trained)
    assert all(c.params > 5_209 for c in run if c.status == "rejected" and c.params)
