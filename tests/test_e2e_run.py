"""End to end: a tiny real discovery through the CLI, killed with SIGKILL mid-run, then resumed."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from archlab.store import Candidate, Evaluation, open_store, sqlite_url

pytestmark = pytest.mark.slow


# Loading MiniLM adds 15-50 s to each run's start; these tests are about the run, not the embedder
# (tests/test_memory_minilm.py covers that).
FAST_MEMORY = {"ARCHLAB_EMBEDDER": "hashing"}


def archlab(ws: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "COLUMNS": "200", **FAST_MEMORY}
    return subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 300), **kw)


def start(ws: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), **FAST_MEMORY}
    # A shell running the suite in the background starts it with SIGINT ignored, and children inherit
    # that; the Ctrl-C test needs the default disposition back.
    return subprocess.Popen([sys.executable, "-m", "archlab", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def train_evals(ws: Path) -> list[Evaluation]:
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        return list(s.exec(select(Evaluation).where(Evaluation.stage == "train")).all())


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def kill_after_training(ws: Path, args: list[str], trained: int) -> None:
    """Start the run and SIGKILL it once `trained` training evaluations are stored."""
    proc = start(ws, *args)

    def trained_enough() -> bool:
        if proc.poll() is not None:  # the run ended on its own: say why instead of waiting out the timeout
            raise AssertionError(f"the run exited with {proc.returncode}: {proc.stderr.read()[-3000:]}")
        return (ws / "archlab.db").exists() and len(train_evals(ws)) >= trained

    try:
        wait_for(trained_enough, timeout=300)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)


def test_run_killed_and_resumed(tmp_path):
    ws = tmp_path / "ws"
    args = ["run", "--task", "mnist1d", "--max-evals", "4", "--budget", "10m", "--steps", "150",
            "--seed", "3", "-v"]
    kill_after_training(ws, args, trained=2)
    killed_at = len(train_evals(ws))
    assert 2 <= killed_at < 4

    listed = json.loads(archlab(ws, "runs", "--json").stdout)
    assert listed[0]["status"] == "interrupted"
    run_id = listed[0]["run_id"]

    resumed = archlab(ws, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr

    evals = train_evals(ws)
    keys = Counter((e.fingerprint, e.task, e.fidelity, e.seed) for e in evals)
    assert len(evals) == 4 and max(keys.values()) == 1  # none lost, none run twice
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        cands = s.exec(select(Candidate).where(Candidate.status == "evaluated")).all()
    assert len(cands) == 4 and all(c.fingerprint for c in cands)

    row = json.loads(archlab(ws, "runs", "--json").stdout)[0]
    assert row["status"] == "finished" and row["evaluations"] == 4
    assert 0.1 < row["best"]["val_acc"] <= 1 and 0.1 < row["best"]["test_acc"] <= 1

    report = archlab(ws, "report", run_id)
    html, path = map(Path, report.stdout.split())  # report.html, then its Markdown twin
    assert path == ws / "runs" / run_id / "report" / "report.md" and html == path.with_name("report.html")
    text = path.read_text()
    assert "## Leaderboard" in text and row["best"]["candidate_id"] in text and "def build_model" in text
    assert (ws / "runs" / run_id / "config.yaml").exists()


@pytest.mark.parametrize("args,message", [
    (["--task", "imagenet"], "unknown task 'imagenet'"),
    (["--budget=-5m"], "budget"),
])
def test_bad_input_writes_nothing(tmp_path, args, message):
    result = archlab(tmp_path / "ws", "run", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ws").exists()


def test_malformed_yaml_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: mnist1d\nbudget: [5m\n")
    result = archlab(tmp_path / "ws", "run", "--config", str(bad))
    assert result.returncode == 2 and "malformed YAML" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_eval_a_person_s_model(tmp_path):
    model = tmp_path / "my_model.py"
    model.write_text("from torch import nn\n\ndef build_model(task):\n"
                     "    return nn.Sequential(nn.Flatten(), nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 10))\n")
    result = archlab(tmp_path / "ws", "eval", str(model), "--task", "mnist1d", "--steps", "100", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["params"] == 40 * 64 + 64 + 64 * 10 + 10
    assert 0.1 < data["test_acc"] <= 1 and data["steps"] == 100
    again = json.loads(archlab(tmp_path / "ws", "eval", str(model), "--steps", "100", "--json").stdout)
    assert again["test_acc"] == data["test_acc"]  # the stored evaluation, not a second run


def test_eval_a_broken_model(tmp_path):
    model = tmp_path / "broken.py"
    model.write_text("def build_model(task):\n    raise ValueError('no layers yet')\n")
    result = archlab(tmp_path / "ws", "eval", str(model), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["status"] == "candidate_error" and "no layers yet" in data["error"]


def worker_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"archlab.sandbox.worker" in cmdline:
                pids.add(int(entry.name))
    return pids


def test_ctrl_c_stops_cleanly_and_resume_continues(tmp_path):
    ws = tmp_path / "ws"
    before = worker_pids()
    proc = start(ws, "run", "--max-evals", "2", "--steps", "1000", "--seed", "5")
    try:
        wait_for(lambda: bool(worker_pids() - before), timeout=60)  # a job is in flight
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "archlab resume" in err
    wait_for(lambda: not (worker_pids() - before), timeout=5)  # no job left behind
    row = json.loads(archlab(ws, "runs", "--json").stdout)[0]
    assert row["status"] == "stopped"
    again = archlab(ws, "resume", "latest", "--budget", "1s")  # too little time: stops at once, cleanly
    assert again.returncode == 0, again.stderr
    assert json.loads(archlab(ws, "runs", "--json").stdout)[0]["status"] == "finished"
