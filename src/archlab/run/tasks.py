"""The workspace's tasks: the built-in ones and the cards a person added (`archlab task add`, `archlab.Task`).

A card is checked in full before anything is written (its data read, mapped, split), then kept as
`<workspace>/tasks/<name>.json`: the card with absolute paths, the sha256 of every file it reads, the shapes,
classes and split sizes. A run finds a stored task by name; one whose files changed since is refused, with the
command that adds it again. The user's files stay where they are: nothing is copied.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from archlab.errors import ConfigError
from archlab.evaluator.tasks import TASKS, Task, get_task
from archlab.evaluator.tasks.card import TaskCard, file_hash, source_files
from archlab.evaluator.tasks.user import PREPARED, UserTask, prepare, user_task
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


def add_task(ws: Workspace, card: TaskCard, *, replace: bool = False, also_hash: tuple[Path, ...] = (),
             added_with: str = "archlab task add CARD --replace") -> StoredTask:
    """Check the card against its data and store it; nothing is written when anything is wrong. `also_hash`:
    more files the task depends on (a Python task's loader); `added_with`: the command that adds it again."""
    if card.name in TASKS:
        raise ConfigError(f"task {card.name!r} is built in; give the card another name")
    if _path(ws, card.name).exists() and not replace:
        raise ConfigError(f"task {card.name!r} is already stored; `archlab task add CARD --replace` replaces it")
    prepared = prepare(card)
    hashes = {str(p): file_hash(p) for p in (*source_files(card), *also_hash)}
    data = prepared.data
    record = {"card": card.model_dump(mode="json"), "hashes": hashes, "added_with": added_with,
              "input_shape": list(prepared.input_shape), "prepared": PREPARED,
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
    again = stored.record.get("added_with", "archlab task add CARD --replace")
    if stored.record.get("prepared", 1) != PREPARED:
        raise ConfigError(f"task {stored.name!r} was added by an earlier archlab, which shaped its data otherwise "
                          f"(feature vectors as (1, F)); add it again: {again}")
    for file, digest in stored.record["hashes"].items():
        path = Path(file)
        if not path.is_file() or file_hash(path) != digest:
            what = "is gone" if not path.is_file() else "changed"
            raise ConfigError(f"task {stored.name!r}: {file} {what} since the task was added; check the data and "
                              f"add it again: {again}")
    sizes = stored.record["sizes"]
    description = (f"your task: {len(stored.record['classes'])} classes, inputs {tuple(stored.record['input_shape'])}"
                   f", {sizes['train']} / {sizes['val']} / {sizes['test']} train / val / test")
    data_hash = "".join(sorted(stored.record["hashes"].values()))
    return user_task(stored.card, input_shape=tuple(stored.record["input_shape"]), classes=stored.record["classes"],
                     data_hash=data_hash, train_size=sizes["train"],
                     layout=stored.record.get("layout", "sequence"), description=description)


def add_arrays(ws: Workspace, name: str, arrays: dict[str, tuple[Any, Any]], fields: dict[str, Any], *,
               also_hash: tuple[Path, ...] = (), added_with: str = "archlab.Task.from_arrays(...) again") -> StoredTask:
    """Arrays (split -> (x, y)) written once into the workspace (`tasks/<name>.data/`, so runs, resumes and
    reproductions read the same files), then checked and stored like a card with `fields` (metric, recipe, ...).
    ConfigError on bad input, and then nothing is written."""
    for split, (x, y) in arrays.items():
        if x is None or y is None:
            raise ConfigError(f"{split}: give both x_{split} and y_{split}, or neither")
    if "train" not in arrays:
        raise ConfigError("give the training split: x_train and y_train")
    final = ws.root / "tasks" / f"{name}.data"
    tmp = final.with_suffix(".data.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for split, (x, y) in arrays.items():
            np.savez(tmp / f"{split}.npz", x=np.asarray(x), y=np.asarray(y))
        card = TaskCard.model_validate({**fields, "name": name, "data": {s: {"path": f"{s}.npz"} for s in arrays}})
        prepare(card.resolved(tmp))  # every check before anything is kept
    except ValidationError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(describe_validation(exc, Path(name))) from None
    except (ConfigError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(str(exc)) from None
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return add_task(ws, card.resolved(final), replace=True, also_hash=also_hash, added_with=added_with)


SPLITS = {f"{kind}_{split}": (split, kind) for split in ("train", "val", "test") for kind in ("x", "y")}


def add_python_task(ws: Workspace, path: Path, *, replace: bool = False) -> StoredTask:
    """A task from a Python file: `load()` returns x_train, y_train (and x_val, y_val, x_test, y_test) as a
    dict of arrays; an optional `CARD` dict holds the card's other fields (name, input_shape, split, metric,
    recipe, max_params, ...). The file runs here, on the host, as the user's own code; its output is stored
    like `archlab.Task.from_arrays`, and a changed file is refused like changed data."""
    path = path.resolve()
    module = _load_module(path)
    fields = getattr(module, "CARD", {})
    if not isinstance(fields, dict):
        raise ConfigError(f"{path}: CARD must be a dict of task-card fields, not {type(fields).__name__}")
    load = getattr(module, "load", None)
    if not callable(load):
        raise ConfigError(f"{path}: define load() returning a dict with x_train, y_train (x_val, y_val, x_test, "
                          "y_test optional)")
    data = _called(path, load)
    if not isinstance(data, dict) or set(data) - set(SPLITS):
        extra = sorted(set(data) - set(SPLITS)) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"{path}: load() must return a dict of {', '.join(SPLITS)}; got {extra}")
    arrays: dict[str, list] = {}
    for key, value in data.items():
        split, kind = SPLITS[key]
        arrays.setdefault(split, [None, None])[0 if kind == "x" else 1] = value
    name = fields.get("name") or path.stem.lower().replace(" ", "-")
    if stored_task(ws, name) is not None and not replace:
        raise ConfigError(f"task {name!r} is already stored; `archlab task add --from {path.name} --replace` "
                          "replaces it")
    return add_arrays(ws, name, {s: tuple(pair) for s, pair in arrays.items()},
                      {k: v for k, v in fields.items() if k != "name"}, also_hash=(path,),
                      added_with=f"archlab task add --from {path} --replace")


def _load_module(path: Path):
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"archlab_user_task_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    _called(path, lambda: spec.loader.exec_module(module), what="importing it")
    return module


def _called(path: Path, fn, what: str = "load()"):
    """fn(), its exception as one ConfigError naming the file and the line of it that raised."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 (the user's code: any exception is theirs to read)
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        where = f", line {lines[-1]}" if lines else ""
        raise ConfigError(f"{path}{where}: {what} raised {type(exc).__name__}: {exc}") from None


def _path(ws: Workspace, name: str) -> Path:
    return ws.root / "tasks" / f"{name}.json"
