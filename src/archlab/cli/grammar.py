"""`archlab grammar ...`: check, add, list and show search-space grammars of the workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from archlab.agents.grammar_intake import DEFAULT_SAMPLES, GrammarCheck, accept_grammar, check_grammar, store_loader
from archlab.errors import ArchlabError, ConfigError
from archlab.evaluator.tasks import get_task
from archlab.run.settings import Environment, load_config
from archlab.run.workspace import Workspace
from archlab.sandbox.base import make_sandbox
from archlab.spaces import list_spaces
from archlab.spaces.space import builtin_grammar
from archlab.store import grammars as grammar_store

grammar_app = typer.Typer(help="Search-space grammars: check a new one, store it, list and show them.",
                          no_args_is_help=True)
console = Console(stderr=True)
out = Console()

FileArg = Annotated[Path, typer.Argument(help="The grammar text (see spaces/README.md).")]
CodeOpt = Annotated[Path | None, typer.Option("--code", help="Python file with the classes its terminals name.")]
TaskOpt = Annotated[str, typer.Option(help="Task whose shapes the sampled derivations are built for.")]
SamplesOpt = Annotated[int, typer.Option(help="Derivations sampled and built in the sandbox.")]
SandboxOpt = Annotated[str | None, typer.Option("--sandbox", help="Sandbox backend: process, docker or ray.")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _check(session: Session, file: Path, code: Path | None, task: str, samples: int,
           sandbox: str | None) -> GrammarCheck:
    cfg = load_config(None, {"task": task, "sandbox": {"backend": sandbox} if sandbox else None})
    box = make_sandbox(cfg.sandbox.backend, cfg.sandbox.docker, cfg.sandbox.ray)
    try:
        return check_grammar(_read(file), code=_read(code), task=get_task(task), sandbox=box,
                             loader=store_loader(session), samples=samples, limits=cfg.sandbox.limits)
    finally:
        close = getattr(box, "close", None)
        if close:
            close()


def _print_check(checked: GrammarCheck) -> None:
    stats = checked.stats
    grammar = checked.grammar
    origin = f", extends {grammar.parent}" if grammar.parent else ""
    out.print(f"grammar [bold]{grammar.name}[/]{origin}: {stats['derivations']:.3g} derivations within its limits; "
              f"{stats['built']}/{stats['samples']} samples built; params {stats['params_min']:,}"
              f"..{stats['params_max']:,} (median {stats['params_median']:,.0f}); {stats['check_seconds']} s")
    for summary in checked.summaries[:5]:
        out.print(f"  {summary}", highlight=False, markup=False)


@grammar_app.command("check")
def check(file: FileArg, code: CodeOpt = None, task: TaskOpt = "mnist1d", samples: SamplesOpt = DEFAULT_SAMPLES,
          sandbox: SandboxOpt = None) -> None:
    """Parse, validate and sandbox-check a grammar without storing it."""
    ws = Workspace.from_env(Environment())
    try:
        with Session(ws.engine) as session:
            _print_check(_check(session, file, code, task, samples, sandbox))
    except ArchlabError as exc:
        raise _fail(str(exc)) from None


@grammar_app.command("add")
def add(file: FileArg, code: CodeOpt = None, task: TaskOpt = "mnist1d", samples: SamplesOpt = DEFAULT_SAMPLES,
        sandbox: SandboxOpt = None,
        by: Annotated[str, typer.Option("--by", help="Who proposes it.")] = "person",
        rationale: Annotated[str, typer.Option(help="Why this space.")] = "") -> None:
    """Check a grammar and store it in the workspace; `archlab run --space NAME` then searches it."""
    ws = Workspace.from_env(Environment())
    try:
        with Session(ws.engine) as session:
            checked = _check(session, file, code, task, samples, sandbox)
            record = accept_grammar(checked, session=session, proposed_by=by, task=task, rationale=rationale)
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    _print_check(checked)
    out.print(f"stored as [bold]{record.name}[/] ({record.id})")


@grammar_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Built-in and stored grammars, with their provenance."""
    ws = Workspace.from_env(Environment())
    with Session(ws.engine) as session:
        stored = list(grammar_store.list_grammars(session=session))
    rows = [{"name": name, "origin": "built-in", "parent": None, "proposed_by": None, "run_id": None,
             "derivations": None} for name in list_spaces()]
    rows += [{"name": r.name, "origin": r.id, "parent": r.parent, "proposed_by": r.proposed_by, "run_id": r.run_id,
              "derivations": r.stats.get("derivations")} for r in stored]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("name", "origin", "extends", "proposed by", "run", "derivations")
    for row in rows:
        size = f"{row['derivations']:.3g}" if row["derivations"] is not None else ""
        table.add_row(row["name"], row["origin"], row["parent"] or "", row["proposed_by"] or "", row["run_id"] or "",
                      size)
    out.print(table)


@grammar_app.command("show")
def show(name: Annotated[str, typer.Argument(help="A built-in or stored grammar.")]) -> None:
    """A grammar's text, code, provenance and statistics."""
    ws = Workspace.from_env(Environment())
    with Session(ws.engine) as session:
        record = grammar_store.get_grammar(session=session, name=name)
    if record is None:
        if name not in list_spaces():
            raise _fail(f"unknown grammar {name!r}; see `archlab grammar list`")
        out.print(builtin_grammar(name).text, highlight=False, markup=False)
        return
    out.print(f"# {record.name} ({record.id}): extends {record.parent or 'nothing'}; proposed by {record.proposed_by}"
              f"{f' in run {record.run_id}' if record.run_id else ''}; checked on {record.task}", highlight=False,
              markup=False)
    out.print("# stats: " + json.dumps(record.stats), highlight=False, markup=False)
    out.print(record.text, highlight=False, markup=False)
    if record.code:
        out.print("# --- terminal code ---", highlight=False, markup=False)
        out.print(record.code, highlight=False, markup=False)
