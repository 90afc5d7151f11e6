"""`archlab chat`: work an architecture idea through in the terminal; and `open_chat`, which builds the chat
engine from a workspace — the web app's chat page uses it too:

    from archlab.chat_cli import open_chat
    engine, chat = open_chat(ws, task="mnist1d")        # or session_id=... to resume, run_id=... to queue into
    reply = engine.send(chat.id, "a GRU after two convs")  # archlab.agents.chat.Reply: text, draft, review,
    reply = engine.send(chat.id, "/try")                   #   concepts, candidates, evaluation, saved, queued
    engine.close()                                         # the sandbox and the LLM client

An engine serves every session of its task and space: a server can keep one per (task, space) and call
`engine.new_session(run_id=...)`, `engine.send(id, text)`, `engine.replies(id)` (a resumed conversation) and
`engine.current_draft(id)`; `open_chat` itself opens the memory and the sandbox, so it is not per request.

The engine lives in archlab.agents.chat; the shell gives it the services (make_context, the concept memory,
the LLM client when an endpoint is configured) and the one thing agents may not do: queue a draft into a run
(archlab.control.steer, origin "chat").
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from sqlmodel import Session

from archlab.errors import ArchlabError, ConfigError

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
PROMPT = "you> "


def open_chat(ws, *, task: str | None = None, space: str | None = None, run_id: str | None = None,
              session_id: str | None = None, config: Path | None = None, llm_base_url: str | None = None,
              llm_model: str | None = None, steps: int | None = None, sandbox: str | None = None):
    """(ChatEngine, ChatSession): a new session, or the stored one `session_id` names (its task, space and run
    are kept). The task and space default to the run's, then to the config's; ConfigError on a conflict."""
    from archlab.agents.chat import ChatEngine
    from archlab.lifecycle import make_context, open_memory
    from archlab.settings import load_config

    resumed = _stored_session(ws, session_id) if session_id else None
    run = _run(ws, run_id, resumed)
    if run is not None and task and task != run.task:
        raise ConfigError(f"run {run.id} searches task {run.task}, not {task}: drafts queued into it must fit it")
    task = task or (resumed.task if resumed else None) or (run.task if run else None)
    space = space or (resumed.space if resumed else None) or (run.space if run else None)
    llm = {k: v for k, v in {"base_url": llm_base_url, "model": llm_model}.items() if v}
    cfg = load_config(config, {"task": task, "space": space, "llm": llm or None,
                               "sandbox": {"backend": sandbox} if sandbox else None})
    ctx = make_context(ws, None, cfg)
    try:
        _check_fits(ctx)
        ctx.memory, ctx.llm = open_memory(ws), _llm(ws, cfg)
    except ArchlabError:
        ctx.sandbox.close()
        raise
    engine = ChatEngine(ctx, queue=partial(queue_draft, ws), try_steps=steps)
    chat = engine.session(session_id) if resumed else engine.new_session(run_id=run.id if run else None)
    return engine, chat


def queue_draft(ws, run_id: str, payload: dict[str, Any]):
    """Queue a chat's draft into a run as a steering action; the run applies it before its next step."""
    from archlab.agents.chat import Queued
    from archlab.control import steer
    from archlab.knowledge import store
    from archlab.lifecycle import LIVE, resolve_run_id, run_state

    run_id = resolve_run_id(ws, run_id)
    action = steer(ws, run_id, "draft", payload, origin="chat")
    with Session(ws.engine) as session:
        state = run_state(store.get_run(session=session, run_id=run_id))
    when = "it is proposed to the run's critic before its next step" if state in LIVE else \
        f"the run is {state}: the draft waits until it is resumed"
    return Queued(action_id=action.id, run_id=run_id,
                  note=f"queued the draft into run {run_id} as steering action #{action.id} (pending); {when}")


def _stored_session(ws, session_id: str):
    from archlab.knowledge.chat_log import get_session

    with Session(ws.engine) as session:
        chat = get_session(session=session, session_id=session_id)
    if chat is None:
        raise ConfigError(f"no chat session {session_id!r} in {ws.root}")
    return chat


def _run(ws, run_id: str | None, resumed):
    """The run the chat queues into by default: --run, else the resumed session's (they must agree)."""
    from archlab.knowledge import store
    from archlab.lifecycle import resolve_run_id

    if resumed is not None and run_id and resolve_run_id(ws, run_id) != resumed.run_id:
        raise ConfigError(f"chat {resumed.id} queues into run {resumed.run_id or '(none)'}; leave out --run "
                          "(/queue RUN names another run for one draft)")
    run_id = run_id or (resumed.run_id if resumed else None)
    if run_id is None:
        return None
    run_id = resolve_run_id(ws, run_id)
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r} in {ws.root}; `archlab runs` lists them")
    return run


