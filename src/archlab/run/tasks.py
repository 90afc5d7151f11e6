"""The workspace's tasks: the built-in ones and the cards a person added (`archlab task add`, `archlab.Task`).

A card is checked in full before anything is written (its data read, mapped, split), then kept as
`<workspace>/tasks/<name>.json`: the card with absolute paths, the sha256 of every file it reads, the shapes,
classes and split sizes. A run finds a stored task by name; one whose files changed since is refused, with the
command that adds it again. The user's files stay where they are: nothing is copied.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from archlab.errors import ConfigError
from archlab.evaluator.tasks import TASKS, Task, get_task
from archlab.evaluator.tasks.card import TaskCard, file_hash, source_files
from archlab.evaluator.tasks.user import UserTask, prepare, user_task
from archlab.run.settings import describe_validation
from archlab.run.workspace import Workspace


@dataclass(frozen=True)
class StoredTask:
    name: str
    record: dict[str, Any]  # what tasks/<name>.json holds

    @property
    def card(self) -> TaskCard:
        return TaskCard.model_validate(self.record["card"])


def read_card(path: Path) -> TaskCard:
    """A card from YAML, its paths resolved against the card's folder; ConfigError names the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping (name:, data:, ...)")
    try:
        return TaskCard.model_validate(data).resolved(path.parent)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, path)) from None


def add_task(ws: Workspace, card: TaskCard, *, replace: bool = False) -> StoredTask:
    """Check the card against its data and store it; nothing is written when anything is wrong."""
    if card.name in TASKS:
        raise ConfigError(f"task {card.name!r} is built in; give the card another name")
    if _path(ws, card.name).exists() and not replace:
        raise ConfigError(f"task {card.name!r} is already stored; `archlab task add CARD --replace` replaces it")
    prepared = prepare(card)
    hashes = {str(p): file_hash(p) for p in source_files(card)}
    data = prepared.data
    record = {"card": card.model_dump(mode="json"), "hashes": hashes, "input_shape": list(prepared.input_shape),
              "classes": prepared.classes, "given_splits": prepared.given, "layout": prepared.layout,
              "sizes": {"train": len(data.y_train), "val": len(data.y_val), "test": len(data.y_test)},
              "class_counts": {s: np.bincount(y, minlength=len(prepared.classes)).tolist()
                               for s, y in (("train", data.y_train), ("val", data.y_val), ("test", data.y_test))}}
    path = _path(ws, card.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a half-written card is never read
    return StoredTask(card.name, record)


def stored_tasks(ws: Workspace) -> list[StoredTask]:
    folder = ws.root / "tasks"
    return [StoredTask(p.stem, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))] \
        if folder.is_dir() else []


def stored_task(ws: Workspace, name: str) -> StoredTask | None:
    path = _path(ws, name)
    return StoredTask(name, json.loads(path.read_text())) if path.is_file() else None


def resolve_task(ws: Workspace, name: str, data_dir: Path | None = None) -> Task:
    """A built-in task, or a stored one whose data files are unchanged; ConfigError otherwise."""
    if name in TASKS:
        return get_task(name, data_dir)
    stored = stored_task(ws, name)
    if stored is None:
        raise ConfigError(f"unknown task {name!r}; built-in tasks: {', '.join(sorted(TASKS))}; stored tasks: "
                          f"{', '.join(s.name for s in stored_tasks(ws)) or 'none'} (`archlab task add CARD`)")
    return load_user_task(stored)


def load_user_task(stored: StoredTask) -> UserTask:
    for file, digest in stored.record["hashes"].items():
        path = Path(file)
        if not path.is_file() or file_hash(path) != digest:
            what = "is gone" if not path.is_file() else "changed"
            raise ConfigError(f"task {stored.name!r}: {file} {what} since the task was added; check the data and "
                              f"add it again: archlab task add CARD --replace")
    sizes = stored.record["sizes"]
    description = (f"your task: {len(stored.record['classes'])} classes, inputs {tuple(stored.record['input_shape'])}"
                   f", {sizes['train']} / {sizes['val']} / {sizes['test']} train / val / test")
    data_hash = "".join(sorted(stored.record["hashes"].values()))
    return user_task(stored.card, input_shape=tuple(stored.record["input_shape"]), classes=stored.record["classes"],
                     data_hash=data_hash, train_size=sizes["train"],
                     layout=stored.record.get("layout", "sequence"), description=description)


def _path(ws: Workspace, name: str) -> Path:
    return ws.root / "tasks" / f"{name}.json"
