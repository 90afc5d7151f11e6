"""/save: a person's conclusion as a concept of the memory, scoped to the chat's task and space, with the
drafts this chat trained successfully as its supporting evidence (the person draws the conclusion from them;
nothing here judges whether they bear it out)."""

from __future__ import annotations

from dataclasses import dataclass

from archlab.agents.chat.models import TryResult
from archlab.agents.context import RunContext
from archlab.errors import ConfigError
from archlab.memory.concept_memory import AddResult
from archlab.store.concepts import ConceptCreate, ConceptKind, ConceptPublic
from archlab.store.evidence import Direction, EvidenceCreate


@dataclass
class Saved:
    added: AddResult  # created, or merged into a stored paraphrase
    concept: ConceptPublic  # as it stands with the evidence
    evidence: list[str]  # candidate ids cited


def save(ctx: RunContext, claim: str, *, session_id: str, tried: list[TryResult]) -> Saved:
    if ctx.memory is None:
        raise ConfigError("this chat has no concept memory to save into")
    try:
        concept_in = ConceptCreate(claim=claim, kind=ConceptKind.hypothesis, task=ctx.task.name,
                                   space=ctx.space.name, source=f"chat {session_id}", tags=["chat"])
    except ValueError as exc:  # pydantic's ValidationError: e.g. a claim of one word
        raise ConfigError(_first_error(exc)) from None
    added = ctx.memory.add(concept_in)
    concept = added.concept
    cited = [t for t in tried if t.status == "ok" and t.evaluation_id is not None]
    for t in cited:
        concept = ctx.memory.add_evidence(EvidenceCreate(
            concept_id=added.concept.id, candidate_id=t.candidate_id, evaluation_id=t.evaluation_id,
            direction=Direction.supports, fidelity=t.steps,
            note=f"tried in chat {session_id}" + (f": val {t.val_acc:.4f}" if t.val_acc is not None else "")))
    return Saved(added, concept, [t.candidate_id for t in cited])


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return errors()[0]["msg"].removeprefix("Value error, ")
    return str(exc)