def _check_fits(ctx) -> None:
    dims, shape = ctx.space.grammar.blocks.input_dims, ctx.task.spec.input_shape
    if len(dims) != len(shape):
        raise ConfigError(f"space {ctx.space.name!r} builds networks for inputs ({', '.join(dims)}); task "
                          f"{ctx.task.name!r} gives inputs shaped {shape}: choose another --space")


def _llm(ws, cfg):
    """The chat's LLM client (its calls are stored in no run), or None: offline."""
    if not cfg.llm.active:
        return None
    from archlab.agents.llm.client import LLMClient  # imports openai: only an LLM chat pays for it
    from archlab.settings import Environment

    key = Environment().openai_api_key
    return LLMClient(cfg.llm, api_key=key.get_secret_value() if key else None, engine=ws.engine, run_id=None)


# -- the terminal -----------------------------------------------------------------------------------------


def chat(
    task: Annotated[str | None, typer.Option(help="Task the ideas are for (default: the run's, else mnist1d).")] = None,
    space: Annotated[str | None, typer.Option(help="Search space drafts are derived in (default: the run's, "
                                                   "else seq1d).")] = None,
    run: Annotated[str | None, typer.Option("--run", help="A run that /queue puts drafts into (or latest).")] = None,
    session: Annotated[str | None, typer.Option("--session", help="Resume this chat session.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="/try's training steps (default: a fifth of the "
                                                          "task's default).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Experiment YAML (llm:, sandbox:).")] = None,
    llm_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (…/v1); without one (or "
                                                          "OPENAI_BASE_URL) the chat is offline.")] = None,
    llm_model: Annotated[str | None, typer.Option(help="Default model (llm.model); the assistant drafts with "
                                                       "llm.coder's settings, the critic with llm.critic's.")] = None,
    sandbox: Annotated[str | None, typer.Option("--sandbox", help="Sandbox backend for /try.")] = None,
) -> None:
    """Work an architecture idea through: grounded in the memory and past candidates, drafted, reviewed, tried."""
    from archlab.settings import Environment
    from archlab.workspace import Workspace

    logging.basicConfig(level=logging.WARNING, handlers=[RichHandler(console=console, show_path=False)],
                        format="%(message)s", force=True)
    try:
        engine, session_row = open_chat(Workspace.from_env(Environment()), task=task, space=space, run_id=run,
                                        session_id=session, config=config, llm_base_url=llm_base_url,
                                        llm_model=llm_model, steps=steps, sandbox=sandbox)
    except ArchlabError as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    try:
        _greet(engine, session_row, resumed=session is not None)
        _loop(engine, session_row.id)
    finally:
        engine.close()


def _greet(engine, chat, *, resumed: bool) -> None:
    ctx = engine.ctx
    mode = f"LLM at {ctx.llm.cfg.base_url}" if ctx.llm is not None else "LLM off (offline drafting and review)"
    run = f", queues into run {chat.run_id}" if chat.run_id else ""
    _say(f"chat {chat.id}: task {chat.task}, space {chat.space}{run}; {mode}; /try trains {engine.quick_steps} "
         "steps. /help lists the commands.")
    if resumed:
        replies = engine.replies(chat.id)
        _say(f"resumed: {len(engine.messages(chat.id))} messages so far" + ("; last reply:" if replies else ""))
        if replies:
            _say(replies[-1].text)
        draft = engine.current_draft(chat.id)
        _say(f"current draft: {draft.summary}" if draft else "no draft yet")


def _loop(engine, session_id: str) -> None:
    while True:
        try:
            text = input(PROMPT)
        except (EOFError, KeyboardInterrupt):
            _say("")
            return
        if text.strip().lower().startswith("/try"):
            _say(f"(building and training in the sandbox, {engine.quick_steps} steps …)")
        try:
            reply = engine.send(session_id, text)
        except ArchlabError as exc:
            console.print(f"error: {exc}", markup=False)
            continue
        _show(reply)
        if reply.done:
            return


def _show(reply) -> None:
    _say(f"assistant> {reply.text}")
    if reply.draft is not None and reply.command is None:
        kind = f"a derivation in {reply.draft.space}" if reply.draft.derivation else "free-form source"
        _say(f"draft ({kind}, by {reply.draft.by}): {reply.draft.summary}  — /draft shows the source, /try tries it")
    if reply.review is not None:
        r = reply.review
        _say(f"critic ({r.by}): {r.decision} — {r.reason}")
    if reply.concepts:
        _say("concepts: " + "; ".join(f"#{c.id} [{c.confidence:.2f}] {c.claim}" for c in reply.concepts))
    if reply.candidates:
        _say("candidates: " + "; ".join(_candidate(c) for c in reply.candidates))


def _candidate(c) -> str:
    score = f", val {c.val_acc:.4f}" if c.val_acc is not None else ""
    return f"{c.id} ({c.why}{score}) {c.summary}"


def _say(text: str) -> None:
    out.print(text, markup=False)
