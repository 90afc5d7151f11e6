"""A user's classification task: a checked TaskCard becomes a Task like the built-in ones.

The data is read on the host, labels mapped to 0..K-1 (the mapping is kept), the splits the files do not give are
drawn stratified from train with the card's seed, and inputs are standardised per channel with training
statistics only. A candidate sees the task's shapes and the candidate view of the data (no validation or test
labels), exactly as for a built-in task; scores are computed here with scikit-learn's metrics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archlab.errors import ConfigError
from archlab.evaluator.references import for_layout
from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks.base import Task, TaskData
from archlab.evaluator.tasks.card import MINIMIZED, PROBABILISTIC, TaskCard, read_source

MIN_PER_CLASS = 2  # in every split: a class the validation split lacks cannot be selected for
# How prepare() shapes data, part of a task's version: 2 gives feature vectors as (F,), 1 gave them as (1, F).
PREPARED = 2


@dataclass(frozen=True)
class Prepared:
    """A card's data, checked and split, with what a person reads back (`archlab task show`)."""

    data: TaskData
    input_shape: tuple[int, ...]
    classes: list[str]  # label as written in the files, by class index
    given: list[str]  # splits the files gave; the others were drawn from train
    layout: str  # features (F,) | sequence (C, L) | image (C, H, W) | other


def prepare(card: TaskCard) -> Prepared:
    """Read, map, split and standardise; ConfigError names the file or split at fault."""
    raw = {split: read_source(src) for split, src in card.data.items()}
    classes = sorted({str(v) for v in raw["train"][1]}, key=_natural)
    index = {name: i for i, name in enumerate(classes)}
    if len(classes) < 2:
        raise ConfigError(f"{card.data['train'].path}: one class only ({classes[0]!r}); a classifier needs two")
    xs, ys = {}, {}
    for split, (x, y) in raw.items():
        unseen = sorted({str(v) for v in y} - set(index), key=_natural)
        if unseen:
            raise ConfigError(f"{card.data[split].path}: class {unseen[0]!r} is in {split} but never in train")
        xs[split], ys[split] = _shaped(x, card, split), np.asarray([index[str(v)] for v in y], dtype=np.int64)
    shapes = {split: x.shape[1:] for split, x in xs.items()}
    if len(set(shapes.values())) > 1:
        raise ConfigError("the splits' inputs differ in shape: " + ", ".join(f"{s} {v}" for s, v in shapes.items()))
    xs, ys = _drawn(xs, ys, card)
    for split in ("train", "val", "test"):
        counts = np.bincount(ys[split], minlength=len(classes))
        if counts.min() < MIN_PER_CLASS:
            empty = classes[int(np.argmin(counts))]
            raise ConfigError(f"split {split} has {counts.min()} example(s) of class {empty!r}; every split needs "
                              f"{MIN_PER_CLASS} of each class (give more data or larger split fractions)")
    xs = _standardised(xs)
    data = TaskData(x_train=xs["train"], y_train=ys["train"], x_val=xs["val"], y_val=ys["val"],
                    x_test=xs["test"], y_test=ys["test"])
    return Prepared(data=data, input_shape=tuple(xs["train"].shape[1:]), classes=classes, given=sorted(raw),
                    layout=layout_of(raw["train"][0], card))


def layout_of(x: np.ndarray, card: TaskCard) -> str:
    """What the rows are: feature vectors (F,), sequences (C, L), images (C, H, W)."""
    dims = len(card.input_shape) if card.input_shape is not None else x.ndim - 1
    return {1: "features", 2: "sequence", 3: "image"}.get(dims, "other")


def _natural(label: str) -> tuple:
    return (0, float(label), label) if _is_number(label) else (1, 0.0, label)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shaped(x: np.ndarray, card: TaskCard, split: str) -> np.ndarray:
    """Rows reshaped to the card's input_shape (a feature vector stays (F,); `input_shape: [1, F]` makes it a
    one-channel sequence)."""
    if card.input_shape is not None:
        if int(np.prod(card.input_shape)) != int(np.prod(x.shape[1:])):
            raise ConfigError(f"{card.data[split].path}: rows of {int(np.prod(x.shape[1:]))} values cannot be "
                              f"shaped {tuple(card.input_shape)}")
        return np.ascontiguousarray(x.reshape(len(x), *card.input_shape))
    return np.ascontiguousarray(x)


