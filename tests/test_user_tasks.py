"""Your own task: task cards on real files (.npz, .npy, CSV, TSV), every bad input refused with nothing stored,
changed data refused, `archlab task` commands, a run on a stored task, and the Python API."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archlab.errors import ConfigError
from archlab.evaluator.tasks.card import TaskCard
from archlab.evaluator.tasks.user import prepare
from archlab.run.tasks import add_task, read_card, resolve_task, stored_tasks
from archlab.run.workspace import Workspace

ENV = {"ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "200"}


def signals(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3-channel sequences of length 32; the class sets which channel carries a sinusoid and its frequency."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, 32)
    x = rng.normal(0, 0.3, (n, 3, 32)).astype(np.float32)
    for i in range(n):
        x[i, y[i]] += np.sin(2 * np.pi * (2 + 3 * y[i]) * t)
    return x, y


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(root=tmp_path / "ws")


def card(tmp_path: Path, text: str) -> TaskCard:
    path = tmp_path / "card.yaml"
    path.write_text(text)
    return read_card(path)


def test_an_npz_card_maps_string_labels_draws_stratified_splits_and_standardises(tmp_path, ws):
    x, y = signals(300)
    names = np.array(["idle", "walk", "run"])[y]
    np.savez(tmp_path / "train.npz", x=x.reshape(300, -1), y=names)
    c = card(tmp_path, "name: sig\ndata: {train: {path: train.npz}}\ninput_shape: [3, 32]\n"
                       "split: {val: 0.2, test: 0.2, seed: 5}\n")
    first, again = prepare(c), prepare(c)
    assert first.classes == ["idle", "run", "walk"] and first.input_shape == (3, 32)
    d = first.data
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (180, 60, 60)
    assert np.array_equal(d.y_val, again.data.y_val)  # seeded
    assert abs(np.bincount(d.y_test).min() - np.bincount(d.y_test).max()) <= 6  # stratified
    assert np.allclose(d.x_train.mean(axis=(0, 2)), 0, atol=1e-4)  # training statistics
    assert not np.allclose(d.x_test.mean(axis=(0, 2)), 0, atol=1e-6)  # ... only
    stored = add_task(ws, c)
    assert stored.record["hashes"] == {str(tmp_path / "train.npz"): stored.record["hashes"][str(tmp_path /
                                                                                                "train.npz")]}
    task = resolve_task(ws, "sig")
    assert task.spec.input_shape == (3, 32) and task.spec.num_outputs == 3
    assert task.name.startswith("sig@")  # evaluations of changed data never mix with these
    view = np.load(task.job_inputs(tmp_path / "cache"))
    assert set(view.files) == {"x_train", "y_train", "x_val", "x_test"}  # no validation or test labels


def test_csv_tsv_and_npy_sources(tmp_path):
    x, y = signals(120)
    flat = x[:, 0, :8]
    rows = ["f0,f1,f2,f3,label,f4,f5,f6,f7"] + [",".join([*map(str, r[:4]), str(c), *map(str, r[4:])])
                                                for r, c in zip(flat, y, strict=True)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join("\t".join([*map(str, r), str(c)])
                                                 for r, c in zip(flat[:40], y[:40], strict=True)) + "\n")
    c = card(tmp_path, "name: t\ndata: {train: {path: train.csv, label: label}, test: {path: test.tsv, label: -1}}\n")
    p = prepare(c)
    assert p.input_shape == (8,) and p.given == ["test", "train"] and len(p.data.y_test) == 40
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    p = prepare(card(tmp_path, "name: n\ndata: {train: {path: x.npy, y: y.npy}}\n"))
    assert p.input_shape == (3, 32) and sum(map(len, (p.data.y_train, p.data.y_val, p.data.y_test))) == 120


BAD = {
    "missing file": ("data: {train: {path: nope.npz}}", "nope.npz: no such file"),
    "missing key": ("data: {train: {path: train.npz, x: inputs}}", "no array 'inputs'; it holds x, y"),
    "missing column": ("data: {train: {path: train.csv, label: target}}", "no column 'target'"),
    "nan": ("data: {train: {path: nan.npz}}", "NaN or Inf in the inputs of row 3"),
    "unseen class": ("data: {train: {path: train.npz}, test: {path: other.npz}}", "class '9' is in test but never"),
    "shape mismatch": ("data: {train: {path: train.npz}, test: {path: short.npz}}", "differ in shape"),
    "empty class": ("data: {train: {path: rare.npz}}", "split"),
    "empty file": ("data: {train: {path: empty.csv, label: 0}}", "the file is empty"),
    "ragged csv": ("data: {train: {path: ragged.csv, label: 0}}", "ragged.csv, line 3: 2 fields"),
    "format": ("data: {train: {path: train.xlsx}}", "unknown format '.xlsx'"),
    "metric": ("data: {train: {path: train.npz}}\nmetric: speed", "unknown metric .speed.; a run selects on one of"),
    "reshape": ("data: {train: {path: train.npz}}\ninput_shape: [5, 5]", "cannot be shaped (5, 5)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_error_and_nothing_is_stored(tmp_path, ws, case):
    x, y = signals(100)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "other.npz", x=x[:10], y=np.full(10, 9))
    np.savez(tmp_path / "short.npz", x=x[:10, :, :16], y=y[:10])
    bad = x.copy()
    bad[3, 1, 4] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad, y=y)
    np.savez(tmp_path / "rare.npz", x=x, y=np.r_[np.zeros(97, int), np.ones(3, int)])
    (tmp_path / "train.csv").write_text("a,b\n1,0\n2,1\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ragged.csv").write_text("0,1,2\n1,2,3\n0,1\n")
    (tmp_path / "train.xlsx").write_bytes(b"PK\x03\x04")
    text, message = BAD[case]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add_task(ws, card(tmp_path, f"name: bad\n{text}\n"))
    assert stored_tasks(ws) == [] and not (ws.root / "tasks" / "bad.json").exists()


def test_names_and_replacing(tmp_path, ws):
    x, y = signals(90)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    with pytest.raises(ConfigError, match="is built in"):
        add_task(ws, card(tmp_path, "name: digits\ndata: {train: {path: train.npz}}\n"))
    with pytest.raises(ConfigError, match="not a task name"):
        card(tmp_path, "name: Bad Name\ndata: {train: {path: train.npz}}\n")
    add_task(ws, card(tmp_path, "name: mine\ndata: {train: {path: train.npz}}\n"))
    with pytest.raises(ConfigError, match="--replace"):
        add_task(ws, card(tmp_path, "name: mine\ndata: {train: {path: train.npz}}\n"))
    with pytest.raises(ConfigError, match="unknown task 'nobody'.*stored tasks: mine"):
        resolve_task(ws, "nobody")


def test_changed_data_is_refused_with_the_command_that_adds_it_again(tmp_path, ws):
    x, y = signals(90)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    add_task(ws, card(tmp_path, "name: drift\ndata: {train: {path: train.npz}}\n"))
    before = resolve_task(ws, "drift").name
    np.savez(tmp_path / "train.npz", x=x * 2, y=y)
    with pytest.raises(ConfigError, match="changed since the task was added.*archlab task add CARD --replace"):
        resolve_task(ws, "drift")
    add_task(ws, card(tmp_path, "name: drift\ndata: {train: {path: train.npz}}\n"), replace=True)
    assert resolve_task(ws, "drift").name != before  # a new data version: stored evaluations are not reused


def archlab(ws: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), **ENV}
    return subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_task_commands_and_a_run_on_a_stored_task(tmp_path):
    ws = tmp_path / "ws"
    x, y = signals(240)
    np.savez(tmp_path / "train.npz", x=x[:180], y=y[:180])
    np.savez(tmp_path / "test.npz", x=x[180:], y=y[180:])
    (tmp_path / "sig.yaml").write_text("name: sig\ndata: {train: {path: train.npz}, test: {path: test.npz}}\n"
                                       "recipe: {steps: 60, batch_size: 32, optimizer: sgd, lr: 0.05, schedule: cosine,"
                                       " label_smoothing: 0.9}\nmax_params: 50000\n")
    added = archlab(ws, "task", "add", str(tmp_path / "sig.yaml"))
    assert added.returncode == 0, added.stderr
    assert "task sig: 3 classes, inputs (3, 32), 144 / 36 / 60 train / val / test" in added.stdout
    assert "val drawn from train: stratified, seed 0" in added.stdout
    assert "reference models: fcn, resnet1d, gru, trained after each search with this recipe" in added.stdout
    assert "searched by: seq1d (sequences (C, L) of any channel count and length) with `space: auto`" in added.stdout
    listed = json.loads(archlab(ws, "task", "list", "--json").stdout)
    assert {"digits", "sig"} <= {r["name"] for r in listed}
    assert json.loads(archlab(ws, "task", "show", "sig", "--json").stdout)["sizes"]["test"] == 60
    bad = archlab(ws, "task", "add", str(tmp_path / "nope.yaml"))
    assert bad.returncode == 2 and "cannot read" in bad.stderr

    run = archlab(ws, "run", "--task", "sig", "--max-evals", "1", "--budget", "5m", "--seed", "2")
    assert run.returncode == 0, run.stderr[-2000:]
    row = json.loads(archlab(ws, "runs", "--json").stdout)[0]
    # One candidate searched; then trained on two more seeds for the comparison with the reference models.
    assert row["task"] == "sig" and row["status"] == "finished" and row["evaluations"] == 3
    from sqlmodel import Session, select

    from archlab.store import Candidate, Evaluation, open_store, sqlite_url
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        refs = s.exec(select(Candidate).where(Candidate.origin == "reference")).all()
        best = s.exec(select(Evaluation).where(Evaluation.stage == "train",
                                               Evaluation.candidate_id.not_in([r.id for r in refs]))).all()
        ref_trains = s.exec(select(Evaluation).where(Evaluation.stage == "train",
                                                     Evaluation.candidate_id.in_([r.id for r in refs]))).all()
    # After the search, the references that fit (C, L) inputs trained like for like: same fidelity and seed.
    assert sorted(r.summary.split(":")[0] for r in refs) == ["FCN", "GRU", "ResNet"]
    assert all(r.status == "evaluated" and r.params <= 50000 for r in refs)  # shrunk to the task's cap
    assert len({e.candidate_id for e in best}) == 1 and sorted(e.seed for e in best) == [0, 1, 2]
    ev = best[0]
    assert sorted((e.fidelity, e.seed, e.task) for e in ref_trains) == sorted([(e.fidelity, e.seed, e.task)
                                                                                for e in best] * 3)
    assert ev.task.startswith("sig@") and {"val_balanced_accuracy", "test_macro_f1"} <= set(ev.metrics)
    assert 0 <= ev.metrics["val_acc"] <= 1
    # The card's recipe reached the sandboxed job: with label smoothing 0.9 over 3 classes no model's training
    # loss goes below the entropy of the smoothed targets (0.4, 0.3, 0.3), 1.089 nats.
    assert ev.metrics["train_loss"] >= 1.085

    report = archlab(ws, "report", "latest")
    assert report.returncode == 0, report.stderr
    md = Path(report.stdout.split()[1]).read_text()
    section = md.split("## Task\n")[1].split("\n## ")[0]
    assert "`sig` (stored)" in section and "| classes | 0 = 0, 1 = 1, 2 = 2 |" in section
    assert "144 / 36 / 60 train / val / test; val drawn from train, stratified, seed 0" in section
    digest = json.loads(archlab(ws, "task", "show", "sig", "--json").stdout)["hashes"][str(tmp_path / "train.npz")]
    assert f"(sha256 {digest})" in section
    against = md.split("## Against reference models\n")[1].split("\n## ")[0]
    assert against.count("| reference |") == 3 and "| found (best of the search) |" in against
    assert f"trained with the task's recipe for {ev.fidelity} steps" in against
    assert re.search(r"The found architecture is (\d\.\d{4} test accuracy (above|below)|level on test with) the best "
                     r"reference by validation \((FCN|ResNet|GRU): \d\.\d{4}\), with [\d.]+× its parameters; "
                     r"same recipe, 3 seeds: (more than|within) the seeds' spread", against), against
    leaderboard = md.split("## Leaderboard\n")[1].split("\n## ")[0]
    assert "FCN" not in leaderboard and "reference" not in leaderboard  # never ranked with the search
    assert "| test acc | test balanced accuracy | test macro f1 | train s |" in leaderboard  # the card's metrics
    html = Path(report.stdout.split()[0]).read_text()
    assert '<section id="task">' in html and "<th>recipe</th><td>60 steps, batch 32, sgd, lr 0.05, cosine" in html

    wrong = archlab(ws, "run", "--task", "nothere", "--budget", "1m")
    assert wrong.returncode == 2 and "unknown task 'nothere'" in wrong.stderr and "stored tasks: sig" in wrong.stderr


def test_the_python_api_from_arrays_to_a_result(tmp_path):
    code = f"""
