"""A person steering a running search: the actions they request and what the run did with each.

Requests come from the CLI, the web app or a chat; the run applies them between steps (agents/steer.py)
and records the outcome on the same row, so the table is the run's steering history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from archlab.errors import ConfigError
from archlab.store import agent_log
from archlab.store.models import Candidate, Run, utcnow

# pause / resume / stop: the run's course; idea: free text for the planner; draft: an architecture to
# evaluate next; veto_candidate: never a parent again, off the leaderboard; veto_direction: the critic
# rejects proposals that match the text; budget: set the time budget (seconds) or move it by a delta.
KINDS = ("pause", "resume", "stop", "idea", "draft", "veto_candidate", "veto_direction", "budget")
ORIGINS = ("cli", "web", "chat")


class SteerAction(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    origin: str = "cli"
    status: str = "pending"  # pending | applied | refused
    note: str | None = None  # what the run did, or why it refused
    step: int | None = None  # the run's step when it applied the action
    created_at: datetime = Field(default_factory=utcnow)
    applied_at: datetime | None = None


def request(*, session: Session, run_id: str, kind: str, payload: dict[str, Any] | None = None,
            origin: str = "cli") -> SteerAction:
    """Record a request for the run; bad input raises ConfigError and records nothing."""
    run = session.get(Run, run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r}; `archlab runs` lists them")
    if origin not in ORIGINS:
        raise ConfigError(f"unknown origin {origin!r}; one of {', '.join(ORIGINS)}")
    payload = _validated(session, run_id, kind, dict(payload or {}))
    action = SteerAction(run_id=run_id, kind=kind, payload=payload, origin=origin)
    if kind == "idea":  # the planner reads ideas from their own queue; the action links to it
        action.payload["idea_id"] = agent_log.queue_idea(session=session, run_id=run_id, text=payload["text"]).id
    session.add(action)
    session.commit()
    session.refresh(action)
    return action


def _validated(session: Session, run_id: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise ConfigError(f"unknown steering action {kind!r}; one of {', '.join(KINDS)}")
    if kind in ("idea", "veto_direction"):
        text = " ".join(str(payload.get("text", "")).split())
        if not text:
            raise ConfigError(f"{kind.replace('_', ' ')} needs some text")
        return {**payload, "text": text[:2000]}
    if kind == "veto_candidate":
        cand = session.get(Candidate, str(payload.get("candidate_id", "")))
        if cand is None or cand.run_id != run_id:
            raise ConfigError(f"no candidate {payload.get('candidate_id')!r} in run {run_id}")
        return {"candidate_id": cand.id, "reason": str(payload.get("reason", ""))[:500]}
    if kind == "budget":
        return _budget_payload(payload)
    if kind == "draft":
        if not str(payload.get("source", "")).strip():
            raise ConfigError("a draft needs the candidate's source")
        return payload
    return {}


def _budget_payload(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        if "seconds" in payload:
            seconds = float(payload["seconds"])
            if seconds <= 0:
                raise ValueError
            return {"seconds": seconds}
        return {"delta_s": float(payload["delta_s"])}
    except (KeyError, TypeError, ValueError):
        raise ConfigError("a budget change needs seconds (> 0) or delta_s (seconds to add or, negative, "
                          "to remove)") from None


def pending(*, session: Session, run_id: str, kinds: Sequence[str] | None = None) -> Sequence[SteerAction]:
    query = select(SteerAction).where(SteerAction.run_id == run_id, SteerAction.status == "pending")
    if kinds is not None:
        query = query.where(col(SteerAction.kind).in_(list(kinds)))
    return session.exec(query.order_by(col(SteerAction.id))).all()


def settle(*, session: Session, action_id: int, status: str, note: str, step: int | None) -> None:
    action = session.get(SteerAction, action_id)
    action.status, action.note, action.step, action.applied_at = status, note[:1000], step, utcnow()
    session.add(action)
    session.commit()


def history(*, session: Session, run_id: str) -> Sequence[SteerAction]:
    return session.exec(select(SteerAction).where(SteerAction.run_id == run_id)
                        .order_by(col(SteerAction.id))).all()


def vetoed_directions(*, session: Session, run_id: str) -> list[str]:
    rows = session.exec(select(SteerAction).where(SteerAction.run_id == run_id,
                                                  SteerAction.kind == "veto_direction",
                                                  SteerAction.status == "applied")).all()
    return [r.payload["text"] for r in rows]
