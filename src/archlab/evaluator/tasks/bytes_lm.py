"""`bytes-lm`: byte-level causal language modelling on source files that ship with the pinned torch.

The corpus is the twelve files of `torch/nn/modules` listed in CORPUS_FILES, read from the installed
torch package (pinned exactly in pyproject.toml, so every machine has the same bytes), concatenated
in that order: 697,408 bytes whose sha256 is CORPUS_SHA256; a different torch fails loudly instead of
silently changing the task. The first 90% is the training stream; the next 5% and the last 5% give
the validation and test sets as non-overlapping windows of CONTEXT + 1 bytes (inputs and their
next-byte targets), at most EVAL_WINDOWS of each.

Metric: bits per byte on the validation windows after the fixed step budget (lower is better), every
position predicted from its prefix within the window; next-byte accuracy is reported beside it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archlab.errors import ConfigError
from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData

CORPUS_FILES = ("activation.py", "batchnorm.py", "container.py", "conv.py", "linear.py", "loss.py", "module.py",
                "normalization.py", "pooling.py", "rnn.py", "sparse.py", "transformer.py")
CORPUS_SHA256 = "75ba6fd74bc166f3db2d838f470ff3507d724c3e141cf01d1aed8bdfd68b44f8"
CONTEXT = 128
EVAL_WINDOWS = 256
TRAIN_SHARE, VAL_SHARE = 0.90, 0.05
# No model gets below this on held-out Python source after a few hundred steps (gzip needs about 2
# bits per byte; large code models about 0.8). A lower score means the candidate saw the targets.
BPB_FLOOR = 0.5


def corpus_dir() -> Path:
    import torch

    return Path(torch.__file__).parent / "nn" / "modules"


def read_corpus() -> bytes:
    """The corpus bytes, checked against the recorded hash."""
    folder = corpus_dir()
    corpus = b"".join((folder / name).read_bytes() for name in CORPUS_FILES)
    digest = hashlib.sha256(corpus).hexdigest()
    if digest != CORPUS_SHA256:
        raise ConfigError(f"the bytes-lm corpus in {folder} has sha256 {digest}, not the recorded {CORPUS_SHA256}: "
                          "install the torch version pyproject.toml pins")
    return corpus


def windows(stream: np.ndarray, length: int, limit: int) -> np.ndarray:
    """Non-overlapping windows of length + 1 (inputs and next-byte targets), stepping by `length`."""
    count = min(limit, (len(stream) - 1) // length)
    return np.stack([stream[i * length: i * length + length + 1] for i in range(count)])


def _generate() -> TaskData:
    stream = np.frombuffer(read_corpus(), dtype=np.uint8)
    train_end = int(len(stream) * TRAIN_SHARE)
    val_end = train_end + int(len(stream) * VAL_SHARE)
    val, test = windows(stream[train_end:val_end], CONTEXT, EVAL_WINDOWS), windows(stream[val_end:], CONTEXT,
                                                                                    EVAL_WINDOWS)
    # In language modelling the targets are the text itself: the candidate must read the validation
    # windows to predict them, so y_* only spare the host from slicing again. Causality is what keeps
    # the targets from leaking into the predictions (the build stage probes it).
    return TaskData(x_train=stream[:train_end].copy(), y_train=np.zeros(0, dtype=np.int64),
                    x_val=val, y_val=val[:, 1:].astype(np.int64), x_test=test, y_test=test[:, 1:].astype(np.int64))


@dataclass(frozen=True)
class LanguageModelTask(Task):
    cost_lengths: tuple[int, ...] = (128, 1024)  # tokens/s and peak memory are measured at each

    objective = "val_bpb"
    minimize = True

    @property
    def chance(self) -> float:
        return -math.log2(self.spec.num_outputs)  # a uniform guess costs 8 bits per byte

    def score(self, data: TaskData, outputs: dict) -> dict[str, float]:
        """Bits per byte and next-byte accuracy from per-window NLL sums (nats) and argmax predictions."""
        scores = {}
        for split, targets in (("val", data.y_val), ("test", data.y_test)):
            bpb = _bits_per_byte(outputs.get(f"{split}_nll"), targets)
            if bpb < BPB_FLOOR:
                raise ValueError(f"{split} bits per byte {bpb:.3f} is below the believable floor {BPB_FLOOR}")
            scores[f"{split}_bpb"] = bpb
            scores[f"{split}_acc"] = _next_byte_accuracy(outputs.get(f"{split}_pred"), targets)
        return scores


def _bits_per_byte(nll: list[float] | None, targets: np.ndarray) -> float:
    if nll is None or len(nll) != len(targets):
        raise ValueError(f"expected {len(targets)} window losses, got {None if nll is None else len(nll)}")
    values = np.asarray(nll, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("a window's negative log-likelihood is negative or not finite")
    return float(values.sum() / targets.size / math.log(2))


def _next_byte_accuracy(pred: list[int] | None, targets: np.ndarray) -> float:
    if pred is None or len(pred) != targets.size:
        raise ValueError(f"expected {targets.size} predictions, got {None if pred is None else len(pred)}")
    return float(np.mean(np.asarray(pred) == targets.reshape(-1)))


BYTES_LM = LanguageModelTask(
    spec=TaskSpec(name="bytes-lm", kind="lm", input_shape=(CONTEXT,), num_outputs=256,
                  max_params=2_000_000, default_steps=300, batch_size=16),
    generate=_generate,
    version=f"torch-nn-modules-{CORPUS_SHA256[:16]}-ctx{CONTEXT}-w{EVAL_WINDOWS}",
    description="byte-level causal LM on 12 source files of torch.nn.modules (697 KB), bits per byte",
)
