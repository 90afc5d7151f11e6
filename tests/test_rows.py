"""A job's large arrays are read row by row from its .npz (evaluator/rows.py): the rows read are the stored ones,
training on Rows is the same training as on the loaded array, and bad indices or files are clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from archlab.evaluator import rows
from archlab.evaluator.harness import TrainConfig, predict, train
from archlab.evaluator.rows import Rows, load_arrays
from archlab.evaluator.stages import run_stage


@pytest.fixture
def job_file(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(300, 2, 7)), "y_train": rng.integers(0, 3, 300),
              "x_val": rng.normal(size=(50, 2, 7)), "x_test": rng.normal(size=(40, 2, 7))}
    arrays = {k: v.astype(np.float32) if k.startswith("x") else v for k, v in arrays.items()}
    np.savez(tmp_path / "data.npz", **arrays)
    return tmp_path / "data.npz", arrays


def test_large_arrays_are_rows_that_read_what_was_stored(job_file):
    path, arrays = job_file
    loaded = load_arrays(path, lazy_bytes=10_000)  # x_train (16.8 kB) becomes Rows; the others are smaller
    x = loaded["x_train"]
    assert isinstance(x, Rows) and all(isinstance(loaded[k], np.ndarray) for k in ("y_train", "x_val", "x_test"))
    assert len(x) == 300 and x.shape == (300, 2, 7) and x.nbytes == arrays["x_train"].nbytes
    assert np.array_equal(x[10:25], arrays["x_train"][10:25]) and x[295:400].shape == (5, 2, 7)
    index = np.array([299, 0, 7, 7, -1])
    assert np.array_equal(x[index], arrays["x_train"][index])
    with pytest.raises(IndexError, match="out of range for 300 rows"):
        x[np.array([300])]
    with pytest.raises(IndexError, match="step 1"):
        x[::2]


def test_compressed_and_small_archives_load_whole(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", x=np.zeros((1000, 50), np.float32))
    assert isinstance(load_arrays(tmp_path / "c.npz", lazy_bytes=1)["x"], np.ndarray)


def test_training_and_predicting_on_rows_equals_the_loaded_array(job_file):
    path, arrays = job_file
    x_rows = load_arrays(path, lazy_bytes=10_000)["x_train"]
    y = torch.as_tensor(arrays["y_train"])
    cfg = TrainConfig(steps=25, batch_size=16, seed=3)
    results, preds = [], []
    for x in (torch.as_tensor(arrays["x_train"]), x_rows):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(14, 3))
        results.append(train(model, x, y, cfg).curve)
        preds.append(predict(model, x, batch_size=64, device=torch.device("cpu")))
    assert results[0] == results[1] and preds[0] == preds[1]


def test_a_train_job_reads_its_large_training_set_as_rows(job_file, monkeypatch):
    path, arrays = job_file
    monkeypatch.setattr(rows, "LAZY_BYTES", 10_000)
    seen = []
    monkeypatch.setattr("archlab.evaluator.stages.train", lambda model, x, y, cfg, on_check=None:
                        seen.append(type(x)) or train(model, x, y, cfg, on_check))
    (path.parent / "candidate.py").write_text("from torch import nn\n\ndef build_model(task):\n"
                                              "    return nn.Sequential(nn.Flatten(), nn.Linear(14, 3))\n")
    task = {"name": "t", "input_shape": [2, 7], "num_outputs": 3}
    done = run_stage("train", path.parent / "candidate.py", task,
                     {"steps": 5, "batch_size": 8, "seed": 0, "device": "cpu", "data": "data.npz"}, path.parent)
    assert seen == [Rows] and len(done["outputs"]["test_pred"]) == 40


def test_a_truncated_file_is_a_clear_error(job_file, tmp_path):
    path, _ = job_file
    x = load_arrays(path, lazy_bytes=10_000)["x_train"]
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[: x.offset + 100 * x.row_bytes])
    with pytest.raises(OSError, match="expected 56 bytes at row 200"):
        Rows(cut, x.offset, x.shape, x.dtype)[200:201]
