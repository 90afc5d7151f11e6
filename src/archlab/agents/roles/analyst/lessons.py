"""What the offline analyst learns from one comparison: a claim about the change from parent to child,
with the child's result as evidence for or against it.

The claim is always phrased "... improves validation accuracy", so every later child that makes the
same change adds evidence to the same concept (supporting or contradicting) instead of a new one.

An exact change ("changing conv(32,k5,s1) to conv(64,k5,s1)") seldom recurs in a large space, so a
comparison also bears on its operator-level facets, which do: "more attn", "fewer bn", "raising conv's
#1" (an operator's numeric argument, named by its letter or its position). A change with more than
MAX_FACETS facets (a regrown subtree) says too little about any one of them and yields none.
"""

from __future__ import annotations

import re
from collections import Counter

from archlab.agents.context import RunContext
from archlab.agents.state import Insight
from archlab.store import Candidate, Evaluation
from archlab.store import records as store
from archlab.store.concepts import ConceptCreate, ConceptKind
from archlab.store.evidence import Direction, EvidenceCreate

NOISE = 0.01  # a validation-accuracy delta smaller than this (one seed) is neither support nor contradiction
MAX_FACETS = 3
_PART = re.compile(r"[A-Za-z_][\w.]*(?:\([^()]*\))?")
_ARG = re.compile(r"([a-z]*)(\d+(?:\.\d+)?)")


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


def facets(parent_summary: str, child_summary: str) -> list[str]:
    """Operator-level readings of the change: more or fewer of an operator, or one of its numeric
    arguments raised or lowered; none past MAX_FACETS."""
    parent, child = Counter(_PART.findall(parent_summary)), Counter(_PART.findall(child_summary))
    removed, added = parent - child, child - parent
    ops_before, ops_after = Counter(map(_op, parent.elements())), Counter(map(_op, child.elements()))
    found: set[str] = set()
    for op in sorted(set(ops_before) | set(ops_after)):
        if ops_after[op] != ops_before[op]:
            found.add(f"{'more' if ops_after[op] > ops_before[op] else 'fewer'} {op}")
            continue
        before = sorted(p for p in removed.elements() if _op(p) == op)
        after = sorted(p for p in added.elements() if _op(p) == op)
        for old, new in zip(before, after, strict=False):
            found.update(_argument_changes(op, old, new))
    return sorted(found) if len(found) <= MAX_FACETS else []


def _op(part: str) -> str:
    return part.split("(", 1)[0]


def _argument_changes(op: str, old: str, new: str) -> list[str]:
    """E.g. conv(32,k5,s1) to conv(64,k5,s1): ["raising conv's #1"]; attn(2x16) to attn(2x8): ["lowering attn's x"]."""
    args_old, args_new = _ARG.findall(old.partition("(")[2]), _ARG.findall(new.partition("(")[2])
    if len(args_old) != len(args_new):
        return []
    changes = []
    for i, ((label, a), (label_new, b)) in enumerate(zip(args_old, args_new, strict=True), start=1):
        if label == label_new and float(a) != float(b):
            changes.append(f"{'raising' if float(b) > float(a) else 'lowering'} {op}'s {label or f'#{i}'}")
    return changes


def improves_claim(task: str, space: str, what: str) -> str:
    return f"On {task} in the {space} space, {what} improves validation accuracy"


def fails_claim(task: str, space: str, what: str) -> str:
    return f"On {task} in the {space} space, {what} makes training fail"


def readings(parent_summary: str, child_summary: str) -> list[str]:
    """The change (first) and its operator-level facets; none when nothing changed."""
    what = change(parent_summary, child_summary)
    return [what, *facets(parent_summary, child_summary)] if what else []


def lessons(task: str, space: str, parent: Candidate, child: Candidate, delta: float | None,
            failed: bool) -> list[tuple[ConceptCreate, Direction]]:
    """The concepts a comparison bears on (the exact change, then its facets), and whether the child
    supports or contradicts each."""
    found = readings(parent.summary, child.summary)
    if not found:
        return []
    what = found[0]
    if failed:
        return [(ConceptCreate(claim=fails_claim(task, space, w), kind=ConceptKind.failure_mode, task=task, space=space,
                               tags=_tags(w, what)), Direction.supports) for w in found]
    if delta is None or abs(delta) < NOISE:
        return []
    direction = Direction.supports if delta > 0 else Direction.contradicts
    return [(ConceptCreate(claim=improves_claim(task, space, w), kind=ConceptKind.hypothesis, task=task, space=space,
                           tags=_tags(w, what)), direction) for w in found]


def _tags(reading: str, exact: str) -> list[str]:
    return ["offline analyst"] if reading == exact else ["offline analyst", "operator level"]


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
    found = (lessons(ctx.task.name, ctx.space.name, parent, child, insight.delta, failed=evaluation.status != "ok")
             if evaluation and parent else [])
    ids = []
    for concept_in, direction in found:
        concept_in.source = f"run {ctx.run_id}"
        concept = ctx.memory.add(concept_in, run_id=ctx.run_id).concept
        ctx.memory.add_evidence(EvidenceCreate(
            concept_id=concept.id, candidate_id=child.id, evaluation_id=evaluation.id, run_id=ctx.run_id,
            direction=direction, effect_size=insight.delta, fidelity=evaluation.fidelity, seeds=1,
            note=f"{child.id} vs parent {parent.id}: {evaluation.status}"))
        ids.append(concept.id)
    return ids