import numpy as np, archlab, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_user_tasks import signals
x, y = signals(200)
labels = np.array(["a", "b", "c"])[y]
try:
    archlab.Task.from_arrays("api", x, labels[:-1])
except archlab.api.ConfigError as exc:
    print("refused:", exc)
task = archlab.Task.from_arrays("api", x[:150], labels[:150], x_test=x[150:], y_test=labels[150:], steps=40,
                                batch_size=32, max_params=50000)
result = archlab.discover(task, budget="5m", max_evals=1, seed=3,
                          config={{"evaluation": {{"references": ["fcn"], "reference_seeds": 1}}}})
print(result.status, task.info["classes"], result.best.metrics["test_acc"] >= 0, "build_model" in result.best.source,
      result.report_path.is_file())
print("references", sorted(r.summary.split(":")[0] for r in result.references),
      sorted(set(r.metrics["seeds"] for r in result.references)),
      result.comparison.startswith("The found architecture is"),
      result.best.candidate_id not in [r.candidate_id for r in result.references])
"""
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(tmp_path / "ws"), **ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: " in done.stdout and "inputs but" in done.stdout
    assert "finished ['a', 'b', 'c'] True True True" in done.stdout
    assert "references ['FCN'] [1] True True" in done.stdout  # the run's config chose one, on one seed
    assert sorted(os.listdir(tmp_path / "ws" / "tasks")) == ["api.data", "api.json"]


PYTHON_TASK = """
import numpy as np
import sys
sys.path.insert(0, {tests!r})
from test_user_tasks import signals

