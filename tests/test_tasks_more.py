"""The tasks beyond MNIST-1D: its variants, digits, bytes-lm and the tabular NAS-Bench-201 tasks."""

import math
from pathlib import Path

import numpy as np
import pytest

from archlab.errors import ConfigError
from archlab.evaluator.tasks import TASKS, get_task
from archlab.evaluator.tasks.base import TaskData
from archlab.evaluator.tasks.bytes_lm import BPB_FLOOR, CONTEXT, EVAL_WINDOWS, read_corpus, windows
from archlab.evaluator.tasks.mnist1d import position_permutation, shuffle_positions
from archlab.evaluator.tasks.nb201 import DEFAULT_DATA_DIR

NB201_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_nb201 = pytest.mark.skipif(not (NB201_DATA / "nb201" / "nb201.csv").exists(),
                                 reason="../shared/data/nb201/nb201.csv is not on this machine")


def test_registry_names_every_task():
    assert set(TASKS) == {"mnist1d", "mnist1d-shuffled", "mnist1d-10k", "digits", "bytes-lm", "nb201-cifar10",
                          "nb201-cifar100", "nb201-imagenet16"}
    assert get_task("bytes-lm").spec.kind == "lm" and get_task("digits").spec.input_shape == (1, 8, 8)


def test_shuffled_positions_are_one_fixed_permutation():
    perm = position_permutation()
    assert sorted(perm) == list(range(40)) and not np.array_equal(perm, np.arange(40))
    assert np.array_equal(perm, position_permutation())
    x = np.arange(2 * 40, dtype=np.float32).reshape(2, 1, 40)
    data = TaskData(x, np.array([0, 1]), x, np.array([0, 1]), x, np.array([0, 1]))
    shuffled = shuffle_positions(data, perm)
    assert np.array_equal(shuffled.x_val[0, 0], x[0, 0, perm]) and np.array_equal(shuffled.y_test, data.y_test)


def test_digits_split(tmp_path):
    task = get_task("digits")
    data = task.data(tmp_path)
    assert data.x_train.shape == (1150, 1, 8, 8) and data.x_val.shape == (287, 1, 8, 8)
    assert data.x_test.shape == (360, 1, 8, 8)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    with np.load(task.job_inputs(tmp_path)) as f:
        assert sorted(f.files) == ["x_test", "x_train", "x_val", "y_train"]


@pytest.fixture(scope="module")
def lm_data(tmp_path_factory):
    task = get_task("bytes-lm")
    return task, task.data(tmp_path_factory.mktemp("lm"))


def test_bytes_lm_corpus_is_the_recorded_one(lm_data):
    task, data = lm_data
    corpus = read_corpus()  # raises unless the sha256 matches
    assert len(corpus) == 697_408
    assert data.x_val.shape == (EVAL_WINDOWS, CONTEXT + 1) and data.x_test.shape == (EVAL_WINDOWS, CONTEXT + 1)
    assert np.array_equal(data.y_val, data.x_val[:, 1:])
    assert len(data.x_train) == int(len(corpus) * 0.9)
    assert bytes(data.x_train[:20]) == corpus[:20]


def test_windows_do_not_overlap_in_targets():
    stream = np.arange(50, dtype=np.uint8)
    w = windows(stream, 8, 100)
    assert w.shape == (6, 9) and np.array_equal(w[1], np.arange(8, 17))
    targets = w[:, 1:].reshape(-1)
    assert len(set(targets.tolist())) == targets.size  # every target counted once


def test_bytes_lm_scores_bits_per_byte(lm_data):
    task, data = lm_data
    uniform = [CONTEXT * math.log(256)] * EVAL_WINDOWS  # a uniform guess: 8 bits a byte
    outputs = {"val_nll": uniform, "test_nll": uniform,
               "val_pred": data.y_val.reshape(-1).tolist(), "test_pred": [0] * data.y_test.size}
    scores = task.score(data, outputs)
    assert scores["val_bpb"] == pytest.approx(8.0) and scores["val_acc"] == 1.0
    assert scores["test_acc"] == pytest.approx(float(np.mean(data.y_test == 0)))
    assert task.score_of(scores) == pytest.approx(-8.0) and task.chance == pytest.approx(-8.0)
    too_good = {**outputs, "val_nll": [CONTEXT * (BPB_FLOOR / 2) * math.log(2)] * EVAL_WINDOWS}
    with pytest.raises(ValueError, match="below the believable floor"):
        task.score(data, too_good)
    with pytest.raises(ValueError, match="window losses"):
        task.score(data, {**outputs, "val_nll": uniform[:3]})


@needs_nb201
def test_nb201_lookup_at_both_fidelities():
    task = get_task("nb201-cifar10", NB201_DATA)
    assert task.tabular and task.spec.input_shape == (3, 32, 32)
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    high, low = task.lookup(arch, 200), task.lookup(arch, 12)
    assert high["val_acc"] == pytest.approx(0.907693) and high["test_acc"] == pytest.approx(0.9366)
    assert low["val_acc"] == pytest.approx(0.82834) and low["test_acc"] == high["test_acc"]
    assert low["test12_acc"] == pytest.approx(0.8822) and high["index"] == 1
    imagenet = get_task("nb201-imagenet16", NB201_DATA)
    assert imagenet.spec.input_shape == (3, 16, 16) and imagenet.lookup(arch, 200)["val_acc"] == pytest.approx(
        0.444889)
    with pytest.raises(ConfigError, match="after 12 and 200 epochs, not 50"):
        task.lookup(arch, 50)
    with pytest.raises(ConfigError, match="is not in"):
        task.lookup("|none~0|", 200)


def test_nb201_table_found_through_the_setting(tmp_path):
    assert DEFAULT_DATA_DIR.name == "data" and DEFAULT_DATA_DIR.parent.name == "shared"
    with pytest.raises(ConfigError, match="ARCHLAB_DATA_DIR"):
        get_task("nb201-cifar100", tmp_path).lookup("|skip_connect~0|", 200)
    with pytest.raises(ConfigError, match="no training data"):
        get_task("nb201-cifar10").data(tmp_path)
