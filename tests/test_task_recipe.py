"""A task card's training recipe: the harness trains with its optimiser, schedule, label smoothing and class
weights; steps or epochs; bad fields are one clear error; the built-in tasks keep the harness' defaults."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from test_user_tasks import card, signals
from torch import nn

from archlab.errors import ConfigError
from archlab.evaluator.harness import TrainConfig, fit, optimizer, schedule, train
from archlab.evaluator.tasks import get_task
from archlab.evaluator.tasks.card import TaskCard
from archlab.evaluator.tasks.user import prepare, user_task


def test_params_without_a_recipe_are_the_harness_defaults_and_bad_ones_are_refused():
    cfg = TrainConfig.from_params({"steps": 10}, seed=3)
    assert cfg == TrainConfig(steps=10, batch_size=128, lr=1e-2, weight_decay=1e-4, seed=3)
    assert (cfg.optimizer, cfg.schedule, cfg.label_smoothing, cfg.class_weights) == ("adamw", "onecycle", 0.0, None)
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        TrainConfig.from_params({"steps": 10, "optimizer": "adam"}, seed=0)
    assert get_task("digits").train_params(None) == {}  # a built-in task sends no recipe
    with pytest.raises(ValueError, match="checks must be 0..100"):
        TrainConfig.from_params({"steps": 10, "checks": 500}, seed=0)
    assert TrainConfig(steps=7, batch_size=1, checks=3).check_steps() == [2, 5, 7]
    assert TrainConfig(steps=2, batch_size=1, checks=5).check_steps() == [1, 2]  # never more checks than steps


@pytest.mark.parametrize(("name", "last"), [("cosine", 0.0), ("constant", 0.05)])
def test_schedules_run_over_the_jobs_steps(name, last):
    model = nn.Linear(4, 2)
    cfg = TrainConfig(steps=20, batch_size=4, lr=0.05, optimizer="sgd", schedule=name)
    opt = optimizer(model, cfg)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"]
    sched = schedule(opt, cfg)
    for _ in range(cfg.steps):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(last, abs=1e-9)


def test_label_smoothing_and_class_weights_reach_the_loss():
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    smooth = TrainConfig(steps=150, batch_size=64, lr=0.05, label_smoothing=0.9)
    model = nn.Linear(4, 3)
    loss = train(model, x, y, smooth).final_loss
    floor = -(0.4 * math.log(0.4) + 2 * 0.3 * math.log(0.3))  # entropy of the smoothed targets (0.4, 0.3, 0.3)
    assert loss >= floor - 1e-3
    # A class that weighs nothing is never learned: its logit only falls.
    weighted = TrainConfig(steps=100, batch_size=64, lr=0.05, class_weights=(1.0, 1.0, 0.0))
    model = nn.Linear(4, 3)
    fit(model, lambda: (x, y), weighted)
    assert (model(x).argmax(1) == 2).sum() == 0


def test_the_card_recipe_steps_or_epochs_and_class_weights(tmp_path):
    x, y = signals(300)
    y[:200] = 0  # class 0 dominates: balanced weights lift the others
    np.savez(tmp_path / "train.npz", x=x, y=y)
    head = "name: sig\ndata: {train: {path: train.npz}}\n"
    c = card(tmp_path, head + "recipe: {epochs: 2.5, batch_size: 32, optimizer: sgd, lr: 0.05, schedule: cosine, "
                              "label_smoothing: 0.1, class_weights: balanced}\n")
    prepared = prepare(c)
    n = len(prepared.data.y_train)
    task = user_task(c, input_shape=prepared.input_shape, classes=prepared.classes, data_hash="h", train_size=n)
    assert task.spec.default_steps == math.ceil(2.5 * n / 32) and task.spec.batch_size == 32
    params = task.train_params(prepared.data)
    counts = np.bincount(prepared.data.y_train)
    assert params["class_weights"] == pytest.approx((n / (3 * counts)).tolist())
    assert {k: params[k] for k in ("optimizer", "lr", "schedule", "label_smoothing")} == {
        "optimizer": "sgd", "lr": 0.05, "schedule": "cosine", "label_smoothing": 0.1}
    assert c.recipe.describe(n).startswith(f"{math.ceil(2.5 * n / 32)} steps (2.5 epochs), batch 32, sgd, lr 0.05, "
                                           "cosine schedule, weight decay 0.0001, label smoothing 0.1, balanced")
    assert "lr" not in user_task(card(tmp_path, head), input_shape=(3, 32), classes=["0", "1", "2"], data_hash="h",
                                 train_size=n).train_params(prepared.data)  # no lr in the card: the run's


@pytest.mark.parametrize(("recipe", "message"), [
    ("{steps: 100, epochs: 3}", "give steps or epochs, not both"),
    ("{optimizer: adam}", "recipe.optimizer"),
    ("{schedule: linear}", "recipe.schedule"),
    ("{label_smoothing: 1.0}", "recipe.label_smoothing"),
    ("{lr: 0}", "recipe.lr"),
    ("{momentum: 0.9}", "recipe.momentum"),
    ("{early_stopping: 101}", "recipe.early_stopping"),
    ("{early_stopping: -1}", "recipe.early_stopping"),
])
def test_a_bad_recipe_is_one_clear_error(tmp_path, recipe, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        card(tmp_path, f"name: sig\ndata: {{train: {{path: train.npz}}}}\nrecipe: {recipe}\n")


def test_early_stopping_keeps_the_check_with_the_best_validation_accuracy(tmp_path):
    from test_task_metrics import _task, _train

    from archlab.evaluator.tasks.user import best_check

    task, data = _task(tmp_path, "report_metrics: [auroc]\n")
    card = {**task.card, "recipe": {**task.card["recipe"], "early_stopping": 4}}
    task = dataclasses.replace(task, card=card)
    assert task.train_params(data)["checks"] == 4
    outputs = _train(tmp_path, task, data)
    assert outputs["check_steps"] == [8, 15, 22, 30] and len(outputs["test_prob_at"]) == 4
    assert outputs["val_pred"] == outputs["val_pred_at"][-1]  # the last check is the end of training
    scores = task.score(data, outputs)
    accuracy = [float(np.mean(np.asarray(p) == data.y_val)) for p in outputs["val_pred_at"]]
    best = accuracy.index(max(accuracy))
    assert scores["best_step"] == outputs["check_steps"][best] and scores["val_acc"] == max(accuracy)
    assert scores["test_acc"] == float(np.mean(np.asarray(outputs["test_pred_at"][best]) == data.y_test))
    assert "test_auroc" in scores  # from the chosen check's probabilities
    with pytest.raises(ValueError, match="up to 4 checks"):
        best_check({**outputs, "check_steps": [1, 2, 3, 4, 5]}, data.y_val, 4)
    with pytest.raises(ValueError, match="disagree in number"):
        best_check({**outputs, "test_pred_at": outputs["test_pred_at"][:2]}, data.y_val, 4)
    with pytest.raises(ValueError, match="validation predictions"):
        best_check({**outputs, "val_pred_at": [p[:-1] for p in outputs["val_pred_at"]]}, data.y_val, 4)
    assert "early stopping: the best of 4 checks" in TaskCard.model_validate(card).recipe.describe(100)


def test_a_card_selects_on_its_metric_early_stopping_included(tmp_path):
    """`metric: log_loss` (lower is better) is the task's objective; it is computed even when report_metrics
    omit it, and early stopping keeps the check with the lowest validation log-loss, not the most accurate."""
    from sklearn import metrics as sk
    from test_task_metrics import _task, _train

    from archlab.store.objective import of_task

    task, data = _task(tmp_path, "metric: log_loss\nreport_metrics: []\n")
    assert (task.objective, task.minimize) == ("val_log_loss", True)
    assert task.chance == pytest.approx(-math.log(3))  # score_of a uniform guess over 3 classes
    card = {**task.card, "recipe": {**task.card["recipe"], "early_stopping": 4}}
    task = dataclasses.replace(task, card=card)
    assert task.train_params(data)["probabilities"] is True
    outputs = _train(tmp_path, task, data)
    scores = task.score(data, outputs)
    losses = [sk.log_loss(data.y_val, np.asarray(p) / np.asarray(p).sum(axis=1, keepdims=True), labels=[0, 1, 2])
              for p in outputs["val_prob_at"]]
    best = int(np.argmin(losses))
    assert scores["best_step"] == outputs["check_steps"][best]
    assert scores["val_log_loss"] == pytest.approx(min(losses), rel=1e-6) and "test_log_loss" in scores
    objective = of_task(task)
    assert objective.key(scores) == -scores["val_log_loss"] and task.score_of(scores) == objective.key(scores)
    assert objective.label == "validation log-loss" and objective.direction == "lower is better"


def test_balanced_accuracy_is_the_objective_when_the_card_says_so(tmp_path):
    from test_task_metrics import _task

    task, _ = _task(tmp_path, "metric: balanced_accuracy\n")
    assert (task.objective, task.minimize, task.metrics) == ("val_balanced_accuracy", False,
                                                             ["balanced_accuracy", "macro_f1"])
    assert task.chance == pytest.approx(1 / 3)
