"""Store functions for concepts, their links, vectors and evidence: keyword-only, typed.

Functions that write flush but leave the commit to the caller, so a batch (a seed file, an import)
is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from archlab.memory.confidence import refutation, tally
from archlab.store.concepts import (
    DEFAULT_PRIOR,
    Concept,
    ConceptCreate,
    ConceptLink,
    ConceptStatus,
    ConceptVector,
    LinkKind,
)
from archlab.store.evidence import Evidence, EvidenceCreate
from archlab.store.models import utcnow


def insert_concept(*, session: Session, concept_in: ConceptCreate, run_id: str | None) -> Concept:
    fields = concept_in.model_dump(exclude={"prior", "uid"})
    prior = concept_in.prior if concept_in.prior is not None else DEFAULT_PRIOR[concept_in.kind]
    concept = Concept(**fields, prior=prior, confidence=prior, run_id=run_id)
    if concept_in.uid:
        concept.uid = concept_in.uid
    session.add(concept)
    session.flush()
    return concept


def merge_into(*, session: Session, concept: Concept, concept_in: ConceptCreate) -> Concept:
    """A paraphrase joins an existing concept: its wording becomes an alias, its tags are added."""
    if concept_in.claim != concept.claim and concept_in.claim not in concept.aliases:
        concept.aliases = [*concept.aliases, concept_in.claim]
    concept.tags = sorted(set(concept.tags) | set(concept_in.tags))
    concept.updated_at = utcnow()
    session.add(concept)
    session.flush()
    return concept


def store_vector(*, session: Session, concept_id: int, model: str, vector: np.ndarray) -> None:
    session.add(ConceptVector(concept_id=concept_id, model=model, vector=vector.astype(np.float32).tobytes()))


def missing_vectors(*, session: Session, model: str) -> Sequence[Concept]:
    """Concepts with no vector from this embedder (stored under another, or imported)."""
    have = select(ConceptVector.concept_id).where(ConceptVector.model == model)
    return session.exec(select(Concept).where(col(Concept.id).not_in(have)).order_by(col(Concept.id))).all()


def add_link(*, session: Session, source_id: int, target_id: int, kind: LinkKind, note: str = "") -> ConceptLink:
    found = session.exec(select(ConceptLink).where(ConceptLink.source_id == source_id,
                                                   ConceptLink.target_id == target_id,
                                                   ConceptLink.kind == kind)).first()
    if found is not None:
        return found
    link = ConceptLink(source_id=source_id, target_id=target_id, kind=kind, note=note)
    session.add(link)
    session.flush()
    return link


def add_evidence(*, session: Session, evidence_in: EvidenceCreate) -> tuple[Concept, bool]:
    """Record a result and recompute the concept's confidence; (concept, whether the result was new).

    The concept is retired when the evidence refutes it (see confidence.refutation).
    """
    concept = session.get(Concept, evidence_in.concept_id)
    if concept is None:
        raise KeyError(evidence_in.concept_id)
    if _evidence_exists(session, evidence_in):
        return concept, False
    session.add(Evidence.model_validate(evidence_in))
    session.flush()
    return recompute(session=session, concept=concept, run_id=evidence_in.run_id), True


def recompute(*, session: Session, concept: Concept, run_id: str | None = None) -> Concept:
    result = tally(concept_evidence(session=session, concept_id=concept.id), concept.prior)
    concept.confidence, concept.supports, concept.contradicts = result.confidence, result.supports, result.contradicts
    reason = refutation(result)
    if reason and concept.status == ConceptStatus.active:
        concept.status, concept.retired_reason, concept.retired_run_id = ConceptStatus.retired, reason, run_id
    concept.updated_at = utcnow()
    session.add(concept)
    session.flush()
    return concept


def retire(*, session: Session, concept: Concept, reason: str, run_id: str | None = None) -> Concept:
    concept.status, concept.retired_reason, concept.retired_run_id = ConceptStatus.retired, reason, run_id
    concept.updated_at = utcnow()
    session.add(concept)
    session.flush()
    return concept


def _evidence_exists(session: Session, evidence_in: EvidenceCreate) -> bool:
    # Checked here because SQL unique constraints treat a NULL evaluation_id as always distinct.
    query = select(Evidence.id).where(Evidence.concept_id == evidence_in.concept_id,
                                      Evidence.candidate_id == evidence_in.candidate_id,
                                      Evidence.direction == evidence_in.direction)
    evaluation = col(Evidence.evaluation_id)
    query = query.where(evaluation.is_(None) if evidence_in.evaluation_id is None
                        else evaluation == evidence_in.evaluation_id)
    return session.exec(query).first() is not None


def get_concept(*, session: Session, concept_id: int) -> Concept | None:
    return session.get(Concept, concept_id)


def get_by_uid(*, session: Session, uid: str) -> Concept | None:
    return session.exec(select(Concept).where(Concept.uid == uid)).first()


def concepts_with_claims(*, session: Session, claims: Sequence[str]) -> Sequence[Concept]:
    """The concepts whose claim is exactly one of these (not their merged paraphrases)."""
    return session.exec(select(Concept).where(col(Concept.claim).in_(list(claims)))).all()


def count_concepts(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(Concept)).one()


def all_concepts(*, session: Session) -> Sequence[Concept]:
    return session.exec(select(Concept).order_by(col(Concept.id))).all()


def concept_evidence(*, session: Session, concept_id: int) -> Sequence[Evidence]:
    return session.exec(select(Evidence).where(Evidence.concept_id == concept_id)
                        .order_by(col(Evidence.created_at), col(Evidence.id))).all()


def concept_links(*, session: Session, concept_id: int) -> Sequence[ConceptLink]:
    return session.exec(select(ConceptLink).where((col(ConceptLink.source_id) == concept_id)
                                                  | (col(ConceptLink.target_id) == concept_id))
                        .order_by(col(ConceptLink.id))).all()


@dataclass(frozen=True)
class RunChange:
    """A concept the run created or found evidence for."""

    concept: Concept
    created: bool
    supports: int  # results from this run
    contradicts: int
    retired_here: bool


def run_changes(*, session: Session, run_id: str) -> list[RunChange]:
    evidence = session.exec(select(Evidence).where(Evidence.run_id == run_id)).all()
    created = session.exec(select(Concept).where(Concept.run_id == run_id)).all()
    touched = {c.id: c for c in created}
    ids = {e.concept_id for e in evidence} - set(touched)
    if ids:
        touched |= {c.id: c for c in session.exec(select(Concept).where(col(Concept.id).in_(ids)))}
    changes = []
    for cid, concept in sorted(touched.items()):
        mine = [e for e in evidence if e.concept_id == cid]
        changes.append(RunChange(concept=concept, created=concept.run_id == run_id,
                                 supports=sum(e.direction == "supports" for e in mine),
                                 contradicts=sum(e.direction == "contradicts" for e in mine),
                                 retired_here=concept.retired_run_id == run_id))
    return changes
