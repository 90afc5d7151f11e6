"""MNIST-1D (Greydanus 2020): 10 classes of 1-D signals of length 40, generated locally.

The standard 5,000-sample set (the package's default arguments, seed 42): its 4,000 training
samples are split 3,200 / 800 into train / validation with a fixed permutation; its 1,000 test
samples are the test set. Never downloaded: `make_dataset` builds it from the package's templates.
"""

from __future__ import annotations

import numpy as np

from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData

SPLIT_SEED = 0
VAL_SIZE = 800


def _generate() -> TaskData:
    from mnist1d.data import get_dataset_args, make_dataset

    raw = make_dataset(get_dataset_args())
    x, y = raw["x"].astype(np.float32), raw["y"].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    val, train = order[:VAL_SIZE], order[VAL_SIZE:]
    # (N, 40) -> (N, 1, 40): channels first, as TaskSpec.input_shape says.
    return TaskData(
        x_train=x[train, None, :], y_train=y[train],
        x_val=x[val, None, :], y_val=y[val],
        x_test=raw["x_test"].astype(np.float32)[:, None, :], y_test=raw["y_test"].astype(np.int64),
    )


MNIST1D = Task(
    spec=TaskSpec(name="mnist1d", input_shape=(1, 40), num_outputs=10,
                  max_params=2_000_000, default_steps=1500, batch_size=128),
    generate=_generate,
    version="mnist1d-0.0.2-seed42-split0",
)
