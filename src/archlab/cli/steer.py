"""`archlab pause|stop|veto|budget|history`: steer a running search from the terminal (the web app's
run page does the same). The run applies each request between steps and records what it did."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from archlab.errors import ArchlabError
from archlab.run import control
from archlab.run.lifecycle import resolve_run_id
from archlab.run.settings import Environment
from archlab.run.workspace import Workspace

console = Console(stderr=True)
out = Console()
RunArg = Annotated[str, typer.Argument(help="The run, or latest.")]


def _request(run_id: str, kind: str, payload: dict | None = None) -> None:
    ws = Workspace.from_env(Environment())
    try:
        run_id = resolve_run_id(ws, run_id)
        action = control.steer(ws, run_id, kind, payload, origin="cli")
    except ArchlabError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    state = action.note or "the run applies it before its next step"
    out.print(f"{kind.replace('_', ' ')} #{action.id} for run {run_id}: {action.status} ({state})", highlight=False)


def pause(run_id: RunArg) -> None:
    """Pause a running search between steps (its time stops counting); `archlab resume` continues it."""
    _request(run_id, "pause")


def stop(run_id: RunArg) -> None:
    """Stop a running search before its next step (the candidate in training finishes first)."""
    _request(run_id, "stop")


def veto(
    run_id: RunArg,
    candidate: Annotated[str | None, typer.Option(help="A candidate: off the leaderboard, never a parent.")] = None,
    direction: Annotated[str | None, typer.Option(help="Text: the critic rejects proposals whose summary or "
                                                       "rationale contains it, e.g. an operation's name.")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the run's history).")] = "",
) -> None:
    """Veto a candidate or a direction of a running search."""
    if (candidate is None) == (direction is None):
        console.print("[bold red]error:[/] give exactly one of --candidate or --direction")
        raise typer.Exit(2)
    if candidate is not None:
        _request(run_id, "veto_candidate", {"candidate_id": candidate, "reason": reason})
    else:
        _request(run_id, "veto_direction", {"text": direction})


def budget(
    run_id: RunArg,
    change: Annotated[str, typer.Argument(help="+10m adds ten minutes, -5m removes five, 1h sets the total.")],
) -> None:
    """Raise or lower a search's time budget while it runs."""
    try:
        payload = control.budget_change(change)
    except ArchlabError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    _request(run_id, "budget", payload)


def history(run_id: RunArg) -> None:
    """What people asked of the run and what it did with each request."""
    ws = Workspace.from_env(Environment())
    try:
        run_id = resolve_run_id(ws, run_id)
        actions = control.run_history(ws, run_id)
    except ArchlabError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(title=f"steering of run {run_id}")
    for column in ("#", "when", "from", "action", "request", "status", "step", "what the run did"):
        table.add_column(column)
    for a in actions:
        table.add_row(str(a.id), f"{a.created_at:%H:%M:%S}", a.origin, a.kind, _describe(a.payload), a.status,
                      "" if a.step is None else str(a.step), a.note or "")
    out.print(table)


def _describe(payload: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in payload.items() if k not in ("source", "derivation"))[:80]


def register(app: typer.Typer) -> None:
    for command in (pause, stop, veto, budget, history):
        app.command()(command)
