"""The typed hand-offs between roles, and the graph state that carries them.

State values are plain dicts (model_dump) so the checkpointer stores them without custom serde;
each node re-validates the model it reads.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field


class Plan(BaseModel):
    move: Literal["explore", "refine"]
    parents: list[str] = Field(default_factory=list)
    hypothesis: str
    space: str


class Proposal(BaseModel):
    origin: Literal["sample", "mutate"]
    parents: list[str] = Field(default_factory=list)
    rationale: str
    source: str
    derivation: dict[str, Any] | None = None
    derivation_hash: str | None = None
    summary: str = ""


class Verdict(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str = ""
    candidate_id: str


class Insight(BaseModel):
    candidate_id: str
    parent_id: str | None
    claim: str
    delta: float | None


class DiscoveryState(TypedDict, total=False):
    run_id: str
    step: int  # one step ends with one candidate evaluated (or the run stopping)
    attempt: int  # proposals made within this step; rejections increase it
    plan: dict | None
    proposal: dict | None
    verdict: dict | None
    insight: dict | None
    done: bool
    stop_reason: str | None
