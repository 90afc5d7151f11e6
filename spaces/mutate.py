"""Mutation: a new valid tree one small step away from a given one.

Two operators: regrow the subtree under a random rule node (within the depth and size the rest of
the tree leaves free), or give one block parameter a different allowed value. The input tree is
never changed; untouched branches are shared with the result.
"""

from __future__ import annotations

import random

from archlab.spaces.analysis import spec_values
from archlab.spaces.derivation import Node, Site, canonical_json, replace_at, sites, size
from archlab.spaces.grammar import Grammar
from archlab.spaces.sample import Sampler
from archlab.spaces.syntax import Call, Limits, Ref, SubRule

_ATTEMPTS = 20  # a regrow can reproduce the same subtree; a few tries make "unchanged" rare


def mutate(tree: Node, grammar: Grammar, rng: random.Random, limits: Limits | None = None) -> Node:
    """A tree differing from `tree` in one regrown subtree or one parameter, when such a tree exists.

    Returns an equal copy only when every attempt reproduced the input (tiny grammars).
    """
    limits = limits or grammar.limits
    original = canonical_json(tree)
    candidate = tree
    for _ in range(_ATTEMPTS):
        candidate = _mutate_once(tree, grammar, rng, limits)
        if canonical_json(candidate) != original:
            return candidate
    return candidate


def _mutate_once(tree: Node, grammar: Grammar, rng: random.Random, limits: Limits) -> Node:
    all_sites = list(sites(tree, grammar))
    regrowable = [s for s in all_sites if isinstance(s.item, Ref)]
    tunable = [
        (s, name)
        for s in all_sites
        if isinstance(s.item, Call)
        for name, spec in s.item.args
        if _choices(spec) > 1
    ]
    if tunable and (not regrowable or rng.random() < 0.5):
        site, name = rng.choice(tunable)
        return _resample_param(tree, site, name, rng)
    return _regrow(tree, rng.choice(regrowable), grammar, rng, limits)


def _choices(spec) -> int:
    return 0 if isinstance(spec, SubRule) else len(spec_values(spec))


def _resample_param(tree: Node, site: Site, name: str, rng: random.Random) -> Node:
    assert isinstance(site.item, Call)
    current = site.node.params[name]
    options = [v for v in spec_values(site.item.arg_map[name]) if v != current]
    params = dict(site.node.params)
    params[name] = rng.choice(options)
    return replace_at(tree, site.path, Node(site.node.symbol, None, params, site.node.children))


def _regrow(tree: Node, site: Site, grammar: Grammar, rng: random.Random, limits: Limits) -> Node:
    assert isinstance(site.item, Ref)
    budget = limits.max_size - (size(tree) - size(site.node))
    node, _ = Sampler(grammar, rng, limits).rule(site.item.name, site.depth, budget)
    return replace_at(tree, site.path, node)
