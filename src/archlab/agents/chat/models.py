"""What a chat turn hands back: the reply and its parts, as pydantic models (stored with each message)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Draft(BaseModel):
    """A concrete architecture: a derivation in `space` (compiled to `source`), or free-form source."""

    source: str
    derivation: dict[str, Any] | None = None
    derivation_hash: str | None = None  # the space's canonical form: equal for the same network
    space: str
    summary: str = ""
    rationale: str = ""
    by: Literal["offline", "llm"] = "offline"

    def payload(self) -> dict[str, Any]:
        """The steering payload of a queued draft (store/steering.py, kind "draft")."""
        data = {"source": self.source, "space": self.space, "summary": self.summary, "rationale": self.rationale}
        return {**data, "derivation": self.derivation} if self.derivation else data


class Review(BaseModel):
    """The critic's verdict on a draft, before any compute is spent on it."""

    decision: Literal["accept", "revise", "reject"]
    reason: str = ""
    duplicate_of: str | None = None  # a stored candidate with the same derivation or source
    checks: list[str] = Field(default_factory=list)  # what was checked, in order
    by: Literal["offline", "llm"] = "offline"


class ConceptRef(BaseModel):
    id: int
    claim: str
    kind: str
    confidence: float


class CandidateRef(BaseModel):
    id: str
    summary: str
    val_acc: float | None = None
    params: int | None = None
    run_id: str | None = None  # None: evaluated outside a run (`archlab eval`, a chat's /try)
    why: Literal["best", "mentioned"] = "best"  # best of the task, or its summary shares words with the message


class TryResult(BaseModel):
    """A quick sandboxed evaluation of a draft (build, then a short training), as stored."""

    candidate_id: str
    status: str  # a sandbox JobStatus of the last stage run
    stage: str  # static | build | train: where it ended
    steps: int
    params: int | None = None
    flops: int | None = None
    val_acc: float | None = None
    val_bpb: float | None = None  # language-model tasks
    wall_s: float = 0.0  # build and training together
    evaluation_id: int | None = None
    reused: bool = False  # the same network, task, steps and seed was evaluated before: not run again
    error: str | None = None


class Queued(BaseModel):
    """A draft queued into a run (a steering action the run applies before its next step)."""

    action_id: int
    run_id: str
    note: str


class Reply(BaseModel):
    session_id: str
    text: str
    llm: bool = False  # an LLM answered this turn
    command: str | None = None  # the slash command this turn ran, if any
    draft: Draft | None = None  # the draft this turn made (or showed, for /draft)
    review: Review | None = None
    concepts: list[ConceptRef] = Field(default_factory=list)
    candidates: list[CandidateRef] = Field(default_factory=list)
    evaluation: TryResult | None = None
    saved_concept: int | None = None
    queued: Queued | None = None
    done: bool = False  # /quit: the session ends (it can be resumed)