def _drawn(xs: dict, ys: dict, card: TaskCard) -> tuple[dict, dict]:
    """The validation and test splits the files do not give, drawn stratified from train (seeded)."""
    from sklearn.model_selection import train_test_split

    total = len(ys["train"])  # both fractions are of the train file as given
    for split, fraction in (("test", card.split.test), ("val", card.split.val)):
        if split in xs:
            continue
        try:
            keep, held = train_test_split(np.arange(len(ys["train"])), test_size=max(1, round(fraction * total)),
                                          random_state=card.split.seed, stratify=ys["train"])
        except ValueError as exc:
            raise ConfigError(f"cannot draw a stratified {split} split from train: {exc}") from None
        xs[split], ys[split] = xs["train"][held], ys["train"][held]
        xs["train"], ys["train"] = xs["train"][keep], ys["train"][keep]
    return xs, ys


def _standardised(xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Zero mean, unit variance per channel, from the training split's statistics alone."""
    train = xs["train"]
    axes = tuple(i for i in range(train.ndim) if i != 1)
    mean = train.mean(axis=axes, keepdims=True)
    std = train.std(axis=axes, keepdims=True)
    std = np.where(std > 0, std, 1.0)
    return {split: ((x - mean) / std).astype(np.float32) for split, x in xs.items()}


@dataclass(frozen=True)
class UserTask(Task):
    """A task from a card. `version` is the hash of the card and of every data file it reads."""

    card: dict[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The card's name with its data version: evaluations and concepts of changed data never mix."""
        return f"{self.spec.name}@{self.version[:10]}"

    @property
    def metric(self) -> str:
        """The card's selecting metric (accuracy unless it names another)."""
        return self.card.get("metric", "accuracy")

    @property
    def objective(self) -> str:
        return "val_acc" if self.metric == "accuracy" else f"val_{self.metric}"

    @property
    def minimize(self) -> bool:
        return self.metric in MINIMIZED

    @property
    def chance(self) -> float:
        """score_of a uniform guess: about 1/K for accuracy, balanced accuracy and macro-F1, 0.5 AUROC, -log K
        log-loss, so the cascade's hopeless test stays meaningful."""
        k = self.spec.num_outputs
        return {"auroc": 0.5, "log_loss": -float(np.log(k))}.get(self.metric, 1.0 / k)

    @property
    def metrics(self) -> list[str]:
        """What score() computes beside accuracy, on validation and test: the selecting metric and the card's
        report metrics."""
        wanted = [self.metric, *self.card.get("report_metrics", [])]
        return [m for i, m in enumerate(wanted) if m != "accuracy" and m not in wanted[:i]]

    def train_params(self, data: TaskData) -> dict[str, Any]:
        recipe = self.card.get("recipe", {})
        params = {k: recipe[k] for k in ("optimizer", "schedule", "weight_decay", "label_smoothing") if k in recipe}
        if recipe.get("lr") is not None:
            params["lr"] = recipe["lr"]
        if recipe.get("early_stopping"):
            params["checks"] = recipe["early_stopping"]
        if set(self.metrics) & set(PROBABILISTIC):
            params["probabilities"] = True  # the job returns class probabilities beside its predictions
        if recipe.get("class_weights") == "balanced":
            from sklearn.utils.class_weight import compute_class_weight

            classes = np.arange(self.spec.num_outputs)
            params["class_weights"] = compute_class_weight("balanced", classes=classes, y=data.y_train).tolist()
        return params

    def score(self, data: TaskData, outputs: dict) -> dict[str, float]:
        best_step = None
        if self.card.get("recipe", {}).get("early_stopping"):
            outputs, best_step = best_check(outputs, data.y_val, self.card["recipe"]["early_stopping"],
                                            self._val_key(data.y_val))
        scores = super().score(data, outputs)
        if best_step is not None:
            scores["best_step"] = best_step
        return {**scores, **self._metrics(data, outputs)}

    def _metrics(self, data: TaskData, outputs: dict) -> dict[str, float]:
        scores, metrics = {}, self.metrics
        for split, labels in (("val", data.y_val), ("test", data.y_test)):
            probs = (probabilities(outputs.get(f"{split}_prob"), len(labels), self.spec.num_outputs)
                     if set(metrics) & set(PROBABILISTIC) else None)
            for metric in metrics:
                scores[f"{split}_{metric}"] = _metric(metric, labels, outputs[f"{split}_pred"], probs)
        return scores

    def _val_key(self, y_val: np.ndarray):
        """A check's validation predictions (and probabilities) -> the selecting metric, higher is better."""
        metric, sign, k = self.metric, -1.0 if self.minimize else 1.0, self.spec.num_outputs

        def key(pred: list, prob: list | None) -> float:
            probs = probabilities(prob, len(y_val), k) if metric in PROBABILISTIC else None
            return sign * _metric(metric, y_val, pred, probs)
        return key


def best_check(outputs: dict, y_val: np.ndarray, checks: int, key=None) -> tuple[dict, int]:
    """Early stopping, on the host: the check whose validation predictions score best by `key(pred, prob)`
    (higher is better; default accuracy; the earliest among equals) becomes the job's predictions. ValueError
    when the checks are not what the recipe asked."""
    steps, at = outputs.get("check_steps"), {k.removesuffix("_at"): v for k, v in outputs.items() if k.endswith("_at")}
    if not isinstance(steps, list) or not steps or len(steps) > checks or "val_pred" not in at or "test_pred" not in at:
        raise ValueError(f"early stopping needs up to {checks} checks with val and test predictions")
    if any(not isinstance(v, list) or len(v) != len(steps) for v in at.values()) or steps != sorted(set(steps)):
        raise ValueError("early stopping's checks disagree in number or are not in step order")
    if any(len(pred) != len(y_val) for pred in at["val_pred"]):
        raise ValueError(f"every check needs {len(y_val)} validation predictions")
    if key is None:
        def key(pred, _prob):
            return float(np.mean(np.asarray(pred) == y_val))
    probs = at.get("val_prob", [None] * len(steps))
    best = int(np.argmax([key(pred, prob) for pred, prob in zip(at["val_pred"], probs, strict=True)]))
    return {**outputs, **{key: values[best] for key, values in at.items()}}, int(steps[best])


def probabilities(rows: list | None, n: int, classes: int) -> np.ndarray:
    """A job's class probabilities, checked: n rows of `classes` finite values in [0, 1], each summing to 1 within
    rounding (then renormalised); ValueError otherwise, so a job cannot feed the metrics anything else."""
    if rows is None:
        raise ValueError("the job returned no class probabilities")
    try:
        probs = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("class probabilities are not a table of numbers") from None
    if probs.shape != (n, classes):
        raise ValueError(f"expected class probabilities shaped ({n}, {classes}), got {probs.shape}")
    if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ValueError("class probabilities must be finite and within [0, 1]")
    sums = probs.sum(axis=1)
    worst = sums[np.argmax(np.abs(sums - 1))]
    if abs(worst - 1) > 1e-3:
        raise ValueError(f"class probabilities must sum to 1 per row (one sums to {worst:.4f})")
    return probs / sums[:, None]


def _metric(name: str, labels: np.ndarray, pred: list[int], probs: np.ndarray | None = None) -> float:
    """A report metric by scikit-learn; AUROC is one-vs-rest, macro-averaged, for more than two classes."""
    from sklearn import metrics

    pred = np.asarray(pred)
    if name == "accuracy":
        return float(metrics.accuracy_score(labels, pred))
    if name == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(labels, pred))
    if name == "macro_f1":
        return float(metrics.f1_score(labels, pred, average="macro", zero_division=0))
    assert probs is not None
    classes = np.arange(probs.shape[1])
    if name == "log_loss":
        return float(metrics.log_loss(labels, probs, labels=classes))
    if name == "auroc":
        if probs.shape[1] == 2:
            return float(metrics.roc_auc_score(labels, probs[:, 1]))
        return float(metrics.roc_auc_score(labels, probs, multi_class="ovr", average="macro", labels=classes))
    raise ValueError(f"unknown metric {name!r}")


def user_task(card: TaskCard, *, input_shape: tuple[int, ...], classes: list[str], data_hash: str, train_size: int,
              layout: str = "sequence", description: str = "") -> UserTask:
    """The Task of a checked card. Its data is prepared from the files when a run first asks for it."""
    spec = TaskSpec(name=card.name, input_shape=tuple(input_shape), num_outputs=len(classes),
                    max_params=card.max_params, default_steps=card.recipe.full_steps(train_size),
                    batch_size=card.recipe.batch_size)
    card_json = card.model_dump(mode="json")
    version = hashlib.sha256(json.dumps([card_json, data_hash, PREPARED], sort_keys=True).encode()).hexdigest()
    return UserTask(spec=spec, generate=lambda: prepare(card).data, version=version,
                    description=description or card.description, card=card_json, classes=tuple(classes),
                    references=for_layout(layout))
