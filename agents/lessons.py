"""What the offline analyst learns from one comparison: a claim about the change from parent to child,
with the child's result as evidence for or against it.

The claim is always phrased "... improves validation accuracy", so every later child that makes the
same change adds evidence to the same concept (supporting or contradicting) instead of a new one.
"""

from __future__ import annotations

import re
from collections import Counter

from archlab.agents.context import RunContext
from archlab.agents.state import Insight
from archlab.knowledge import Candidate, Evaluation, store
from archlab.knowledge.concepts import ConceptCreate, ConceptKind
from archlab.knowledge.evidence import Direction, EvidenceCreate

NOISE = 0.01  # a validation-accuracy delta smaller than this (one seed) is neither support nor contradiction
_PART = re.compile(r"[A-Za-z_][\w.]*(?:\([^()]*\))?")


def change(parent_summary: str, child_summary: str) -> str | None:
    """The parts of the parent's summary the child drops and adds, e.g. 'relu to gelu'; None if none."""
    parent, child = Counter(_PART.findall(parent_summary)), Counter(_PART.findall(child_summary))
    removed, added = sorted((parent - child).elements()), sorted((child - parent).elements())
    if not removed and not added:
        return None
    if not removed:
        return "adding " + ", ".join(added)
    if not added:
        return "removing " + ", ".join(removed)
    return f"changing {', '.join(removed)} to {', '.join(added)}"


def improves_claim(task: str, space: str, what: str) -> str:
    return f"On {task} in the {space} space, {what} improves validation accuracy"


def fails_claim(task: str, space: str, what: str) -> str:
    return f"On {task} in the {space} space, {what} makes training fail"


def lesson(task: str, space: str, parent: Candidate, child: Candidate, delta: float | None,
           failed: bool) -> tuple[ConceptCreate, Direction] | None:
    """The concept a comparison bears on, and whether the child supports or contradicts it."""
    what = change(parent.summary, child.summary)
    if what is None:
        return None
    scope = {"task": task, "space": space, "tags": ["offline analyst"]}
    if failed:
        return ConceptCreate(claim=fails_claim(task, space, what), kind=ConceptKind.failure_mode, **scope), \
            Direction.supports
    if delta is None or abs(delta) < NOISE:
        return None
    return (ConceptCreate(claim=improves_claim(task, space, what), kind=ConceptKind.hypothesis, **scope),
            Direction.supports if delta > 0 else Direction.contradicts)


def learn(ctx: RunContext, child: Candidate, insight: Insight, board: list[tuple[Candidate, Evaluation]]) -> list[int]:
    """Write the comparison into the memory; the ids of the concepts it added evidence to."""
    parent_id = insight.parent_id or next(iter(child.parent_ids), None)
    if ctx.memory is None or ctx.run_id is None or parent_id is None:
        return []
    with ctx.session() as session:
        parent = store.get_candidate(session=session, candidate_id=parent_id)
        trained = [e for e in store.candidate_evaluations(session=session, candidate_id=child.id) if e.stage == "train"]
    # An evaluation reused from an earlier run belongs to that run's candidate: the board has it.
    evaluation = dict((c.id, e) for c, e in board).get(child.id) or (trained[-1] if trained else None)
    found = evaluation and parent and lesson(ctx.task.name, ctx.space.name, parent, child, insight.delta,
                                             failed=evaluation.status != "ok")
    if not found:
        return []
    concept_in, direction = found
    concept_in.source = f"run {ctx.run_id}"
    concept = ctx.memory.add(concept_in, run_id=ctx.run_id).concept
    ctx.memory.add_evidence(EvidenceCreate(
        concept_id=concept.id, candidate_id=child.id, evaluation_id=evaluation.id, run_id=ctx.run_id,
        direction=direction, effect_size=insight.delta, fidelity=evaluation.fidelity, seeds=1,
        note=f"{child.id} vs parent {parent.id}: {evaluation.status}"))
    return [concept.id]
