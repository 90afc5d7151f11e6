"""Run lifecycle: start, execute (until budget, Ctrl-C or failure), resume."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from sqlmodel import Session

from archlab.agents.context import RunContext
from archlab.agents.evaluation.inflight import Pipeline, width
from archlab.agents.evaluation.references import train_references
from archlab.agents.grammar_intake import load_workspace_space
from archlab.agents.graph import build_graph
from archlab.agents.state import serializer
from archlab.errors import ConfigError, InfraError
from archlab.evaluator.tasks import Task
from archlab.memory.concept_memory import ConceptMemory
from archlab.memory.embedder import make_embedder
from archlab.memory.seeds import ensure_seeded
from archlab.run.settings import ExperimentConfig, load_config
from archlab.run.space_choice import AUTO, space_for
from archlab.run.tasks import resolve_task
from archlab.run.workspace import Workspace
from archlab.sandbox import procfs
from archlab.sandbox.base import make_sandbox
from archlab.sandbox.procfs import kill_orphans
from archlab.spaces import Space
from archlab.store import Run
from archlab.store import records as store

log = logging.getLogger(__name__)
RECURSION_LIMIT = 1_000_000  # the graph loops once per proposal; the budget, not LangGraph, ends it
LIVE = ("running", "paused")  # a process drives the run (a paused one waits for a person between steps)
OnUpdate = Callable[[RunContext, str], None]


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def start_run(ws: Workspace, cfg: ExperimentConfig) -> str:
    """Record a new run and its resolved config; nothing is written before the config is valid. `space: auto`
    becomes the built-in space that fits the task, in `cfg` itself, so the caller and the record agree."""
    run_id = new_run_id()
    task = run_task(cfg, ws)  # an unknown task fails before the store is even opened
    if cfg.space == AUTO:
        cfg.space = space_for(task)
    with Session(ws.engine) as session:
        # An unknown or broken grammar, or one for other inputs than the task's, fails before any record.
        _check_fits(load_workspace_space(session, cfg.space), task)
        store.add_run(session=session, run=Run(id=run_id, task=cfg.task, space=cfg.space,
                                               config=cfg.resolved(), budget_s=cfg.budget,
                                               max_evals=cfg.max_evals, pid=os.getpid(),
                                               objective=task.objective, minimize=task.minimize))
    ws.write_config(run_id, cfg.resolved())
    return run_id


def _check_fits(space: Space, task: Task) -> None:
    dims, shape = space.grammar.blocks.input_dims, task.spec.input_shape
    if (space.grammar.blocks.input_kind == "tokens") != (task.spec.kind == "lm"):
        builds = "language models" if space.grammar.blocks.input_kind == "tokens" else "classifiers"
        raise ConfigError(f"space {space.name!r} builds {builds}; task {task.spec.name!r} is a {task.spec.kind} task")
    if len(dims) != len(shape):
        raise ConfigError(f"space {space.name!r} builds networks for inputs ({', '.join(dims)}); task "
                          f"{task.spec.name!r} gives inputs shaped {shape}")


def resolve_run_id(ws: Workspace, run_id: str) -> str:
    """`latest` names the most recently created run."""
    if run_id != "latest":
        return run_id
    with Session(ws.engine) as session:
        runs = store.list_runs(session=session)
    if not runs:
        raise ConfigError(f"no runs yet in {ws.root}")
    return runs[0].id


def run_state(run: Run) -> str:
    """The stored status, except that a 'running' run whose process is gone was killed."""
    if run.status in LIVE and run.pid is not None and not procfs.is_alive(run.pid):
        return "interrupted"
    return run.status


def prepare_resume(ws: Workspace, run_id: str, budget: float | None = None,
                   llm: dict | None = None) -> tuple[ExperimentConfig, bool]:
    """The run's config (budget raised, LLM endpoint or models changed if asked) and whether the graph
    must start a new pass. A changed endpoint is written to the run's config, so the report shows it."""
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r} in {ws.root}; `archlab runs` lists them")
    state = run_state(run)
    if state in LIVE:
        raise ConfigError(f"run {run_id} is still {state} (pid {run.pid})")
    restart = state == "finished"
    if restart and budget is None:
        raise ConfigError(f"run {run_id} finished ({run.stop_reason}); pass --budget to give it more time")
    # Without --budget, the stored budget holds: a person may have changed it while the run ran.
    cfg = load_config(ws.config_path(run_id), {"budget": budget if budget is not None else run.budget_s,
                                               "llm": llm}, stored=True)
    with Session(ws.engine) as session:
        store.update_run(session=session, run_id=run_id, status="running", pid=os.getpid(),
                         budget_s=cfg.budget, stop_reason=None, config=cfg.resolved())
    ws.write_config(run_id, cfg.resolved())
    return cfg, restart


