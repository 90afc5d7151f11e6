"""The host's integrity check of train results: honest ones pass, impossible ones are named."""

from __future__ import annotations

import math

from archlab.sandbox.integrity import CEILINGS, suspected_leakage

STEPS = 200
HONEST = {"train_loss": 0.05, "curve": [[10, 2.1], [100, 0.4], [200, 0.05]], "steps": STEPS,
          "train_seconds": 3.0, "stage_seconds": 3.5, "device": "cpu"}
SCORES = {"val_acc": 0.93, "test_acc": 0.92}


def check(metrics=None, scores=None, steps=STEPS, task="mnist1d"):
    return suspected_leakage(task, steps, HONEST if metrics is None else metrics, SCORES if scores is None else scores)


def test_an_honest_result_passes() -> None:
    assert check() is None


def test_accuracies_reported_by_the_job_are_tampering() -> None:
    assert "only the host computes" in check({**HONEST, "test_acc": 1.0})


def test_any_score_the_host_computes_is_the_hosts() -> None:
    assert "only the host computes" in check({**HONEST, "val_bpb": 0.1}, scores={"val_bpb": 2.0})


def test_a_zero_loss_from_the_start_is_rejected() -> None:
    patched = {**HONEST, "train_loss": 0.0, "curve": [[10, 0.0], [100, 0.0], [200, 0.0]]}
    assert "far below where a fresh model starts" in check(patched)


def test_a_late_tiny_loss_is_honest() -> None:
    assert check({**HONEST, "train_loss": 1e-6, "curve": [[10, 2.0], [200, 1e-6]]}) is None


def test_impossible_losses() -> None:
    assert "impossible" in check({**HONEST, "train_loss": -0.1, "curve": [[10, 2.0], [200, -0.1]]})
    assert "impossible" in check({**HONEST, "train_loss": math.nan, "curve": [[10, 2.0], [200, math.nan]]})


def test_curve_must_be_the_harness() -> None:
    assert "steps" in check({**HONEST, "steps": 10})
    assert "last point" in check({**HONEST, "train_loss": 0.3})
    assert "malformed" in check({**HONEST, "curve": "flat"})
    assert "out of order" in check({**HONEST, "curve": [[200, 2.0], [10, 0.05]], "train_loss": 0.05})


def test_accuracy_above_the_ceiling_for_the_fidelity() -> None:
    assert "above what mnist1d allows" in check(scores={"val_acc": 0.93, "test_acc": 1.0})
    low = CEILINGS["mnist1d"].at(10)
    assert "at 10 steps" in check({**HONEST, "steps": 10, "curve": [[10, 2.0]], "train_loss": 2.0},
                                  scores={"val_acc": low + 0.05, "test_acc": 0.2}, steps=10)


def test_unknown_task_has_no_ceiling() -> None:
    assert check(scores={"val_acc": 1.0, "test_acc": 1.0}, task="elsewhere") is None
