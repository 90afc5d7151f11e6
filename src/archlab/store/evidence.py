"""Evidence: one result (a candidate's evaluation) that supports or contradicts one concept.

Candidate and evaluation ids are soft references: evidence imported from another workspace keeps
them even though those rows are not here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from archlab.store.models import utcnow


class Direction(StrEnum):
    supports = "supports"
    contradicts = "contradicts"


class EvidenceBase(SQLModel):
    concept_id: int = Field(foreign_key="concept.id", index=True)
    candidate_id: str = Field(min_length=1)
    evaluation_id: int | None = None
    run_id: str | None = Field(default=None, index=True)
    direction: Direction
    effect_size: float | None = None  # e.g. validation accuracy of the child minus its parent's
    fidelity: int = Field(default=0, ge=0)  # training steps behind the result; 0 for build-only results
    seeds: int = Field(default=1, ge=1)  # independent seeds the result averages over
    note: str = ""


class EvidenceCreate(EvidenceBase):
    pass


class Evidence(EvidenceBase, table=True):
    # A resumed step re-runs the analyst: the same result must not count twice.
    __table_args__ = (UniqueConstraint("concept_id", "candidate_id", "evaluation_id", "direction"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class EvidencePublic(EvidenceBase):
    id: int
    created_at: datetime
