"""`space: auto`: the built-in space that fits a task's inputs, chosen when a run starts.

    feature vectors (F,)  vector     sequences (C, L)  seq1d      images (C, H, W)  image2d
    bytes (T,) for LM     lmblocks   NAS-Bench-201 tables: nb201 (results exist for its cells only)
"""

from __future__ import annotations

from archlab.errors import ConfigError
from archlab.evaluator.tasks import Task

AUTO = "auto"
BY_INPUT_DIMS = {1: "vector", 2: "seq1d", 3: "image2d"}
SPACE_TAKES = {"vector": "feature vectors (F,)", "seq1d": "sequences (C, L) of any channel count and length",
               "image2d": "images (C, H, W) of any size", "lmblocks": "byte sequences for language modelling",
               "nb201": "NAS-Bench-201's cells (table lookup)"}


def space_for(task: Task) -> str:
    """The built-in space for the task; ConfigError when none takes its inputs."""
    if task.tabular:
        return "nb201"
    if task.spec.kind == "lm":
        return "lmblocks"
    return space_for_shape(task.spec.input_shape, task.spec.name)


def space_for_shape(shape: tuple[int, ...], name: str = "the task") -> str:
    space = BY_INPUT_DIMS.get(len(shape))
    if space is None:
        raise ConfigError(f"no built-in space takes inputs shaped {tuple(shape)} ({name}); give the card an "
                          "input_shape of (F,), (C, L) or (C, H, W), or a grammar of your own with --space")
    return space


def describe(space: str) -> str:
    """`vector (feature vectors (F,))`, for `archlab task show`."""
    return f"{space} ({SPACE_TAKES[space]})" if space in SPACE_TAKES else space
