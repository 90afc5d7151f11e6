import numpy as np
import pytest

from archlab.errors import ConfigError
from archlab.evaluator.tasks import get_task


@pytest.fixture(scope="module")
def mnist1d(tmp_path_factory):
    return get_task("mnist1d"), tmp_path_factory.mktemp("cache")


def test_split_sizes_and_shapes(mnist1d):
    task, cache = mnist1d
    data = task.data(cache)
    assert data.x_train.shape == (3200, 1, 40) and data.x_val.shape == (800, 1, 40)
    assert data.x_test.shape == (1000, 1, 40)
    assert set(np.unique(data.y_train)) == set(range(10))
    assert task.spec.input_shape == data.x_train.shape[1:]


def test_data_is_cached_and_identical(mnist1d):
    task, cache = mnist1d
    first, second = task.data(cache), task.data(cache)
    assert np.array_equal(first.x_val, second.x_val) and np.array_equal(first.y_test, second.y_test)
    assert len(list(cache.glob("mnist1d-*.npz"))) == 1


def test_job_inputs_carry_no_validation_or_test_labels(mnist1d):
    task, cache = mnist1d
    with np.load(task.job_inputs(cache)) as f:
        assert sorted(f.files) == ["x_test", "x_train", "x_val", "y_train"]


def test_scoring_on_the_host(mnist1d):
    task, cache = mnist1d
    data = task.data(cache)
    perfect = {"val_pred": data.y_val.tolist(), "test_pred": data.y_test.tolist()}
    assert task.score(data, perfect) == {"val_acc": 1.0, "test_acc": 1.0}
    with pytest.raises(ValueError, match="expected 1000 predictions"):
        task.score(data, {"val_pred": data.y_val.tolist(), "test_pred": [0] * 10})


def test_unknown_task():
    with pytest.raises(ConfigError, match="known tasks: bytes-lm, digits, mnist1d"):
        get_task("cifar")
