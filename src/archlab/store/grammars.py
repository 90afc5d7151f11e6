"""Accepted search-space grammars, with provenance and statistics.

A grammar enters the store only after it parsed, validated and passed the sandbox check (see
archlab.agents.grammar_intake); a rejected one leaves nothing here. Names are unique within a
workspace, since `extends NAME` and `--space NAME` find a grammar by name; the id is the content
hash, so the same text and code proposed twice is one record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, select

from archlab.errors import StoreError
from archlab.store.models import utcnow


class GrammarBase(SQLModel):
    name: str = Field(index=True, unique=True)
    text: str
    code: str = ""  # Python source of the classes its `terminal` lines name
    parent: str | None = Field(default=None, description="the grammar it extends (a built-in or stored name)")
    parent_id: str | None = Field(default=None, description="the parent's record when it is stored")
    imports: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    proposed_by: str = Field(description="person, offline planner, or the LLM role and model")
    run_id: str | None = Field(default=None, index=True)
    task: str = Field(description="the task its samples were built for in the check")
    rationale: str = ""
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class GrammarRecord(GrammarBase, table=True):
    __tablename__ = "grammar"

    id: str = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class GrammarPublic(GrammarBase):
    id: str
    created_at: datetime


def add_grammar(*, session: Session, record: GrammarRecord) -> GrammarRecord:
    """Store an accepted grammar; the same content again returns the stored record.

    StoreError when another grammar already holds the name.
    """
    existing = get_grammar(session=session, name=record.name)
    if existing is not None:
        if existing.id == record.id:
            return existing
        raise StoreError(f"a different grammar named {record.name!r} is already stored ({existing.id}); "
                         "give this one another name")
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def get_grammar(*, session: Session, name: str) -> GrammarRecord | None:
    return session.exec(select(GrammarRecord).where(GrammarRecord.name == name)).first()


def list_grammars(*, session: Session) -> Sequence[GrammarRecord]:
    return session.exec(select(GrammarRecord).order_by(GrammarRecord.created_at)).all()


def children(*, session: Session, name: str) -> Sequence[GrammarRecord]:
    """Grammars that extend the named one."""
    return session.exec(select(GrammarRecord).where(GrammarRecord.parent == name)).all()
