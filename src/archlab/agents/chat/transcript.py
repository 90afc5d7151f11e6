"""A chat's messages in the workspace store (store/chat_log.py): the assistant's carry the turn's data
(a Reply, dumped), so a resumed session finds its current draft and the drafts it tried."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from archlab.agents.chat.models import Draft, Reply, TryResult
from archlab.errors import ConfigError
from archlab.store import chat_log
from archlab.store.chat_log import ChatMessage, ChatSession

TITLE = 80  # characters of the first message kept as the session's title


def new_id() -> str:
    return datetime.now().strftime("chat-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def create(engine: Engine, *, task: str, space: str, run_id: str | None = None, title: str = "") -> ChatSession:
    with Session(engine) as session:
        chat = ChatSession(id=new_id(), title=title, task=task, space=space, run_id=run_id)
        return chat_log.add_session(session=session, chat=chat)


def get(engine: Engine, session_id: str) -> ChatSession:
    with Session(engine) as session:
        chat = chat_log.get_session(session=session, session_id=session_id)
    if chat is None:
        raise ConfigError(f"no chat session {session_id!r}; `archlab chat` starts one")
    return chat


def messages(engine: Engine, session_id: str) -> list[ChatMessage]:
    with Session(engine) as session:
        return list(chat_log.messages(session=session, session_id=session_id))


def add_user(engine: Engine, chat: ChatSession, text: str) -> None:
    with Session(engine) as session:
        chat_log.add_message(session=session, session_id=chat.id, role="user", text=text)
        if not chat.title and not text.startswith("/"):  # the first idea names the session
            row = chat_log.get_session(session=session, session_id=chat.id)
            row.title = chat.title = " ".join(text.split())[:TITLE]
            session.add(row)
            session.commit()


def add_reply(engine: Engine, reply: Reply) -> None:
    data = reply.model_dump(mode="json", exclude={"session_id", "text"}, exclude_defaults=True)
    with Session(engine) as session:
        chat_log.add_message(session=session, session_id=reply.session_id, role="assistant", text=reply.text,
                             data=data)


def current_draft(history: list[ChatMessage]) -> Draft | None:
    """The latest draft an assistant message carries (a /draft reply carries the same one again)."""
    for message in reversed(history):
        if message.role == "assistant" and message.data.get("draft"):
            return Draft.model_validate(message.data["draft"])
    return None


def tried(history: list[ChatMessage]) -> list[TryResult]:
    """The evaluations /try ran in this session, one per candidate (the latest), in order."""
    found: dict[str, TryResult] = {}
    for message in history:
        if message.role == "assistant" and message.data.get("evaluation"):
            result = TryResult.model_validate(message.data["evaluation"])
            found[result.candidate_id] = result
    return list(found.values())


def turns(history: list[ChatMessage]) -> int:
    return sum(1 for m in history if m.role == "user")
