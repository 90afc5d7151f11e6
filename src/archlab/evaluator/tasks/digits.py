"""`digits`: scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes) as (1, 8, 8) images.

Ships with scikit-learn (no download). Pixel values 0..16 are scaled to 0..1. A fixed permutation
(seed 0) splits the images 1,150 / 287 / 360 into train / validation / test.
"""

from __future__ import annotations

import numpy as np

from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData, split_indices

SPLIT_SEED = 0
TEST_SIZE = 360
VAL_SIZE = 287


def _generate() -> TaskData:
    from sklearn.datasets import load_digits

    raw = load_digits()
    x = (raw.images / 16.0).astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8), channels first
    y = raw.target.astype(np.int64)
    test, val, train = split_indices(len(y), (TEST_SIZE, VAL_SIZE), SPLIT_SEED)
    return TaskData(x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val], x_test=x[test], y_test=y[test])


DIGITS = Task(
    spec=TaskSpec(name="digits", input_shape=(1, 8, 8), num_outputs=10,
                  max_params=2_000_000, default_steps=1000, batch_size=64),
    generate=_generate,
    version="sklearn-digits-split0-360-287",
    description="scikit-learn 8x8 digits, 1,150 / 287 / 360 images, 10 classes",
)
