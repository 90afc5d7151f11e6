"""`archlab chat`: work an architecture idea through in the terminal. The engine is opened by
archlab.run.chat.open_chat, which the web app's chat page uses too."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from archlab.cli.logs import setup_logging
from archlab.errors import ArchlabError
from archlab.run.chat import open_chat

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
PROMPT = "you> "


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
    from archlab.run.settings import Environment
    from archlab.run.workspace import Workspace

    setup_logging(console, verbose=False)
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
