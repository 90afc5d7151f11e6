"""The archlab command line. The only place that configures logging or prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archlab.cli import steer as steer_cli
from archlab.cli.bench import bench_app
from archlab.cli.chat import chat as chat_command
from archlab.cli.grammar import grammar_app
from archlab.cli.logs import setup_logging
from archlab.cli.memory import memory_app
from archlab.cli.task import task_app
from archlab.errors import ArchlabError, ConfigError, InfraError
from archlab.run.settings import Environment, load_config, parse_duration
from archlab.run.workspace import Workspace

app = typer.Typer(help="archlab: agents that discover neural-network architectures.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()

TaskOpt = Annotated[str | None, typer.Option(help="Task to search on, e.g. mnist1d.")]
BudgetOpt = Annotated[str | None, typer.Option(help="Wall-clock budget: 5m, 90s, 1h30m.")]
LLMUrlOpt = Annotated[str | None, typer.Option(
    help="OpenAI-compatible endpoint (…/v1): the LLM roles act; without one (or OPENAI_BASE_URL) the run is offline.")]
LLMModelOpt = Annotated[list[str] | None, typer.Option(
    help="MODEL for every role, or ROLE=MODEL (planner, coder, critic, analyst); repeatable.")]
SandboxOpt = Annotated[str | None, typer.Option("--sandbox", help="Sandbox backend: process, docker or ray.")]


def _setup_logging(verbose: bool) -> None:
    setup_logging(console, verbose=verbose)


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _workspace() -> Workspace:
    return Workspace.from_env(Environment())


@app.command()
def run(
    task: TaskOpt = None,
    budget: BudgetOpt = None,
    space: Annotated[str | None, typer.Option(help="Search space: a built-in or stored grammar.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Experiment YAML file.")] = None,
    max_evals: Annotated[int | None, typer.Option(help="Stop after this many trained candidates.")] = None,
    seed: Annotated[int | None, typer.Option(help="Search seed (drawn and recorded if unset).")] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps per candidate.")] = None,
    max_params: Annotated[int | None, typer.Option(help="Reject candidates with more parameters than this.")] = None,
    strategy: Annotated[str | None, typer.Option(help="Offline search strategy: tournament (default), random, "
                                                      "evolution, local, bananas, pareto.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every candidate.")] = False,
    sandbox: SandboxOpt = None,
    in_flight: Annotated[int | None, typer.Option(help="Candidates training while the next are proposed "
                                                       "(at most sandbox.slots, by default the CPU count).")] = None,
    llm_base_url: LLMUrlOpt = None,
    llm_model: LLMModelOpt = None,
) -> None:
    """Start a discovery run (offline mode unless an LLM endpoint is set) and report its leaderboard."""
    from archlab.cli.progress import RunProgress
    from archlab.run import lifecycle

    _setup_logging(verbose)
    try:
        overrides = {"task": task, "budget": budget, "max_evals": max_evals, "seed": seed, "space": space,
                     "max_params": max_params, "evaluation": {"steps": steps} if steps else None,
                     "search": {k: v for k, v in (("strategy", strategy), ("in_flight", in_flight))
                                if v is not None} or None,
                     "sandbox": {"backend": sandbox} if sandbox else None,
                     "llm": _llm_overrides(llm_base_url, llm_model)}
        cfg = load_config(config, overrides)
        ws = _workspace()
        run_id = lifecycle.start_run(ws, cfg)
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    mode = f"LLM roles at {cfg.llm.base_url}" if cfg.llm.active else "offline"
    console.print(f"run [bold]{run_id}[/]: task {cfg.task}, space {cfg.space}, seed {cfg.seed}, {mode}")
    _execute(ws, run_id, cfg, restart=False, progress=RunProgress(console, cfg.budget, cfg.max_evals))


def _llm_overrides(base_url: str | None, models: list[str] | None) -> dict | None:
    """--llm-base-url and --llm-model [ROLE=]MODEL as a nested `llm:` override."""
    from archlab.agents.llm.config import ROLES

    llm: dict = {"base_url": base_url} if base_url else {}
    for item in models or []:
        role, _, model = item.rpartition("=")
        if role and role not in ROLES:
            raise ConfigError(f"--llm-model {item}: unknown role {role!r}; roles: {', '.join(ROLES)}")
        if role:
            llm[role] = {"model": model}
        else:
            llm["model"] = model
    return llm or None


@app.command()
def idea(
    run_id: Annotated[str, typer.Argument(help="The run (running or not), or latest.")],
    text: Annotated[str, typer.Argument(help="The idea, in words; the planner sees it at its next step.")],
) -> None:
    """Queue an idea for a run's planner (kept in the run's steering history)."""
    from archlab.run import control
    from archlab.run.lifecycle import resolve_run_id

    ws = _workspace()
    try:
        run_id = resolve_run_id(ws, run_id)
        action = control.steer(ws, run_id, "idea", {"text": text}, origin="cli")
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    out.print(f"idea {action.payload['idea_id']} queued for run {run_id}", highlight=False)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `archlab runs`), or latest.")],
    budget: BudgetOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    llm_base_url: LLMUrlOpt = None,
    llm_model: LLMModelOpt = None,
) -> None:
    """Continue a stopped or killed run where it left off (--budget: new total); a paused run goes on."""
    from archlab.cli.progress import RunProgress
    from archlab.run import lifecycle

    _setup_logging(verbose)
    ws = _workspace()
    try:
        run_id = lifecycle.resolve_run_id(ws, run_id)
        if _resume_paused(ws, run_id):
            return
        cfg, restart = lifecycle.prepare_resume(ws, run_id, parse_duration(budget) if budget else None,
                                                _llm_overrides(llm_base_url, llm_model))
    except (ArchlabError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"resuming run [bold]{run_id}[/]")
    _execute(ws, run_id, cfg, restart=restart, progress=RunProgress(console, cfg.budget, cfg.max_evals))


def _resume_paused(ws: Workspace, run_id: str) -> bool:
    """A paused run's own process goes on: ask it to; True when that was the case."""
    from sqlmodel import Session

    from archlab.run import control, lifecycle
    from archlab.store import records as store

    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
    if run is None or lifecycle.run_state(run) != "paused":
        return False
    action = control.steer(ws, run_id, "resume", origin="cli")
    out.print(f"resume #{action.id} sent to run {run_id} (pid {run.pid}); it goes on within a second", highlight=False)
    return True


