"""`archlab task ...`: add a task card (your own data), list and show the tasks a run can search on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from archlab.errors import ArchlabError, ConfigError
from archlab.evaluator.references import for_layout
from archlab.evaluator.tasks import TASKS
from archlab.run.settings import Environment
from archlab.run.tasks import StoredTask, add_python_task, add_task, read_card, stored_task, stored_tasks
from archlab.run.workspace import Workspace

task_app = typer.Typer(help="Tasks: add your own (a YAML task card), list and show them.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _workspace() -> Workspace:
    return Workspace.from_env(Environment())


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


@task_app.command("add")
def add(
    card: Annotated[Path | None, typer.Argument(help="The task card (YAML): name, data files, split, metric, "
                                                     "recipe.")] = None,
    python: Annotated[Path | None, typer.Option("--from", help="A Python task instead: a file whose load() returns "
                                                "x_train, y_train, ... and whose CARD dict holds the card's other "
                                                "fields.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a stored task of the same name.")] = False,
) -> None:
    """Check a task card (or a Python task) against its data and store it; prints shapes, classes, split sizes."""
    if (card is None) == (python is None):
        raise _fail("give a task card (archlab task add CARD) or a Python task (archlab task add --from FILE)")
    try:
        ws = _workspace()
        stored = add_python_task(ws, python, replace=replace) if python else add_task(ws, read_card(card),
                                                                                       replace=replace)
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    _describe(stored)
    out.print(f"stored. Search it: archlab run --task {stored.name} --budget 30m", highlight=False)


@task_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False) -> None:
    """Built-in tasks and the tasks stored in this workspace."""
    rows = [{"name": name, "origin": "built-in", "description": task.description}
            for name, task in sorted(TASKS.items())]
    rows += [{"name": s.name, "origin": "stored", "description": _summary(s), "hashes": s.record["hashes"]}
             for s in stored_tasks(_workspace())]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("task", "origin", "description")
    for row in rows:
        table.add_row(row["name"], row["origin"], row["description"])
    out.print(table)


@task_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A stored or built-in task.")],
    as_json: Annotated[bool, typer.Option("--json", help="The stored record, machine-readable.")] = False,
) -> None:
    """A task's card, data files with their sha256, shapes, classes and split sizes."""
    stored = stored_task(_workspace(), name)
    if stored is None:
        if name in TASKS:
            task = TASKS[name]
            out.print(f"{name} (built-in): {task.description}; inputs {task.spec.input_shape}, "
                      f"{task.spec.num_outputs} outputs", highlight=False)
            return
        raise _fail(f"no task {name!r}; `archlab task list` shows them")
    if as_json:
        out.print_json(json.dumps(stored.record))
        return
    _describe(stored)


def _summary(stored: StoredTask) -> str:
    r = stored.record
    sizes = r["sizes"]
    return (f"{len(r['classes'])} classes, inputs {tuple(r['input_shape'])}, {sizes['train']} / {sizes['val']} / "
            f"{sizes['test']} train / val / test")


def _describe(stored: StoredTask) -> None:
    r, card = stored.record, stored.card
    out.print(f"task {stored.name}: {_summary(stored)}", highlight=False)
    drawn = [s for s in ("val", "test") if s not in r["given_splits"]]
    if drawn:
        out.print(f"  {' and '.join(drawn)} drawn from train: stratified, seed {card.split.seed}", highlight=False)
    out.print(f"  classes: {', '.join(f'{i}={c}' for i, c in enumerate(r['classes']))}", highlight=False)
    for split, counts in r["class_counts"].items():
        out.print(f"  {split} per class: {counts}", highlight=False)
    for file, digest in r["hashes"].items():
        out.print(f"  data {file}  sha256 {digest[:16]}", highlight=False)
    out.print(f"  selected on validation {card.metric}; also reported: {', '.join(card.report_metrics) or 'none'}; "
              f"inputs standardised per channel with training statistics", highlight=False)
    out.print(f"  recipe: {card.recipe.describe(r['sizes']['train'])}; at most {card.max_params:,} parameters",
              highlight=False)
    out.print(f"  searched by: {_space(r['input_shape'])}", highlight=False)
    refs = for_layout(r.get("layout", "sequence"))
    plan = (f"{', '.join(refs)}, trained after each search with this recipe at the best candidate's fidelity and "
            "seeds" if refs else "none for these inputs yet")
    out.print(f"  reference models: {plan}", highlight=False)


def _space(shape: list[int]) -> str:
    """The space `space: auto` picks for these inputs, or why none does."""
    from archlab.run.space_choice import describe, space_for_shape

    try:
        return f"{describe(space_for_shape(tuple(shape)))} with `space: auto`, the default"
    except ConfigError:
        return f"none of the built-in spaces (inputs {tuple(shape)}); give input_shape or a grammar of your own"
