"""The chat page: the chat sessions and a form to start one, and a session's transcript with a message box.
A message (words, or the terminal's slash commands) goes through the session's chat engine (chat_engines.py)
and the page redirects back; the engine runs in the server's worker threads (these endpoints are sync), so
a /try in training keeps no other page waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from archlab.agents.chat import Reply
from archlab.agents.chat.transcript import current_draft
from archlab.errors import ConfigError
from archlab.evaluator.tasks import TASKS
from archlab.spaces import list_spaces
from archlab.store import chat_log
from archlab.store import grammars as grammar_store
from archlab.store import records as store
from archlab.store.chat_log import ChatMessage, ChatSession
from archlab.web.chat_engines import ChatEngines
from archlab.web.deps import session
from archlab.web.pages import render


@asynccontextmanager
async def close_engines(app: FastAPI) -> AsyncIterator[None]:
    yield
    await run_in_threadpool(app.state.chats.close)


router = APIRouter(lifespan=close_engines)
DEFAULTS = {"task": "mnist1d", "space": "seq1d"}
Text = Annotated[str, Form()]


def engines(request: Request) -> ChatEngines:
    return request.app.state.chats


@router.get("/chat", response_class=HTMLResponse)
def chats_page(request: Request) -> HTMLResponse:
    with session(request) as s:
        chats = chat_log.list_sessions(session=s)
        runs = store.list_runs(session=s)
        stored = [g.name for g in grammar_store.list_grammars(session=s)]
    return render(request, "chats.html", title="chat", chats=chats, runs=runs, defaults=DEFAULTS,
                  tasks=sorted(TASKS), spaces=[*list_spaces(), *stored])


@router.post("/chat", response_class=HTMLResponse)
def start_chat(request: Request, task: Text = "", space: Text = "", run: Text = ""):
    task, space = task.strip(), space.strip()
    try:
        if not task or not space:
            raise ConfigError("a chat needs a task and a search space (e.g. mnist1d and seq1d)")
        chat = engines(request).start(task=task, space=space, run_id=run.strip() or None)
    except ConfigError as exc:
        return refused(request, str(exc), back="/chat")
    return RedirectResponse(f"/chat/{chat.id}", status_code=303)


@router.get("/chat/{session_id}", response_class=HTMLResponse)
def chat_page(request: Request, session_id: str) -> HTMLResponse:
    chat = get_chat_or_404(request, session_id)
    with session(request) as s:
        messages = list(chat_log.messages(session=s, session_id=session_id))
    entries = [(m, reply_of(m)) for m in messages]
    return render(request, "chat.html", title=chat.title or f"chat {chat.id}", chat=chat, entries=entries,
                  draft=current_draft(messages))


@router.post("/chat/{session_id}", response_class=HTMLResponse)
def send_message(request: Request, session_id: str, text: Text = ""):
    chat = get_chat_or_404(request, session_id)
    back = f"/chat/{chat.id}"
    if not text.strip():
        return refused(request, "the message is empty: describe an idea, or /help for the commands", back=back)
    try:
        engines(request).send(chat, text)
    except ConfigError as exc:
        return refused(request, str(exc), back=back)
    return RedirectResponse(f"{back}#latest", status_code=303)


def get_chat_or_404(request: Request, session_id: str) -> ChatSession:
    with session(request) as s:
        chat = chat_log.get_session(session=s, session_id=session_id)
    if chat is None:
        raise HTTPException(404, f"no chat session {session_id!r} in this workspace")
    return chat


def reply_of(message: ChatMessage) -> Reply | None:
    """An assistant message's turn (draft, review, retrieved ids, evaluation …) as the engine returned it."""
    if message.role != "assistant":
        return None
    return Reply.model_validate({**message.data, "session_id": message.session_id, "text": message.text})


def refused(request: Request, message: str, *, back: str) -> HTMLResponse:
    return render(request, "error.html", status_code=400, title="refused", message=message, back=back)