def _execute(ws, run_id, cfg, *, restart, progress) -> None:
    from archlab.report.rank import save_rank_fidelity
    from archlab.run import lifecycle

    try:
        with progress:
            result = lifecycle.execute(ws, run_id, cfg, restart=restart, on_update=progress.update)
    except KeyboardInterrupt:
        console.print(f"\nstopped. Continue with: [bold]archlab resume {run_id}[/]")
        raise typer.Exit(130) from None
    except InfraError as exc:
        raise _fail(f"run {run_id} failed: {exc}", code=1) from None
    finally:
        save_rank_fidelity(ws, run_id)  # the report side's file, written however the run ended
    console.print(f"run {run_id} {result.status}: {result.stop_reason or ''}")
    _print_leaderboard(ws, run_id)
    console.print(f"report: archlab report {run_id}")


def _print_leaderboard(ws: Workspace, run_id: str) -> None:
    from sqlmodel import Session

    from archlab.store import records as store

    with Session(ws.engine) as session:
        board = store.leaderboard(session=session, run_id=run_id, limit=10)
        objective = store.run_objective(session=session, run_id=run_id)
    table = Table("#", "candidate", "params", objective.short, objective.test_short, "architecture",
                  title=f"leaderboard (by {objective.label}, {objective.direction})")
    for rank, (cand, ev) in enumerate(board, start=1):
        table.add_row(str(rank), cand.id, f"{cand.params:,}", _pct(objective.value(ev.metrics)),
                      _pct(objective.value(ev.metrics, "test")), Text(cand.summary))  # Text: res[...] is not markup
    out.print(table)


