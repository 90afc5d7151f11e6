"""The typed hand-offs between roles, and the graph state that carries them.

The hand-offs travel in the state as the pydantic models themselves. The checkpointer stores them through
`serializer()`, which reconstructs exactly these types and no others. A checkpoint written before the state was
typed holds them as plain dicts: the readers below (`plan_of`, ...) take either form, so an old run resumes.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, Field


class Plan(BaseModel):
    move: Literal["explore", "refine", "combine", "new_space", "draft"]  # draft: a person's, via steering
    parents: list[str] = Field(default_factory=list)
    hypothesis: str
    space: str
    concepts: list[int] = Field(default_factory=list)  # memory the planner retrieved for this plan
    expected_effect: str = ""  # what the planner expects to see if the hypothesis holds
    ideas: list[int] = Field(default_factory=list)  # queued user ideas the planner saw
    by: Literal["offline", "llm"] = "offline"
    derivation: dict[str, Any] | None = None  # a search strategy's exact choice; the coder compiles it as is


class Proposal(BaseModel):
    # sample / mutate (offline); write (free-form source), derive (a derivation in the space), edit (of the
    # parent's source), grammar (a sample of a new grammar), repair (after a failed build or a review);
    # user: a person's draft, queued by steering
    origin: Literal["sample", "mutate", "write", "derive", "edit", "grammar", "repair", "user"]
    parents: list[str] = Field(default_factory=list)
    rationale: str
    source: str
    derivation: dict[str, Any] | None = None
    derivation_hash: str | None = None
    summary: str = ""
    by: Literal["offline", "llm"] = "offline"
    space: str | None = None  # the space of a derivation outside the run's own (a proposed grammar's name)


class Verdict(BaseModel):
    decision: Literal["accept", "revise", "reject"]  # revise: back to the coder with the reason (bounded)
    reason: str = ""
    candidate_id: str
    concepts: list[int] = Field(default_factory=list)  # memory the critic retrieved for this proposal
    by: Literal["offline", "llm"] = "offline"


class Insight(BaseModel):
    candidate_id: str
    parent_id: str | None
    claim: str
    delta: float | None
    concepts: list[int] = Field(default_factory=list)  # concepts the analyst wrote evidence for
    evidence: list[str] = Field(default_factory=list)  # candidate ids the claim rests on
    fidelity: int | None = None  # training steps behind the numbers
    seeds: int = 1
    confidence: float | None = None
    relation: Literal["new", "confirms", "contradicts"] = "new"  # to the concepts already stored
    by: Literal["offline", "llm"] = "offline"


class DiscoveryState(TypedDict, total=False):
    run_id: str
    step: int  # one step ends with one candidate evaluated (or the run stopping)
    attempt: int  # proposals made within this step; rejections increase it
    plan: Plan | None
    proposal: Proposal | None
    verdict: Verdict | None
    insight: Insight | None
    insights: list[Insight]  # the LLM analyst's, beside the offline comparison in `insight`
    revisions: int  # times the current proposal went back to the coder (repair or revise)
    done: bool
    stopped: bool  # a person stopped the run (steering)
    space_phase: dict | None  # offline evolution in a new space the LLM proposed (agents/space_phase.py)
    pending: list[str]  # accepted candidates still training (candidates in flight, agents/evaluation/inflight.py)
    finished: list[str] | None  # candidates whose training just ended, for the analyst
    stop_reason: str | None


HANDOFFS = (Plan, Proposal, Verdict, Insight)


def serializer() -> JsonPlusSerializer:
    """The checkpointer's serde: msgpack, reconstructing the hand-off models and refusing any other class."""
    return JsonPlusSerializer(allowed_msgpack_modules=HANDOFFS)


def plan_of(state: DiscoveryState) -> Plan | None:
    value = state.get("plan")
    return None if value is None else Plan.model_validate(value)


def proposal_of(state: DiscoveryState) -> Proposal | None:
    value = state.get("proposal")
    return None if value is None else Proposal.model_validate(value)


def verdict_of(state: DiscoveryState) -> Verdict | None:
    value = state.get("verdict")
    return None if value is None else Verdict.model_validate(value)


def insight_of(state: DiscoveryState) -> Insight | None:
    value = state.get("insight")
    return None if value is None else Insight.model_validate(value)