CARD = {{"name": "pysig", "recipe": {{"steps": 40, "batch_size": 32}}, "max_params": 50000,
        "split": {{"val": 0.25, "seed": 3}}}}


def load():
    x, y = signals(200)
    return {{"x_train": x[:150], "y_train": np.array(["lo", "mid", "hi"])[y[:150]],
            "x_test": x[150:], "y_test": np.array(["lo", "mid", "hi"])[y[150:]]}}
"""


def test_a_python_task_is_loaded_checked_stored_and_refused_once_changed(tmp_path):
    ws = tmp_path / "ws"
    task_file = tmp_path / "my_task.py"
    task_file.write_text(PYTHON_TASK.format(tests=str(Path(__file__).parent)))
    added = archlab(ws, "task", "add", "--from", str(task_file))
    assert added.returncode == 0, added.stderr
    assert "task pysig: 3 classes, inputs (3, 32), 112 / 38 / 50 train / val / test" in added.stdout
    shown = json.loads(archlab(ws, "task", "show", "pysig", "--json").stdout)
    assert shown["classes"] == ["hi", "lo", "mid"] and str(task_file) in shown["hashes"]
    assert sorted(os.listdir(ws / "tasks")) == ["pysig.data", "pysig.json"]
    task_file.write_text(task_file.read_text() + "\n# changed\n")
    run = archlab(ws, "run", "--task", "pysig", "--budget", "1m")
    said = " ".join(run.stderr.split())
    assert run.returncode == 2 and "my_task.py changed since the task was added" in said
    assert f"archlab task add --from {task_file} --replace" in said


@pytest.mark.parametrize(("body", "message"), [
    ("def load():\n    x = [1]\n    raise ValueError('the sensor file is corrupt')\n",
     "my_task.py, line 3: load() raised ValueError: the sensor file is corrupt"),
    ("import not_a_module_anywhere\n", "my_task.py, line 1: importing it raised ModuleNotFoundError"),
    ("x = 1\n", "define load() returning a dict with x_train, y_train"),
    ("def load():\n    return {'x_train': [[1.0]], 'labels': [0]}\n", "got ['labels']"),
    ("def load():\n    return {'x_train': [[1.0, 2.0]] * 8}\n", "train: give both x_train and y_train"),
    ("CARD = {'recipe': {'steps': -1}}\ndef load():\n    return {'x_train': [[1.0]] * 8, 'y_train': [0, 1] * 4}\n",
     "recipe.steps"),
])
def test_a_python_task_that_fails_is_one_clear_error_and_stores_nothing(tmp_path, body, message):
    ws = tmp_path / "ws"
    (tmp_path / "my_task.py").write_text(body)
    done = archlab(ws, "task", "add", "--from", str(tmp_path / "my_task.py"))
    assert done.returncode == 2 and message in " ".join(done.stderr.split()), done.stderr
    assert not (ws / "tasks").exists() or not [p for p in os.listdir(ws / "tasks") if not p.endswith(".tmp")]
    both = archlab(ws, "task", "add", str(tmp_path / "card.yaml"), "--from", str(tmp_path / "my_task.py"))
    assert both.returncode == 2 and "give a task card" in both.stderr
