"""Task cards on Parquet files and on Hugging Face datasets saved with save_to_disk: read offline on the host,
label column by name, inputs from a list column or from every other column; bad files are one clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, DatasetDict
from test_user_tasks import ENV, card, signals

from archlab.errors import ConfigError
from archlab.evaluator.tasks.card import source_files
from archlab.evaluator.tasks.user import prepare
from archlab.run.tasks import add_task, resolve_task
from archlab.run.workspace import Workspace


def tabular(n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 1, (n, 5)).astype(np.float32) + y[:, None]
    return x, y


def test_parquet_with_scalar_feature_columns_and_a_named_label(tmp_path):
    x, y = tabular()
    columns = {f"f{i}": x[:, i] for i in range(5)} | {"species": np.array(["ant", "bee", "cat"])[y]}
    pq.write_table(pa.table(columns), tmp_path / "train.parquet")
    c = card(tmp_path, "name: tab\ndata: {train: {path: train.parquet, label: species}}\n")
    prepared = prepare(c)
    assert prepared.classes == ["ant", "bee", "cat"] and prepared.input_shape == (5,)
    assert prepared.layout == "features"  # rows were vectors: the reference models are the MLP and the ResNet-MLP
    ws = Workspace(root=tmp_path / "ws")
    add_task(ws, c)
    assert resolve_task(ws, "tab").references == ("mlp", "resmlp")


def test_parquet_with_a_list_column_of_sequences(tmp_path):
    x, y = signals(150)
    table = pa.table({"x": [row.tolist() for row in x], "label": y})
    pq.write_table(table, tmp_path / "train.parquet")
    prepared = prepare(card(tmp_path, "name: seq\ndata: {train: {path: train.parquet, label: label}}\n"))
    assert prepared.input_shape == (3, 32) and prepared.layout == "sequence"


def test_a_saved_hugging_face_dataset_folder(tmp_path):
    x, y = signals(150)
    Dataset.from_dict({"x": x.tolist(), "label": y.tolist(), "note": ["n"] * 150}).save_to_disk(tmp_path / "hf")
    c = card(tmp_path, "name: hf\ndata: {train: {path: hf, x: x}}\n")  # label defaults to "label"
    prepared = prepare(c)
    assert prepared.input_shape == (3, 32) and len(prepared.classes) == 3
    files = [p.name for p in source_files(c)]
    assert "state.json" in files and any(f.endswith(".arrow") for f in files)  # the folder's files are hashed
    ws = Workspace(root=tmp_path / "ws")
    add_task(ws, c)
    (tmp_path / "hf" / "state.json").write_text((tmp_path / "hf" / "state.json").read_text() + " ")
    with pytest.raises(ConfigError, match="state.json changed since the task was added"):
        resolve_task(ws, "hf")


@pytest.mark.parametrize(("make", "source", "message"), [
    ("parquet", "{path: t.parquet}", "name the label column (label: NAME)"),
    ("parquet", "{path: t.parquet, label: kind}", "no column 'kind'; columns: a, b, label"),
    ("words", "{path: t.parquet, label: label}", "column 'b' is not numbers"),
    ("nan", "{path: t.parquet, label: label}", "NaN or Inf in the inputs of row 1"),
    ("broken", "{path: t.parquet, label: label}", "not a readable Parquet file"),
    ("dict", "{path: hf}", "a dataset with splits (test, train); name one split's folder"),
    ("folder", "{path: hf}", "not a dataset saved with save_to_disk (no state.json)"),
])
def test_bad_parquet_and_dataset_folders_are_one_clear_error(tmp_path, make, source, message):
    if make in ("parquet", "words", "nan"):
        b = {"parquet": [1.0, 2.0, 3.0, 4.0], "words": ["x", "y", "z", "w"], "nan": [1.0, np.nan, 3.0, 4.0]}[make]
        pq.write_table(pa.table({"a": [1.0, 2.0, 3.0, 4.0], "b": b, "label": [0, 1, 0, 1]}), tmp_path / "t.parquet")
    elif make == "broken":
        (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    elif make == "dict":
        part = Dataset.from_dict({"x": [[1.0]] * 4, "label": [0, 1, 0, 1]})
        DatasetDict(train=part, test=part).save_to_disk(tmp_path / "hf")
    else:
        (tmp_path / "hf").mkdir()
        (tmp_path / "hf" / "data.arrow").write_bytes(b"x")
    with pytest.raises(ConfigError) as err:
        prepare(card(tmp_path, f"name: bad\ndata: {{train: {source}}}\n"))
    assert message in str(err.value)


def test_a_task_stored_by_an_earlier_archlab_is_refused_with_the_command_that_adds_it_again(tmp_path):
    x, y = tabular()
    np.savez(tmp_path / "train.npz", x=x, y=y)
    ws = Workspace(root=tmp_path / "ws")
    stored = add_task(ws, card(tmp_path, "name: old\ndata: {train: {path: train.npz}}\n"))
    record = {**stored.record, "input_shape": [1, 5]}
    del record["prepared"]  # as written before feature vectors were given as (F,)
    (ws.root / "tasks" / "old.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"task 'old' was added by an earlier archlab.*add it again: archlab task"):
        resolve_task(ws, "old")


IMAGES_AND_VECTORS = """
import numpy as np, archlab
from sklearn.datasets import load_digits, make_classification
digits = load_digits()
images = archlab.Task.from_arrays("img", digits.images[:400, None], digits.target[:400], steps=30, batch_size=32,
                                  max_params=60000)
x, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_classes=3, random_state=0)
rows = archlab.Task.from_arrays("rows", x, y, steps=30, batch_size=32, max_params=60000,
                               report_metrics=("auroc", "log_loss"))
for task, ref in ((images, "cnn"), (rows, "resmlp")):
    result = archlab.discover(task, budget="5m", max_evals=1, seed=2,
                              config={"evaluation": {"references": [ref], "reference_seeds": 1}})
    grammar = result.best.source.split("grammar ", 1)[1].split(";")[0]
    print(task.name, tuple(task.info["input_shape"]), grammar, [r.summary.split(":")[0] for r in result.references],
          result.references[0].metrics["seeds"], result.status)
print("rows metrics", 0.5 < result.best.metrics["test_auroc"] <= 1, result.best.metrics["val_log_loss"] > 0)
"""


def test_images_and_feature_vectors_are_searched_in_their_own_spaces_beside_their_references(tmp_path):
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(tmp_path / "ws"), **ENV}
    done = subprocess.run([sys.executable, "-c", IMAGES_AND_VECTORS], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "img (1, 8, 8) 'image2d' ['CNN'] 1 finished" in done.stdout
    assert "rows (12,) 'vector' ['ResNet-MLP'] 1 finished" in done.stdout
    assert "rows metrics True True" in done.stdout  # probabilities returned by the job, scored on the host