@app.command()
def runs(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """List runs with status, evaluations and best candidate."""
    from archlab.run.listing import list_runs

    rows = list_runs(_workspace())
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("run", "status", "task", "evaluations", "best", "val", "test", "metric", "time")
    for r in rows:
        best = r["best"] or {}
        table.add_row(r["run_id"], r["status"], r["task"], str(r["evaluations"]), best.get("candidate_id", "-"),
                      _pct(best.get("val")), _pct(best.get("test")), best.get("metric", "-"), f"{r['used_s']:.0f}s")
    out.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@app.command()
def report(run_id: Annotated[str, typer.Argument(help="The run to report on, or latest.")]) -> None:
    """Write .archlab/runs/<run>/report/report.html and its Markdown twin report.md; print both paths."""
    from archlab.report.build import write_report_files
    from archlab.run.lifecycle import resolve_run_id

    ws = _workspace()
    try:
        files = write_report_files(ws, resolve_run_id(ws, run_id))
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    out.print(str(files.html), highlight=False, soft_wrap=True)  # soft_wrap: a long path stays one line
    out.print(str(files.markdown), highlight=False, soft_wrap=True)


@app.command()
def reproduce(
    candidate: Annotated[str, typer.Argument(help="A stored candidate id (a report's cards name them).")],
    sandbox: SandboxOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Re-run a candidate's build and train stages at its recorded fidelity and seeds; compare, store nothing."""
    from archlab.run.reproduce import describe
    from archlab.run.reproduce import reproduce as rerun

    _setup_logging(False)
    try:
        result = rerun(_workspace(), candidate, sandbox)
    except InfraError as exc:
        raise _fail(str(exc), code=1) from None
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(result))
    else:
        for line in describe(result):
            out.print(line, highlight=False, soft_wrap=True)
    if not result["agree"]:
        raise typer.Exit(1)


@app.command("eval")
def eval_(
    path: Annotated[Path, typer.Argument(help="A Python file defining build_model(task).")],
    task: TaskOpt = "mnist1d",
    steps: Annotated[int | None, typer.Option(help="Training steps (the task's default if unset).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    sandbox: SandboxOpt = None,
) -> None:
    """Evaluate one candidate file through the same sandbox and stages as a run."""
    from archlab.run.oneoff import evaluate_file

    _setup_logging(False)
    try:
        cfg = load_config(None, {"task": task, "evaluation": {"steps": steps} if steps else None,
                                 "sandbox": {"backend": sandbox} if sandbox else None})
        result = evaluate_file(_workspace(), cfg, path)
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(result))
    else:
        for key, value in result.items():
            out.print(f"{key:>14}: {value}", highlight=False)
    if result["status"] != "ok":
        raise typer.Exit(1)


@app.command()
def doctor(sandbox: Annotated[str, typer.Option("--sandbox", help="Sandbox backend to check.")] = "process") -> None:
    """Check torch, the store, the sandbox, the LLM endpoint and the embedder."""
    from archlab.run.doctor import run_checks

    checks = run_checks(Environment(), sandbox)
    marks = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[yellow]warn[/]"}
    for check in checks:
        out.print(f"{marks[check.ok]:>16}  {check.name:<20} {check.detail}", highlight=False)
    if any(c.ok is False for c in checks):
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; beyond loopback a --token is required.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[str | None, typer.Option(envvar="ARCHLAB_WEB_TOKEN", show_default=False,
                                              help="Every request must carry it (open /?token=... once).")] = None,
) -> None:
    """Serve the web app: runs, live progress and steering, candidates, concept memory, grammars."""
    from archlab.web.auth import check_bind
    from archlab.web.server import serve as serve_app

    _setup_logging(False)
    try:
        check_bind(host, token)
    except ArchlabError as exc:
        raise _fail(str(exc)) from None
    console.print(f"serving {_workspace().root} at http://{host}:{port}/"
                  + (" (open it once as /?token=YOUR_TOKEN)" if token else ""), highlight=False)
    serve_app(_workspace(), host=host, port=port, token=token)


sandbox_app = typer.Typer(help="The sandbox's container image.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("build-image")
def build_image(
    base: Annotated[str, typer.Option(help="auto (python:X.Y-slim, else debootstrap), debootstrap, "
                                           "or an image to build on.")] = "auto",
) -> None:
    """Build the Docker sandbox image for this archlab source (only the layers that changed)."""
    from archlab.sandbox.image import build_image as build

    _setup_logging(False)
    try:
        from archlab.sandbox.docker import connect  # SandboxError without the docker package

        client = connect()
        tag = build(client, base=base, cache_dir=_workspace().cache_dir / "sandbox-image",
                    say=lambda line: console.print(line, highlight=False))
    except ArchlabError as exc:
        raise _fail(str(exc), code=1) from None
    out.print(f"{tag} {client.images.get(tag).id}", highlight=False)


steer_cli.register(app)
app.command("chat")(chat_command)
app.add_typer(memory_app, name="memory")
app.add_typer(grammar_app, name="grammar")
app.add_typer(bench_app, name="bench")
app.add_typer(task_app, name="task")


def main() -> None:  # pragma: no cover - console entry point used by `python -m archlab`
    try:
        app()
    except ConfigError as exc:
        console.print(f"error: {exc}")
        sys.exit(2)
