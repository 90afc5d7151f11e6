"""Memory-guided mutation, for the offline coder: among a few mutations of the parent, the one whose change
the concept memory rates best.

The offline analyst writes every parent-to-child comparison as evidence on a claim about the change
("changing relu to gelu improves validation accuracy", or "... makes training fail") and on its
operator-level facets ("more attn ...", "raising conv's k ..."; agents/roles/analyst/lessons.py). Here the coder draws
the usual mutation plus `ALTERNATIVES` more (from a separate random stream, so a run whose memory knows
nothing mutates exactly as an unguided one) and scores each by the stored concepts with those claims,
summed over the change and its facets: a claim of improvement counts by how far its evidence moved its
confidence from its prior (up: for the change, down: against it; retired: against), a failure mode
against it by its confidence. The best score wins; ties keep the usual draw.
Concepts from earlier runs in the workspace count too: that is how memory carries into a new run.
"""

from __future__ import annotations

import random

from archlab.agents.context import RunContext
from archlab.agents.roles.analyst.lessons import fails_claim, improves_claim, readings
from archlab.memory import concept_store
from archlab.spaces import Node
from archlab.store.concepts import ConceptStatus

ALTERNATIVES = 3


def guided_mutation(ctx: RunContext, parent: Node, rng: random.Random, alternatives: random.Random,
                    ) -> tuple[Node, str | None, str]:
    """(the mutated tree, its move, how it was chosen)."""
    usual = ctx.space.mutate_with_move(parent, rng)
    if not ctx.search.memory_guided or ctx.memory is None:
        return usual[0], usual[1], f"mutation: {usual[1]}"
    options = [usual, *(ctx.space.mutate_with_move(parent, alternatives) for _ in range(ALTERNATIVES))]
    before = ctx.space.summary(parent)
    read = [readings(before, ctx.space.summary(tree)) for tree, _ in options]
    scores = change_scores(ctx, sorted({r for rs in read for r in rs}))
    ranked = [(round(sum(scores.get(r, 0.0) for r in rs), 6), -i) for i, rs in enumerate(read)]
    best_score, minus_index = max(ranked)  # ties: the earliest, so the usual draw when nothing is known
    chosen = -minus_index
    tree, move = options[chosen]
    if best_score == 0:
        return tree, move, f"mutation: {move}"
    known = ", ".join(f"{r!r} {scores[r]:+.2f}" for r in read[chosen] if r in scores)
    return tree, move, (f"mutation: {move}; memory rates it {best_score:+.2f} ({known}), "
                        f"best of {len(options)} mutations")


def change_scores(ctx: RunContext, changes: list[str]) -> dict[str, float]:
    """For each change the memory has a claim on: + for evidence that it improves, - against or failing."""
    task, space = ctx.task.name, ctx.space.name
    claims = {improves_claim(task, space, c): (c, 1.0) for c in changes}
    claims |= {fails_claim(task, space, c): (c, -1.0) for c in changes}
    with ctx.session() as session:
        found = concept_store.concepts_with_claims(session=session, claims=list(claims))
    scores: dict[str, float] = {}
    for concept in found:
        what, sign = claims[concept.claim]
        if sign > 0:  # how far the evidence moved it from its prior: one supporting result counts for it
            value = concept.confidence - concept.prior if concept.status == ConceptStatus.active else -0.5
        else:
            value = -concept.confidence
        scores[what] = scores.get(what, 0.0) + value
    return scores
