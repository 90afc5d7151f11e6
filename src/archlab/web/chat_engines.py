"""The chat page's engines: one per (task, space), opened on first use — opening one opens the concept memory
and a sandbox, too slow for every request — and closed with the app; and a lock per chat session, so two
messages to one session never interleave (a /try trains for tens of seconds)."""

from __future__ import annotations

import threading

from sqlmodel import Session

from archlab.agents.chat import ChatEngine, Reply
from archlab.errors import ConfigError
from archlab.run.chat import open_chat
from archlab.run.lifecycle import resolve_run_id
from archlab.run.workspace import Workspace
from archlab.store import records as store
from archlab.store.chat_log import ChatSession


class ChatEngines:
    """`try_steps`: /try's training steps (None: the engine's default, a fifth of the task's steps)."""

    def __init__(self, ws: Workspace, *, try_steps: int | None = None) -> None:
        self.ws, self.try_steps = ws, try_steps
        self._engines: dict[tuple[str, str], ChatEngine] = {}
        self._opening = threading.Lock()  # held while an engine opens: one engine per (task, space)
        self._guard = threading.Lock()  # guards the table of session locks
        self._sessions: dict[str, threading.Lock] = {}

    def start(self, *, task: str, space: str, run_id: str | None) -> ChatSession:
        """A new session. ConfigError: an unknown task or space, a space that does not fit the task, or a run
        that is missing or searches another task (drafts queued into it must fit it)."""
        run_id = self._run_for(task, run_id) if run_id else None
        with self._opening:
            engine = self._engines.get((task, space))
            if engine is None:  # open_chat opens the engine with its first session
                engine, chat = open_chat(self.ws, task=task, space=space, run_id=run_id, steps=self.try_steps)
                self._keep(engine)
                return chat
        return engine.new_session(run_id=run_id)

    def send(self, chat: ChatSession, text: str) -> Reply:
        """One message through the session's engine, after any message to the session still being answered."""
        engine = self._engine_for(chat)
        with self._guard:
            lock = self._sessions.setdefault(chat.id, threading.Lock())
        with lock:
            return engine.send(chat.id, text)

    def close(self) -> None:
        with self._opening:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()

    def opened(self) -> list[tuple[str, str]]:
        """The (task, space) pairs whose engine is open."""
        return list(self._engines)

    def _engine_for(self, chat: ChatSession) -> ChatEngine:
        with self._opening:
            engine = self._engines.get((chat.task, chat.space))
            if engine is None:  # a session stored before this server started
                engine, _ = open_chat(self.ws, session_id=chat.id, steps=self.try_steps)
                engine = self._keep(engine)
            return engine

    def _keep(self, engine: ChatEngine) -> ChatEngine:
        """Keyed by the names the engine resolved, which its sessions store; a second engine for the same
        pair (a name spelled differently) is closed."""
        kept = self._engines.setdefault((engine.ctx.task.name, engine.ctx.space.name), engine)
        if kept is not engine:
            engine.close()
        return kept

    def _run_for(self, task: str, run_id: str) -> str:
        run_id = resolve_run_id(self.ws, run_id)
        with Session(self.ws.engine) as session:
            run = store.get_run(session=session, run_id=run_id)
        if run is None:
            raise ConfigError(f"no run {run_id!r} in this workspace")
        if run.task != task:
            raise ConfigError(f"run {run.id} searches task {run.task}, not {task}: drafts queued into it must fit it")
        return run.id
