"""What the LLM roles did in a run, kept with the run: every call (tokens, cost, latency, faults), every
hand-off a role produced (plans, verdicts, insights), and the ideas people queued for the planner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, func
from sqlmodel import Field, Session, SQLModel, col, select

from archlab.store.models import utcnow


class LLMCall(SQLModel, table=True):
    """One structured-output request to an LLM endpoint (its transport retries included)."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, index=True)
    step: int = 0
    attempt: int = 0
    role: str  # planner | coder | critic | analyst
    model: str
    status: str  # ok | invalid | timeout | rate_limited | server_error | connection | budget
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    requests: int = 0  # HTTP requests the client sent (its own retries included)
    faults: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))  # e.g. {"429": 1, "timeout": 2}
    validation_retries: int = 0  # answers that did not validate and were asked again
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AgentNote(SQLModel, table=True):
    """A hand-off an LLM role produced (plan, verdict, insight, proposal) or a fault it handled."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    step: int = 0
    attempt: int = 0
    role: str
    kind: str  # plan | proposal | verdict | insight | fault
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class Idea(SQLModel, table=True):
    """A person's idea queued into a run; the planner sees it at its next step."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    text: str
    status: str = "queued"  # queued | seen
    seen_step: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


def add_call(*, session: Session, call: LLMCall) -> LLMCall:
    session.add(call)
    session.commit()
    session.refresh(call)
    return call


def run_calls(*, session: Session, run_id: str) -> Sequence[LLMCall]:
    return session.exec(select(LLMCall).where(LLMCall.run_id == run_id).order_by(col(LLMCall.id))).all()


def run_usage(*, session: Session, run_id: str) -> tuple[int, float, float]:
    """(tokens, dollars, seconds) the run's LLM calls have used so far, resumes included."""
    row = session.exec(select(func.coalesce(func.sum(LLMCall.prompt_tokens + LLMCall.completion_tokens), 0),
                              func.coalesce(func.sum(LLMCall.cost_usd), 0.0),
                              func.coalesce(func.sum(LLMCall.latency_s), 0.0))
                       .where(LLMCall.run_id == run_id)).one()
    return int(row[0]), float(row[1]), float(row[2])


def add_note(*, session: Session, run_id: str, step: int, attempt: int, role: str, kind: str,
             data: dict[str, Any]) -> None:
    session.add(AgentNote(run_id=run_id, step=step, attempt=attempt, role=role, kind=kind, data=data))
    session.commit()


def run_notes(*, session: Session, run_id: str, kind: str | None = None) -> Sequence[AgentNote]:
    query = select(AgentNote).where(AgentNote.run_id == run_id)
    if kind is not None:
        query = query.where(AgentNote.kind == kind)
    return session.exec(query.order_by(col(AgentNote.id))).all()


def queue_idea(*, session: Session, run_id: str, text: str) -> Idea:
    idea = Idea(run_id=run_id, text=" ".join(text.split()))
    session.add(idea)
    session.commit()
    session.refresh(idea)
    return idea


def queued_ideas(*, session: Session, run_id: str) -> Sequence[Idea]:
    return session.exec(select(Idea).where(Idea.run_id == run_id, Idea.status == "queued")
                        .order_by(col(Idea.id))).all()


def mark_seen(*, session: Session, idea_ids: Sequence[int], step: int) -> None:
    for idea in session.exec(select(Idea).where(col(Idea.id).in_(list(idea_ids)))).all():
        idea.status, idea.seen_step = "seen", step
        session.add(idea)
    session.commit()
