"""The sandbox-side stages run in-process on tiny real candidate files: build (with the causality probe),
cost, proxies, screen and train, for a classifier and a language model."""

import math

import numpy as np
import pytest
import torch

from archlab.errors import CandidateBuildError
from archlab.evaluator import cost
from archlab.evaluator.stages import run_stage
from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import TaskData
from archlab.evaluator.tasks.bytes_lm import BYTES_LM

LM = TaskSpec(name="tiny-lm", kind="lm", input_shape=(16,), num_outputs=64, batch_size=4)
CLASSIFY = TaskSpec(name="tiny", input_shape=(1, 12), num_outputs=3, batch_size=8)

CAUSAL_LM = """
import torch
from torch import nn


class ConvLM(nn.Module):
    def __init__(self, vocab, left, right):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.conv = nn.Conv1d(8, 8, left + right + 1)
        self.pad = (left, right)
        self.head = nn.Linear(8, vocab)

    def forward(self, tokens):
        h = self.embed(tokens).transpose(1, 2)
        h = torch.relu(self.conv(nn.functional.pad(h, self.pad)))
        return self.head(h.transpose(1, 2))


def build_model(task):
    return ConvLM(task.num_outputs, LEFT, RIGHT)
"""

CLASSIFIER = """
from torch import nn


def build_model(task):
    channels, length = task.input_shape
    return nn.Sequential(nn.Conv1d(channels, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * length, task.num_outputs))
"""


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def stage(tmp_path, name, source, task, **params):
    path = tmp_path / "candidate.py"
    path.write_text(source)
    return run_stage(name, path, task.model_dump(), {"seed": 0, "device": "cpu", **params}, tmp_path)


def lm_source(left=2, right=0):
    return CAUSAL_LM.replace("LEFT", str(left)).replace("RIGHT", str(right))


def test_build_fingerprints_a_language_model_with_token_probes(tmp_path):
    metrics = stage(tmp_path, "build", lm_source(), LM)["metrics"]
    assert metrics["params"] == 64 * 8 + (8 * 8 * 3 + 8) + (8 * 64 + 64)
    assert metrics["flops"] > 0 and len(metrics["probe_hash"]) == 16
    assert stage(tmp_path, "build", lm_source(), LM)["metrics"]["probe_hash"] == metrics["probe_hash"]


def test_build_rejects_a_language_model_that_reads_the_future(tmp_path):
    with pytest.raises(CandidateBuildError, match="not causal"):
        stage(tmp_path, "build", lm_source(left=1, right=1), LM)


def test_train_a_language_model_and_score_bits_per_byte_on_the_host(tmp_path):
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 64, 2000).astype(np.uint8)
    val, test = (rng.integers(0, 64, (5, 17)).astype(np.uint8) for _ in range(2))
    np.savez(tmp_path / "data.npz", x_train=stream, y_train=np.zeros(0, np.int64), x_val=val, x_test=test)
    out = stage(tmp_path, "train", lm_source(), LM, steps=6, batch_size=4, lr=1e-2, data="data.npz")
    assert out["metrics"]["steps"] == 6 and len(out["metrics"]["curve"]) == 6
    assert len(out["outputs"]["val_nll"]) == 5 and len(out["outputs"]["test_pred"]) == 5 * 16
    data = TaskData(stream, np.zeros(0, np.int64), val, val[:, 1:].astype(np.int64), test,
                    test[:, 1:].astype(np.int64))
    scores = BYTES_LM.score(data, out["outputs"])
    assert 5.5 < scores["val_bpb"] < 7.0  # near log2(64) = 6 bits: random bytes cannot be predicted


def test_cost_of_a_language_model_at_two_lengths(tmp_path):
    metrics = stage(tmp_path, "cost", lm_source(), LM, lengths=[16, 64])["metrics"]
    assert metrics["latency_ms_b1"] > 0 and metrics["latency_batch"] == 4
    assert metrics["peak_train_mb"] > metrics["params"] * 4 / cost.MB
    assert set(metrics["sequence"]) == {"16", "64"}
    assert metrics["sequence"]["64"]["batch"] == cost.LM_TOKENS_PER_BATCH // 64
    assert all(v["tokens_per_s"] > 0 and v["peak_train_mb"] > 0 for v in metrics["sequence"].values())


def test_screen_reads_the_training_data(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 1, 12)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x_train=x, y_train=np.arange(40) % 3, x_val=x[:5], x_test=x[:5])
    metrics = stage(tmp_path, "screen", CLASSIFIER, CLASSIFY, data="data.npz", proxy_batch=8,
                    proxies=["synflow", "nwot", "snip"])["metrics"]
    assert metrics["proxy_data"] == "train" and metrics["proxy_batch"] == 8 and metrics["proxy_seed"] == 0
    assert set(metrics["proxies"]) == {"synflow", "nwot", "snip"}
    assert all(math.isfinite(v) for v in metrics["proxies"].values())
    assert metrics["params"] == 4 * 1 * 3 + 4 + 4 * 12 * 3 + 3 and metrics["flops"] > 0
    assert metrics["structure"]["depth"] == 2 and metrics["structure"]["connected"] == 1
    assert metrics["structure"]["op:Conv1d(k3)"] == 1 and metrics["structure"]["op:ReLU"] == 1
    synthetic = stage(tmp_path, "proxies", CLASSIFIER, CLASSIFY, proxy_batch=8, proxies=["snip"])["metrics"]
    assert synthetic["proxy_data"] == "synthetic"