def make_context(ws: Workspace, run_id: str | None, cfg: ExperimentConfig) -> RunContext:
    """What the graph's nodes share. `space: auto` is resolved here too (for chats, one-off trainings and
    reproductions, which start no run)."""
    task = run_task(cfg, ws)
    if cfg.space == AUTO:
        cfg.space = space_for(task)
    used = 0.0
    if run_id is not None:
        with Session(ws.engine) as session:
            used = store.get_run(session=session, run_id=run_id).used_s
    memory = open_memory(ws) if run_id is not None else None
    with Session(ws.engine) as session:
        space = load_workspace_space(session, cfg.space)
    sandbox = make_sandbox(cfg.sandbox.backend, cfg.sandbox.docker, cfg.sandbox.ray)
    return RunContext(run_id=run_id, engine=ws.engine, sandbox=sandbox, task=task,
                      space=space, search=cfg.search,
                      evaluation=cfg.evaluation, limits=cfg.sandbox.limits, cache_dir=ws.cache_dir,
                      seed=cfg.seed, budget_s=cfg.budget, max_evals=cfg.max_evals, used_before_s=used,
                      memory=memory, llm=make_llm(ws, run_id, cfg), pipeline=make_pipeline(run_id, cfg))


def run_task(cfg: ExperimentConfig, ws: Workspace) -> Task:
    """The run's task (built in, or stored in the workspace), its parameter cap lowered to the run's
    `max_params` where set."""
    task = resolve_task(ws, cfg.task, ws.env.data_dir)
    if cfg.max_params is None or cfg.max_params >= task.spec.max_params:
        return task
    return dataclasses.replace(task, spec=task.spec.model_copy(update={"max_params": cfg.max_params}))


def make_pipeline(run_id: str | None, cfg: ExperimentConfig) -> Pipeline | None:
    """Candidates in flight when the search asks for more than one and the sandbox has the slots."""
    size = width(cfg.search.in_flight, cfg.sandbox.slots)
    if run_id is None or size < 2:
        return None
    log.info("up to %d candidates in flight", size)
    return Pipeline(size)


def make_llm(ws: Workspace, run_id: str | None, cfg: ExperimentConfig):
    """The LLM roles' client when an endpoint is configured; None keeps every role offline."""
    if run_id is None or not cfg.llm.active:
        return None
    from archlab.agents.llm.client import LLMClient  # imports openai: only runs that use it pay for it
    from archlab.agents.llm.model_bandit import ModelBandit

    key = ws.env.openai_api_key
    return LLMClient(cfg.llm, api_key=key.get_secret_value() if key else None, engine=ws.engine, run_id=run_id,
                     choose_model=ModelBandit(ws.engine, run_id, cfg.llm).choose)


def open_memory(ws: Workspace, *, seed: bool = True) -> ConceptMemory:
    """The workspace's concept memory; a new workspace's starts with the literature seeds (loaded on
    first use)."""
    return ConceptMemory(ws.engine, make_embedder(ws.env.embedder), first_use=ensure_seeded if seed else None,
                         vector_index=ws.env.vector_index)


@contextmanager
def checkpointer(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serializer())
    finally:
        conn.close()


def execute(ws: Workspace, run_id: str, cfg: ExperimentConfig, *, restart: bool = False,
            on_update: OnUpdate | None = None) -> Run:
    """Drive the graph until it ends; Ctrl-C marks the run stopped, an InfraError marks it failed."""
    swept = kill_orphans()  # jobs a killed archlab process left (the Docker backend sweeps its own containers)
    if swept:
        log.warning("killed %d sandbox job(s) left running by an archlab process that died", swept)
    ctx = make_context(ws, run_id, cfg)
    config = {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}
    status, reason = "failed", None
    try:
        with checkpointer(ws.checkpoints_path) as saver:
            graph = build_graph(saver)
            start = _start_input(graph.get_state(config), run_id, restart)
            for update in graph.stream(start, config, context=ctx, stream_mode="updates"):
                if on_update:
                    on_update(ctx, next(iter(update), ""))
            final = graph.get_state(config).values
        if not final.get("stopped"):
            train_references(ctx)  # after the search, like for like with its best (outside its budget)
        status, reason = ("stopped" if final.get("stopped") else "finished"), final.get("stop_reason")
    except KeyboardInterrupt:
        status, reason = "stopped", "interrupted by the user"
        raise
    except InfraError as exc:
        reason = str(exc)
        raise
    finally:
        ctx.sandbox.close()  # ends the jobs still in flight (a stop or a crash), so their threads return
        if ctx.pipeline is not None:
            ctx.pipeline.close()
        if ctx.llm is not None:
            ctx.llm.close()
        _finish(ws, run_id, ctx, status, reason)
    return _get(ws, run_id)


def _start_input(snapshot, run_id: str, restart: bool) -> dict | None:
    """A new run's first state; None continues where the checkpoint left off; a finished run (with more
    budget) or one a person stopped starts a new pass."""
    if snapshot.created_at is None:
        return {"run_id": run_id, "step": 0, "attempt": 0}
    if restart or snapshot.values.get("stopped"):
        return {"done": False, "stopped": False, "stop_reason": None}
    return None


def _finish(ws: Workspace, run_id: str, ctx: RunContext, status: str, reason: str | None) -> None:
    with Session(ws.engine) as session:
        store.update_run(session=session, run_id=run_id, status=status, stop_reason=reason,
                         used_s=ctx.elapsed_s(), pid=None)
    log.info("run %s %s%s", run_id, status, f": {reason}" if reason else "")


def _get(ws: Workspace, run_id: str) -> Run:
    with Session(ws.engine) as session:
        return store.get_run(session=session, run_id=run_id)
