"""What a chat turn is grounded in: concepts from the memory and past candidates of the task (the best,
and those whose summary shares words with the message), with the ids the reply names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import col, select

from archlab.agents.chat.models import CandidateRef, ConceptRef
from archlab.agents.context import RunContext
from archlab.errors import ConfigError
from archlab.memory.retrieve import Filters
from archlab.spaces import Node
from archlab.store import Candidate, Evaluation
from archlab.store.retrieval_log import LogContext

CONCEPTS = 3  # concepts retrieved per turn
BEST = 3  # best candidates of the task shown per turn
MENTIONED = 3  # candidates whose summary matches the message
_WORD = re.compile(r"[a-z][a-z0-9_]+")


@dataclass
class Evaluated:
    """A candidate with its best objective on the task (ok training evaluations only): `value` as measured,
    `key` with higher better (bits per byte enter negated)."""

    candidate: Candidate
    value: float
    key: float
    accuracy: float | None = None  # its validation accuracy where the task has one


@dataclass
class Grounding:
    concepts: list[ConceptRef] = field(default_factory=list)
    candidates: list[CandidateRef] = field(default_factory=list)
    evaluated: list[Evaluated] = field(default_factory=list)  # the task's, best first


def ground(ctx: RunContext, text: str, *, turn: int) -> Grounding:
    evaluated = evaluated_in_task(ctx)
    return Grounding(concepts=concepts(ctx, text, turn=turn), candidates=candidate_refs(evaluated, text),
                     evaluated=evaluated)


def concepts(ctx: RunContext, text: str, *, turn: int) -> list[ConceptRef]:
    """The concepts of the memory nearest the message, for this task and space (logged as the chat's)."""
    if ctx.memory is None:
        return []
    hits = ctx.memory.retrieve(text, k=CONCEPTS, filters=Filters(task=ctx.task.name, space=ctx.space.name),
                               log_as=LogContext(run_id=None, step=turn, attempt=0, agent="chat"))
    return [ConceptRef(id=h.concept.id, claim=h.concept.claim, kind=str(h.concept.kind),
                       confidence=round(h.concept.confidence, 2)) for h in hits]


def evaluated_in_task(ctx: RunContext) -> list[Evaluated]:
    """Every candidate with an ok training result on the task (any run, `archlab eval`, a chat), best first."""
    query = (select(Candidate, Evaluation)
             .join(Evaluation, col(Evaluation.fingerprint) == col(Candidate.fingerprint))
             .where(Evaluation.task == ctx.task.name, Evaluation.stage == "train", Evaluation.status == "ok",
                    col(Candidate.status) == "evaluated"))
    best: dict[str, Evaluated] = {}
    objective = ctx.objective
    with ctx.session() as session:
        for cand, ev in session.exec(query).all():
            value = objective.value(ev.metrics)
            if value is not None and (cand.id not in best or objective.key(ev.metrics) > best[cand.id].key):
                best[cand.id] = Evaluated(cand, value, objective.key(ev.metrics), ev.metrics.get("val_acc"))
    return sorted(best.values(), key=lambda e: (-e.key, e.candidate.params or 0))


def candidate_refs(evaluated: list[Evaluated], text: str) -> list[CandidateRef]:
    """The best of the task, then those whose summary shares the most words with the message."""
    words = set(_WORD.findall(text.lower()))

    def overlap(entry: Evaluated) -> int:
        return len(words & set(_WORD.findall(entry.candidate.summary.lower())))

    mentioned = sorted((e for e in evaluated[BEST:] if overlap(e)), key=lambda e: -overlap(e))[:MENTIONED]
    return [_ref(e, "best") for e in evaluated[:BEST]] + [_ref(e, "mentioned") for e in mentioned]


def parent_in_space(ctx: RunContext, evaluated: list[Evaluated], text: str) -> tuple[Evaluated, Node] | None:
    """The candidate to mutate: one the message names by id, else the best whose derivation is in the space."""
    named = [e for e in evaluated if e.candidate.id.lower() in text.lower()]
    for entry in named + evaluated:
        tree = _tree(ctx, entry.candidate)
        if tree is not None:
            return entry, tree
    return None


def _tree(ctx: RunContext, candidate: Candidate) -> Node | None:
    if not candidate.derivation:
        return None
    try:
        return ctx.space.load_tree(candidate.derivation)
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


def _ref(entry: Evaluated, why: str) -> CandidateRef:
    c = entry.candidate
    accuracy = None if entry.accuracy is None else round(entry.accuracy, 4)
    return CandidateRef(id=c.id, summary=c.summary or "(free-form module)", val_acc=accuracy,
                        params=c.params, run_id=c.run_id, why=why)
