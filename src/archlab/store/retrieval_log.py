"""The log of every retrieval made for an agent: which concepts it was shown, at which run step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from archlab.store.models import utcnow


class RetrievalLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, index=True)
    step: int = 0
    attempt: int = 0
    agent: str  # planner | critic | ...
    query: str
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    concept_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    scores: list[float] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class LogContext:
    """Who asked: the run, its step and attempt, and the agent role."""

    run_id: str | None
    step: int
    attempt: int
    agent: str


def log_retrieval(*, session: Session, context: LogContext, query: str, filters: dict[str, Any],
                  concept_ids: list[int], scores: list[float]) -> None:
    session.add(RetrievalLog(run_id=context.run_id, step=context.step, attempt=context.attempt, agent=context.agent,
                             query=query, filters=filters, concept_ids=concept_ids, scores=scores))
    session.commit()


def run_retrievals(*, session: Session, run_id: str) -> Sequence[RetrievalLog]:
    return session.exec(select(RetrievalLog).where(RetrievalLog.run_id == run_id)
                        .order_by(col(RetrievalLog.step), col(RetrievalLog.attempt), col(RetrievalLog.id))).all()
