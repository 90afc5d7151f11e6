"""Chat ideation sessions kept in the workspace: every message, and what the assistant did for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from archlab.store.models import utcnow


class ChatSession(SQLModel, table=True):
    id: str = Field(primary_key=True)
    title: str = ""
    task: str
    space: str
    run_id: str | None = None  # a run this chat queues drafts into, when there is one
    created_at: datetime = Field(default_factory=utcnow)


class ChatMessage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True)
    role: str  # user | assistant | system
    text: str
    # what the turn produced: a draft, the concepts and candidates retrieved, a review, an evaluation
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


def add_session(*, session: Session, chat: ChatSession) -> ChatSession:
    session.add(chat)
    session.commit()
    session.refresh(chat)
    return chat


def get_session(*, session: Session, session_id: str) -> ChatSession | None:
    return session.get(ChatSession, session_id)


def list_sessions(*, session: Session) -> Sequence[ChatSession]:
    return session.exec(select(ChatSession).order_by(col(ChatSession.created_at).desc())).all()


def add_message(*, session: Session, session_id: str, role: str, text: str,
                data: dict[str, Any] | None = None) -> ChatMessage:
    message = ChatMessage(session_id=session_id, role=role, text=text, data=data or {})
    session.add(message)
    session.commit()
    session.refresh(message)
    return message


def messages(*, session: Session, session_id: str) -> Sequence[ChatMessage]:
    return session.exec(select(ChatMessage).where(ChatMessage.session_id == session_id)
                        .order_by(col(ChatMessage.id))).all()
