"""What the LLM roles are asked to answer: JSON schemas sent as structured output.

These are the model's side of each hand-off; the role modules check them against the run (parents that
exist, derivations valid in the space, edits that apply) and turn them into Plan, Proposal, Verdict and
Insight (agents/state.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class PlanAnswer(BaseModel):
    move: Literal["explore", "refine", "combine", "new_space"] = Field(
        description="refine one parent, combine two, explore the space afresh, or propose a new search space")
    parents: list[str] = Field(default_factory=list, description="candidate ids: one to refine, two to combine")
    hypothesis: str = Field(min_length=8, description="what this step tests, and why")
    expected_effect: str = Field(default="", description="what the result shows if the hypothesis holds")


class Edit(BaseModel):
    search: str = Field(description="text copied exactly from the parent's source, found once")
    replace: str


class CodeAnswer(BaseModel):
    kind: Literal["source", "derivation", "edit", "grammar"] = Field(
        description="source: a whole module; derivation: a tree in the space; edit: SEARCH/REPLACE blocks on "
                    "the parent's source; grammar: a new search space (grammar text)")
    rationale: str = Field(min_length=4)
    summary: str = Field(default="", description="one line naming the architecture's parts")
    source: str | None = Field(default=None, description="kind=source: a Python module defining build_model(task)")
    derivation: dict[str, Any] | None = Field(default=None, description="kind=derivation: the tree's JSON form")
    edits: list[Edit] = Field(default_factory=list, description="kind=edit: applied in order to the parent's source")
    grammar: str | None = Field(default=None, description="kind=grammar: the grammar text")
    grammar_code: str = Field(default="", description="kind=grammar: Python code of its `terminal` blocks, if any")


class ReviewAnswer(BaseModel):
    decision: Literal["accept", "revise", "reject"]
    reason: str = Field(min_length=4, description="why; for revise, what the coder must change")


class InsightAnswer(BaseModel):
    claim: str = Field(min_length=8, description="a general, testable claim with its numbers")
    kind: Literal["design_principle", "failure_mode", "hypothesis"] = "hypothesis"
    evidence: list[str] = Field(min_length=1, description="candidate ids of this run the claim rests on")
    confidence: float = Field(ge=0, le=1)
    relation: Literal["new", "confirms", "contradicts"] = "new"
    concept_id: int | None = Field(default=None, description="the stored concept it confirms or contradicts")


class InsightsAnswer(BaseModel):
    insights: list[InsightAnswer] = Field(default_factory=list, max_length=3)
