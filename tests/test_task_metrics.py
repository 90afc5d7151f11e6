"""Report metrics that need class probabilities (AUROC, log-loss): the train job returns them only when the card
asks, the host checks them before scikit-learn scores them, and a job that returns anything else is refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics
from test_user_tasks import card, signals

from archlab.evaluator.stages import run_stage
from archlab.evaluator.tasks.user import _metric, prepare, probabilities, user_task

MODEL = """
import math
from torch import nn

def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(task.input_shape), task.num_outputs))
"""


def _task(tmp_path, metrics_line: str):
    x, y = signals(240)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    c = card(tmp_path, f"name: sig\ndata: {{train: {{path: train.npz}}}}\n{metrics_line}recipe: {{steps: 30}}\n")
    prepared = prepare(c)
    task = user_task(c, input_shape=prepared.input_shape, classes=prepared.classes, data_hash="h",
                     train_size=len(prepared.data.y_train))
    return task, prepared.data


def _train(tmp_path, task, data) -> dict:
    np.savez(tmp_path / "data.npz", **data.candidate_view())
    (tmp_path / "candidate.py").write_text(MODEL)
    params = {"steps": 30, "batch_size": 32, "seed": 0, "device": "cpu", "data": "data.npz",
              **task.train_params(data)}
    return run_stage("train", tmp_path / "candidate.py", task.spec.model_dump(), params, tmp_path)["outputs"]


def test_auroc_and_log_loss_from_the_probabilities_the_job_returns(tmp_path):
    task, data = _task(tmp_path, "report_metrics: [auroc, log_loss, macro_f1]\n")
    assert task.train_params(data)["probabilities"] is True
    outputs = _train(tmp_path, task, data)
    probs = np.asarray(outputs["test_prob"])
    assert probs.shape == (len(data.y_test), 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == np.asarray(outputs["test_pred"])).mean() > 0.99  # the same model's outputs
    probs = probs / probs.sum(axis=1, keepdims=True)  # as the host renormalises the 6-decimal rounding
    scores = task.score(data, outputs)
    assert scores["test_auroc"] == pytest.approx(metrics.roc_auc_score(data.y_test, probs, multi_class="ovr"))
    assert scores["test_log_loss"] == pytest.approx(metrics.log_loss(data.y_test, probs), rel=1e-5)
    assert 0.5 < scores["val_auroc"] <= 1 and scores["val_log_loss"] > 0 and "val_macro_f1" in scores


def test_without_a_probabilistic_metric_the_job_returns_no_probabilities(tmp_path):
    task, data = _task(tmp_path, "report_metrics: [balanced_accuracy]\n")
    assert "probabilities" not in task.train_params(data)
    assert "test_prob" not in _train(tmp_path, task, data)


@pytest.mark.parametrize(("rows", "message"), [
    (None, "returned no class probabilities"),
    ([[0.5, 0.5]] * 4, r"shaped \(4, 3\), got \(4, 2\)"),
    ([[0.2, 0.3, 0.5]] * 3 + [["a", 0, 1]], "not a table of numbers"),
    ([[0.2, 0.3, 0.5]] * 3 + [[float("nan"), 0.5, 0.5]], "finite and within"),
    ([[0.2, 0.3, 0.5]] * 3 + [[1.5, -0.5, 0.0]], "finite and within"),
    ([[0.9, 0.9, 0.9]] * 4, "sum to 1 per row"),  # a job claiming certainty of every class
])
def test_bad_probabilities_are_refused(rows, message):
    with pytest.raises(ValueError, match=message):
        probabilities(rows, 4, 3)


def test_binary_auroc_uses_the_positive_class_and_bad_probabilities_fail_the_job(tmp_path):
    labels, probs = np.array([0, 0, 1, 1]), np.array([[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8]])
    assert _metric("auroc", labels, [0, 1, 1, 1], probs) == pytest.approx(1.0)
    assert _metric("log_loss", labels, [0, 1, 1, 1], probs) == pytest.approx(metrics.log_loss(labels, probs))
    task, data = _task(tmp_path, "report_metrics: [auroc]\n")
    outputs = _train(tmp_path, task, data)
    with pytest.raises(ValueError, match="sum to 1"):
        task.score(data, {**outputs, "val_prob": [[1.0, 1.0, 1.0]] * len(data.y_val)})
