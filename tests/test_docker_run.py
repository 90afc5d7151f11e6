"""A real discovery through `archlab run --sandbox docker`: every job in a container, the image recorded."""

import os
import subprocess
import sys

import pytest
from hostile import open_sandbox, session_image
from sqlmodel import Session, select

from archlab.store import Candidate, Evaluation, open_store, sqlite_url

pytestmark = pytest.mark.slow


def test_a_discovery_runs_in_the_docker_sandbox(tmp_path):
    open_sandbox("docker").close()  # skips (fails under CI) where no daemon or image is here
    ws = tmp_path / "ws"
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200",
           "ARCHLAB_SANDBOX__DOCKER__IMAGE": session_image()}
    argv = [sys.executable, "-m", "archlab", "run", "--task", "mnist1d", "--sandbox", "docker", "--max-evals", "2",
            "--budget", "10m", "--steps", "30", "--seed", "5"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        evals = s.exec(select(Evaluation)).all()
        evaluated = s.exec(select(Candidate).where(Candidate.status == "evaluated")).all()
    trained = [e for e in evals if e.stage == "train" and e.status == "ok"]
    assert len(trained) == 2 and len(evaluated) == 2
    assert all(0 < e.metrics["val_acc"] <= 1 for e in trained)
    # Every job ran in the image, and the evaluation says which one (by digest).
    jobs = [e for e in evals if e.stage in ("build", "train")]
    assert jobs and all(e.sandbox_image and e.sandbox_image.startswith("sha256:") for e in jobs)
    leftover = subprocess.run(["docker", "ps", "-aq", "--filter", "label=archlab.sandbox"], capture_output=True,
                              text=True)
    assert leftover.stdout.strip() == "", "a container outlived its job"
