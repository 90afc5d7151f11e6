"""Concept records: a claim with its kind and scope, the links between claims, and their embeddings.

Shapes follow the store's convention: `ConceptBase` (the fields a person or an agent writes),
`ConceptCreate` (validated input), `Concept` (the table), `ConceptPublic` (what is read back).
Concepts are never deleted: one that evidence refutes is retired and keeps the reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from archlab.store.models import utcnow

MAX_CLAIM = 1000


class ConceptKind(StrEnum):
    design_principle = "design_principle"
    failure_mode = "failure_mode"
    hypothesis = "hypothesis"
    literature_finding = "literature_finding"


class ConceptStatus(StrEnum):
    active = "active"
    retired = "retired"


class LinkKind(StrEnum):
    refines = "refines"  # source is a narrower (scoped) form of target
    contradicts = "contradicts"
    duplicates = "duplicates"


# Prior confidence of a concept that has no evidence yet, by kind (see confidence.py).
DEFAULT_PRIOR = {ConceptKind.literature_finding: 0.6, ConceptKind.design_principle: 0.5,
                 ConceptKind.failure_mode: 0.5, ConceptKind.hypothesis: 0.4}


class ConceptBase(SQLModel):
    claim: str = Field(max_length=MAX_CLAIM)
    kind: ConceptKind = ConceptKind.hypothesis
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    task: str | None = Field(default=None, index=True)  # None: holds for any task
    space: str | None = Field(default=None, index=True)  # None: holds for any search space
    scale: str | None = None  # free text, e.g. "<100k params"
    source: str = ""  # a paper's title, or the run that found it


class ConceptCreate(ConceptBase):
    prior: float | None = Field(default=None, ge=0.0, le=1.0)  # None: by kind (DEFAULT_PRIOR)
    uid: str | None = None  # stable identity across workspaces (export / import, seeds)

    @field_validator("claim")
    @classmethod
    def _claim_text(cls, value: str) -> str:
        text = " ".join(value.split())
        if len(text) < 8:
            raise ValueError("a claim needs at least a few words")
        return text

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return sorted({t.strip().lower() for t in value if t.strip()})

    @field_validator("task", "space", "scale")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class Concept(ConceptBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: uuid.uuid4().hex, unique=True)
    status: ConceptStatus = Field(default=ConceptStatus.active, index=True)
    retired_reason: str | None = None
    retired_run_id: str | None = None
    prior: float = 0.5
    confidence: float = Field(default=0.5, index=True)
    supports: int = 0  # independent supporting candidates
    contradicts: int = 0  # independent contradicting candidates
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON))  # paraphrases merged in
    run_id: str | None = Field(default=None, index=True)  # the run that created it, if any
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ConceptPublic(ConceptBase):
    id: int
    uid: str
    status: ConceptStatus
    retired_reason: str | None
    retired_run_id: str | None
    prior: float
    confidence: float
    supports: int
    contradicts: int
    aliases: list[str]
    run_id: str | None
    created_at: datetime
    updated_at: datetime


class ConceptLinkBase(SQLModel):
    source_id: int = Field(foreign_key="concept.id", index=True)
    target_id: int = Field(foreign_key="concept.id", index=True)
    kind: LinkKind
    note: str = ""


class ConceptLink(ConceptLinkBase, table=True):
    __table_args__ = (UniqueConstraint("source_id", "target_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class ConceptLinkPublic(ConceptLinkBase):
    id: int


class ConceptVector(SQLModel, table=True):
    """A concept's claim embedded by one embedder; the vector index mirrors these rows."""

    concept_id: int = Field(foreign_key="concept.id", primary_key=True)
    model: str = Field(primary_key=True)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, unit length
