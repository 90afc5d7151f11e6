"""MNIST-1D (Greydanus 2020): 10 classes of 1-D signals of length 40, generated locally, and two variants.

- `mnist1d`: the standard 5,000-sample set (the package's default arguments, seed 42): its 4,000
  training samples are split 3,200 / 800 into train / validation with a fixed permutation; its 1,000
  test samples are the test set.
- `mnist1d-shuffled`: the same samples with the 40 positions permuted by one fixed permutation
  (seed 1, the same for every split), so that locality stops helping: a convolution's spatial prior
  is worth nothing, an MLP loses nothing.
- `mnist1d-10k`: 10,000 samples from the same generator (seed 42): 8,000 / 2,000 train+val / test as
  the package splits them, the 8,000 cut 7,000 / 1,000 into train / validation.

Never downloaded: `make_dataset` builds every set from the package's templates.
"""

from __future__ import annotations

import numpy as np

from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData

SPLIT_SEED = 0
VAL_SIZE = 800
SHUFFLE_SEED = 1
LENGTH = 40


def _generate(num_samples: int = 5000, val_size: int = VAL_SIZE) -> TaskData:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    raw = make_dataset(args)
    x, y = raw["x"].astype(np.float32), raw["y"].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    val, train = order[:val_size], order[val_size:]
    # (N, 40) -> (N, 1, 40): channels first, as TaskSpec.input_shape says.
    return TaskData(
        x_train=x[train, None, :], y_train=y[train],
        x_val=x[val, None, :], y_val=y[val],
        x_test=raw["x_test"].astype(np.float32)[:, None, :], y_test=raw["y_test"].astype(np.int64),
    )


def position_permutation() -> np.ndarray:
    """The fixed permutation of the 40 positions used by mnist1d-shuffled."""
    return np.random.default_rng(SHUFFLE_SEED).permutation(LENGTH)


def shuffle_positions(data: TaskData, perm: np.ndarray) -> TaskData:
    """The same samples and labels with every signal's positions reordered by `perm`."""
    return TaskData(x_train=data.x_train[..., perm], y_train=data.y_train, x_val=data.x_val[..., perm],
                    y_val=data.y_val, x_test=data.x_test[..., perm], y_test=data.y_test)


def _generate_shuffled() -> TaskData:
    return shuffle_positions(_generate(), position_permutation())


def _generate_10k() -> TaskData:
    return _generate(num_samples=10_000, val_size=1_000)


def _task(name: str, generate, version: str, description: str, steps: int = 1500) -> Task:
    spec = TaskSpec(name=name, input_shape=(1, LENGTH), num_outputs=10, max_params=2_000_000,
                    default_steps=steps, batch_size=128)
    return Task(spec=spec, generate=generate, version=version, description=description)


MNIST1D = _task("mnist1d", _generate, "mnist1d-0.0.2-seed42-split0",
                "MNIST-1D, 3,200 / 800 / 1,000 signals of length 40, 10 classes")
MNIST1D_SHUFFLED = _task("mnist1d-shuffled", _generate_shuffled, "mnist1d-0.0.2-seed42-split0-perm1",
                         "MNIST-1D with its 40 positions permuted by one fixed permutation")
MNIST1D_10K = _task("mnist1d-10k", _generate_10k, "mnist1d-0.0.2-seed42-n10000-split0-val1000",
                    "MNIST-1D with 10,000 samples: 7,000 / 1,000 / 2,000", steps=2500)
