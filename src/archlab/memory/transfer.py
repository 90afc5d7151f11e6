"""Concepts as JSON Lines, for sharing between workspaces and teams (and for the literature seeds).

One concept a line: its claim, kind, scope, status, aliases, evidence and links (by the target's uid).
An import is read and validated whole before anything is stored: a bad line stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import Session

from archlab.errors import ConfigError
from archlab.memory import concept_store as cs
from archlab.memory.concept_memory import ConceptMemory
from archlab.store.concepts import ConceptCreate, ConceptStatus, LinkKind
from archlab.store.evidence import Direction, EvidenceCreate


class EvidenceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: str
    evaluation_id: int | None = None
    run_id: str | None = None
    direction: Direction
    effect_size: float | None = None
    fidelity: int = 0
    seeds: int = 1
    note: str = ""


class LinkRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: LinkKind
    target_uid: str
    note: str = ""


class ConceptRecord(ConceptCreate):
    model_config = ConfigDict(extra="forbid")

    uid: str
    status: ConceptStatus = ConceptStatus.active
    retired_reason: str | None = None
    aliases: list[str] = []
    evidence: list[EvidenceRecord] = []
    links: list[LinkRecord] = []


@dataclass
class ImportSummary:
    created: int = 0
    merged: int = 0  # paraphrases of a stored concept, merged into it
    existing: int = 0  # already here (same uid)
    evidence: int = 0  # new evidence rows
    links: int = 0
    ids: dict[str, int] = field(default_factory=dict)  # record uid -> concept id here


def export_lines(memory: ConceptMemory) -> Iterator[str]:
    with Session(memory.engine) as session:
        concepts = cs.all_concepts(session=session)
        uids = {c.id: c.uid for c in concepts}
        for concept in concepts:
            yield json.dumps(_record(session, concept, uids).model_dump(mode="json", exclude_defaults=True),
                             ensure_ascii=False)


def _record(session: Session, concept, uids: dict[int, str]) -> ConceptRecord:
    evidence = [EvidenceRecord.model_validate(e, from_attributes=True)
                for e in cs.concept_evidence(session=session, concept_id=concept.id)]
    links = [LinkRecord(kind=x.kind, target_uid=uids[x.target_id], note=x.note)
             for x in cs.concept_links(session=session, concept_id=concept.id) if x.source_id == concept.id]
    return ConceptRecord(uid=concept.uid, claim=concept.claim, kind=concept.kind, tags=concept.tags,
                         task=concept.task, space=concept.space, scale=concept.scale, source=concept.source,
                         prior=concept.prior, status=concept.status, retired_reason=concept.retired_reason,
                         aliases=concept.aliases, evidence=evidence, links=links)


def parse_lines(lines: Iterable[str], source: str) -> list[ConceptRecord]:
    """Every record of a JSON Lines text; ConfigError names the first bad line and field."""
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(ConceptRecord.model_validate_json(line))
        except ValidationError as exc:
            raise ConfigError(f"{source}:{number}: {_describe(exc)}") from None
    return records


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def import_records(memory: ConceptMemory, records: list[ConceptRecord]) -> ImportSummary:
    summary = ImportSummary()
    creates = [ConceptCreate.model_validate(r.model_dump(include=set(ConceptCreate.model_fields))) for r in records]
    for record, result in zip(records, memory.add_many(creates), strict=True):
        summary.ids[record.uid] = result.concept.id
        setattr(summary, result.action, getattr(summary, result.action) + 1)
    with Session(memory.engine) as session:
        for record in records:
            summary.evidence += _import_details(session, record, summary.ids)
        summary.links = sum(_import_links(session, r, summary.ids) for r in records)
        session.commit()
    return summary


def _import_details(session: Session, record: ConceptRecord, ids: dict[str, int]) -> int:
    concept = cs.get_concept(session=session, concept_id=ids[record.uid])
    for alias in record.aliases:
        cs.merge_into(session=session, concept=concept, concept_in=ConceptCreate(claim=alias, kind=concept.kind))
    added = 0
    for item in record.evidence:
        _, new = cs.add_evidence(session=session,
                                 evidence_in=EvidenceCreate(concept_id=concept.id, **item.model_dump()))
        added += new
    if record.status == ConceptStatus.retired and concept.status == ConceptStatus.active:
        cs.retire(session=session, concept=concept, reason=record.retired_reason or "retired where it was exported")
    return added


def _import_links(session: Session, record: ConceptRecord, ids: dict[str, int]) -> int:
    made = 0
    for link in record.links:
        target = ids.get(link.target_uid) or getattr(cs.get_by_uid(session=session, uid=link.target_uid), "id", None)
        if target is not None and target != ids[record.uid]:
            cs.add_link(session=session, source_id=ids[record.uid], target_id=target, kind=link.kind, note=link.note)
            made += 1
    return made
