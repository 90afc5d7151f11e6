"""Drafting without an LLM: a pool of derivations of the space — mutations of the best stored candidate
in it (or of one the message names by id) and fresh samples — from which the draft that uses the most of
the grammar parts the message names is kept; ties go to a derivation not stored yet, then to a mutation,
then to the smallest tree (a small network is quicker to /try and easier to read).

It reads no meaning into the message beyond those names; the reply says so.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from archlab.agents.chat.grounding import Evaluated, Grounding, parent_in_space
from archlab.agents.chat.models import Draft
from archlab.agents.chat.novelty import derivation_twins
from archlab.agents.context import RunContext
from archlab.spaces import Node, Space
from archlab.spaces.derivation import size

SAMPLE = "fresh sample"
MUTATIONS = 32
SAMPLES = 64
_WORD = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class Option:
    tree: Node
    how: str  # "mutation (param) of c12" / "fresh sample"
    hits: frozenset[str]  # the named parts it uses
    new: bool = True


def draft(ctx: RunContext, text: str, grounding: Grounding, rng: random.Random) -> tuple[Draft, str]:
    """The draft, and the words that say how it was made."""
    names = named_parts(ctx.space, text)
    parent = parent_in_space(ctx, grounding.evaluated, text)
    options = pool(ctx.space, parent, rng, names)
    keys = [ctx.space.canonical(o.tree) for o in options]
    stored = derivation_twins(ctx, set(keys))
    for option, key in zip(options, keys, strict=True):
        option.new = key not in stored
    best = max(options, key=lambda o: (len(o.hits), o.new, o.how != SAMPLE, -size(o.tree)))
    return _draft(ctx.space, best), explain(ctx.space, names, _origin(ctx.space, parent, text), best)


def named_parts(space: Space, text: str) -> set[str]:
    """Grammar names (blocks and rules) the message uses, a plural 's' allowed: "gru", "residuals". The start
    rule is left out: every derivation has it."""
    names = (set(space.grammar.blocks.names()) | set(space.grammar.rules)) - {space.grammar.start}
    words = set(_WORD.findall(text.lower()))
    return {n for n in names if n in words or n + "s" in words}


def pool(space: Space, parent: tuple[Evaluated, Node] | None, rng: random.Random, names: set[str]) -> list[Option]:
    options: list[Option] = []
    if parent is not None:
        entry, tree = parent
        for _ in range(MUTATIONS):
            child, move = space.mutate_with_move(tree, rng)
            options.append(Option(child, f"mutation ({move}) of {entry.candidate.id}", _hits(child, names)))
    for _ in range(SAMPLES):
        tree = space.sample(rng)
        options.append(Option(tree, SAMPLE, _hits(tree, names)))
    return options


def explain(space: Space, names: set[str], where: str, best: Option) -> str:
    text = f"Offline drafting: from {where}, "
    if names:
        used = ", ".join(sorted(best.hits)) or "none of them"
        text += (f"I kept the one that uses the most of the parts you named ({', '.join(sorted(names))}): "
                 f"it uses {used}")
    else:
        text += (f"I kept {'a new one' if best.new else 'one'} — your message names none of the grammar's parts "
                 f"(e.g. {', '.join(sorted(space.grammar.blocks.names())[:6])}), so it could not steer the choice")
    return f"{text}. This draft is a {best.how}{'' if best.new else ', already stored'}."


def _origin(space: Space, parent: tuple[Evaluated, Node] | None, text: str) -> str:
    if parent is None:
        return f"{SAMPLES} fresh samples of {space.name} (no evaluated candidate of this space is stored yet)"
    entry = parent[0]
    which = "the candidate you named" if entry.candidate.id.lower() in text.lower() else \
        f"the best evaluated candidate of {space.name} in the store"
    return (f"{MUTATIONS} mutations of {entry.candidate.id} (val {entry.value:.3f}, {which}) "
            f"and {SAMPLES} fresh samples")


def symbols(tree: Node) -> set[str]:
    return {tree.symbol}.union(*(symbols(c) for c in tree.children))


def _hits(tree: Node, names: set[str]) -> frozenset[str]:
    return frozenset(names & symbols(tree)) if names else frozenset()


def _draft(space: Space, option: Option) -> Draft:
    tree = option.tree
    return Draft(source=space.compile(tree), derivation=tree.to_dict(), derivation_hash=space.canonical(tree),
                 space=space.name, summary=space.summary(tree), rationale=f"offline draft: {option.how}")
