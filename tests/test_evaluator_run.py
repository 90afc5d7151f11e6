"""`archlab run` with the cascade on a tabular NAS-Bench-201 task, through the real sandbox and store."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from archlab.store import Candidate, Evaluation, open_store, sqlite_url

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (DATA / "nb201" / "nb201.csv").exists(),
                                                    reason="../shared/data/nb201/nb201.csv is not on this machine")]

CONFIG = {
    "task": "nb201-cifar10", "space": "nb201", "max_evals": 4, "budget": "10m", "seed": 1,
    "evaluation": {"cascade": {"enabled": True, "cost": False, "proxies": ["synflow", "l2_norm"], "proxy_batch": 2,
                               "min_history": 2, "predictor": {"min_points": 3, "prior_proxies": ["synflow"]},
                               "rungs": [{"steps": 12, "keep": 0.5}, {"steps": 200}]}},
    "sandbox": {"limits": {"threads": 1}},
}


def test_cascade_run_on_the_nb201_table(tmp_path):
    ws, config = tmp_path / "ws", tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_DATA_DIR": str(DATA), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "archlab", "run", "-c", str(config)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        evals = s.exec(select(Evaluation)).all()
        candidates = s.exec(select(Candidate)).all()
    stages = [(e.stage, e.fidelity) for e in evals]
    assert ("screen", 0) in stages and ("predict", 0) in stages and ("train", 12) in stages
    trained = [e for e in evals if e.stage == "train"]
    assert len(trained) in (4, 5) and all(e.status == "ok" and 0.05 < e.metrics["val_acc"] < 1 for e in trained)
    assert all(e.metrics["epochs"] == e.fidelity and "test_acc" in e.metrics for e in trained)
    # Fewer candidates reach 200 epochs than 12: the low fidelity screens.
    assert 0 < sum(e.fidelity == 200 for e in trained) < sum(e.fidelity == 12 for e in trained)
    assert {c.status for c in candidates} <= {"evaluated", "rejected", "failed"}
    run_dir = next((ws / "runs").iterdir())
    stored = json.loads((run_dir / "rank_fidelity.json").read_text())
    assert stored["task"] == "nb201-cifar10"
    assert any(p["from"] == "proxy:synflow" and p["to"] == "train@12" for p in stored["pairs"])
    report = subprocess.run([sys.executable, "-m", "archlab", "report", "latest"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "## Rank fidelity" in (run_dir / "report" / "report.md").read_text()
