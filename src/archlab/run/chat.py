"""Opening a chat: `open_chat` builds the chat engine from a workspace, for the terminal (`archlab chat`) and the
web app's chat page alike:

    from archlab.run.chat import open_chat
    engine, chat = open_chat(ws, task="mnist1d")        # or session_id=... to resume, run_id=... to queue into
    reply = engine.send(chat.id, "a GRU after two convs")  # archlab.agents.chat.Reply: text, draft, review,
    reply = engine.send(chat.id, "/try")                   #   concepts, candidates, evaluation, saved, queued
    engine.close()                                         # the sandbox and the LLM client

An engine serves every session of its task and space: a server can keep one per (task, space) and call
`engine.new_session(run_id=...)`, `engine.send(id, text)`, `engine.replies(id)` (a resumed conversation) and
`engine.current_draft(id)`; `open_chat` itself opens the memory and the sandbox, so it is not per request.

The engine lives in archlab.agents.chat; the shell gives it the services (make_context, the concept memory,
the LLM client when an endpoint is configured) and the one thing agents may not do: queue a draft into a run
(archlab.run.control.steer, origin "chat").
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archlab.errors import ArchlabError, ConfigError


def open_chat(ws, *, task: str | None = None, space: str | None = None, run_id: str | None = None,
              session_id: str | None = None, config: Path | None = None, llm_base_url: str | None = None,
              llm_model: str | None = None, steps: int | None = None, sandbox: str | None = None):
    """(ChatEngine, ChatSession): a new session, or the stored one `session_id` names (its task, space and run
    are kept). The task and space default to the run's, then to the config's; ConfigError on a conflict."""
    from archlab.agents.chat import ChatEngine
    from archlab.run.lifecycle import make_context, open_memory
    from archlab.run.settings import load_config

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
    from archlab.run.control import steer
    from archlab.run.lifecycle import LIVE, resolve_run_id, run_state
    from archlab.store import records as store

    run_id = resolve_run_id(ws, run_id)
    action = steer(ws, run_id, "draft", payload, origin="chat")
    with Session(ws.engine) as session:
        state = run_state(store.get_run(session=session, run_id=run_id))
    when = "it is proposed to the run's critic before its next step" if state in LIVE else \
        f"the run is {state}: the draft waits until it is resumed"
    return Queued(action_id=action.id, run_id=run_id,
                  note=f"queued the draft into run {run_id} as steering action #{action.id} (pending); {when}")


def _stored_session(ws, session_id: str):
    from archlab.store.chat_log import get_session

    with Session(ws.engine) as session:
        chat = get_session(session=session, session_id=session_id)
    if chat is None:
        raise ConfigError(f"no chat session {session_id!r} in {ws.root}")
    return chat


def _run(ws, run_id: str | None, resumed):
    """The run the chat queues into by default: --run, else the resumed session's (they must agree)."""
    from archlab.run.lifecycle import resolve_run_id
    from archlab.store import records as store

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
    key = ws.env.openai_api_key
    return LLMClient(cfg.llm, api_key=key.get_secret_value() if key else None, engine=ws.engine, run_id=None)
