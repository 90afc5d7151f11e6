"""Mutation: a new valid tree one small step away from a given one.

Five moves (MOVES), each applicable to some trees only:

- `regrow`: resample the subtree under a rule node, within the depth and size the rest leaves free;
- `param`: give one block parameter a different allowed value;
- `swap`: exchange one terminal for another alternative of the same rule that differs from the current
  one in that terminal alone (`act = relu | gelu`, `head = gap_head | mlp_head(...)`). Scalar
  parameters keep their value where the new block has one of the same name that allows it, subtree
  parameters keep their subtree where name and rule match; the rest is drawn at random. Only taken
  when the new terminal's shortest completion fits the depth and size left;
- `hoist`: replace the subtree of a rule X by one of its own descendants of rule X (drops recursion
  levels, such as stages from a chain);
- `shrink`: replace the subtree of a rule X by a smallest derivation of X (block values drawn at random).

mutate picks a move uniformly among the applicable ones, then a place uniformly among that move's
places. Every result is a valid derivation within the limits when the input is. The input tree is
never changed; untouched branches are shared with the result.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import partial

from archlab.spaces.analysis import spec_contains, spec_values, subrules
from archlab.spaces.derivation import Node, Site, canonical_json, depth, replace_at, sites, size
from archlab.spaces.grammar import Grammar
from archlab.spaces.sample import Sampler, shortest_tree
from archlab.spaces.syntax import Alternative, Call, Limits, Ref, Spec, SubRule, Value

MOVES: tuple[str, ...] = ("regrow", "param", "swap", "hoist", "shrink")
_ATTEMPTS = 20  # a regrow can reproduce the same subtree; a few tries make "unchanged" rare

Edit = Callable[[random.Random], Node]  # one change at one place; draws its random values when called
EditFinder = Callable[[Node, list[Site], Grammar, Limits], list[Edit]]


def mutate(
    tree: Node,
    grammar: Grammar,
    rng: random.Random,
    limits: Limits | None = None,
    *,
    moves: Collection[str] = MOVES,
) -> Node:
    """A tree one move away from `tree` (see mutate_with_move)."""
    return mutate_with_move(tree, grammar, rng, limits, moves=moves)[0]


def mutate_with_move(
    tree: Node,
    grammar: Grammar,
    rng: random.Random,
    limits: Limits | None = None,
    *,
    moves: Collection[str] = MOVES,
) -> tuple[Node, str | None]:
    """The mutated tree and the name of the move that made it, drawing only among `moves`.

    Returns (tree, None) when none of those moves applies anywhere in tree, and an equal tree with
    the last move tried when every attempt reproduced the input (regrow on tiny grammars).
    ValueError for a name not in MOVES.
    """
    limits = limits or grammar.limits
    edits = applicable_edits(tree, grammar, limits, moves)
    if not edits:
        return tree, None
    original = canonical_json(tree)
    for _ in range(_ATTEMPTS):
        move = rng.choice(list(edits))
        candidate = rng.choice(edits[move])(rng)
        if canonical_json(candidate) != original:
            break
    return candidate, move


def applicable_moves(tree: Node, grammar: Grammar, limits: Limits | None = None) -> list[str]:
    """The moves of MOVES that have at least one place to act in tree, in MOVES order."""
    return list(applicable_edits(tree, grammar, limits or grammar.limits, MOVES))


def applicable_edits(
    tree: Node, grammar: Grammar, limits: Limits, moves: Collection[str] = MOVES
) -> dict[str, list[Edit]]:
    """For each named move that applies somewhere, every place it may act (MOVES order)."""
    unknown = sorted(set(moves) - set(MOVES))
    if unknown:
        raise ValueError(f"unknown mutation moves {unknown}; known: {', '.join(MOVES)}")
    all_sites = list(sites(tree, grammar))
    found = {name: _FINDERS[name](tree, all_sites, grammar, limits) for name in MOVES if name in moves}
    return {name: edits for name, edits in found.items() if edits}


# -- regrow and param --------------------------------------------------------------------------


def _regrow_edits(tree: Node, all_sites: list[Site], grammar: Grammar, limits: Limits) -> list[Edit]:
    return [partial(_regrow, tree, site, grammar, limits) for site in all_sites if isinstance(site.item, Ref)]


def _regrow(tree: Node, site: Site, grammar: Grammar, limits: Limits, rng: random.Random) -> Node:
    assert isinstance(site.item, Ref)
    budget = limits.max_size - (size(tree) - size(site.node))
    node, _ = Sampler(grammar, rng, limits).rule(site.item.name, site.depth, budget)
    return replace_at(tree, site.path, node)


def _param_edits(tree: Node, all_sites: list[Site], grammar: Grammar, limits: Limits) -> list[Edit]:
    return [
        partial(_resample_param, tree, site, name)
        for site in all_sites
        if isinstance(site.item, Call)
        for name, spec in site.item.args
        if _choices(spec) > 1
    ]


def _choices(spec: Spec) -> int:
    return 0 if isinstance(spec, SubRule) else len(spec_values(spec))


def _resample_param(tree: Node, site: Site, name: str, rng: random.Random) -> Node:
    assert isinstance(site.item, Call)
    current = site.node.params[name]
    options = [v for v in spec_values(site.item.arg_map[name]) if v != current]
    params = dict(site.node.params)
    params[name] = rng.choice(options)
    return replace_at(tree, site.path, Node(site.node.symbol, None, params, site.node.children))


# -- swap --------------------------------------------------------------------------------------


def _swap_edits(tree: Node, all_sites: list[Site], grammar: Grammar, limits: Limits) -> list[Edit]:
    return [
        partial(_swap, tree, site, position, index, grammar, limits)
        for site in all_sites
        if isinstance(site.item, Ref)
        for position, index in _swap_targets(site.node, grammar)
        if _swap_fits(tree, site, position, index, grammar, limits)
    ]


def _swap_targets(node: Node, grammar: Grammar) -> Iterator[tuple[int, int]]:
    """(position, alternative) pairs: another alternative differing from node's only by a terminal there."""
    alternatives = grammar.rule(node.symbol).alternatives
    assert node.alt is not None
    current = alternatives[node.alt]
    for position, item in enumerate(current.items):
        if not isinstance(item, Call):
            continue
        for index, alt in enumerate(alternatives):
            if index != node.alt and _differs_only_at(current, alt, position):
                yield position, index


def _differs_only_at(current: Alternative, other: Alternative, position: int) -> bool:
    if len(other.items) != len(current.items) or not isinstance(other.items[position], Call):
        return False
    pairs = zip(current.items, other.items, strict=True)
    return all(a.render() == b.render() for i, (a, b) in enumerate(pairs) if i != position)


def _swap_calls(site: Site, position: int, index: int, grammar: Grammar) -> tuple[Call, Call, Node]:
    """The current call at position, its replacement in alternative `index`, and the current node."""
    alternatives = grammar.rule(site.node.symbol).alternatives
    assert site.node.alt is not None
    old_call, new_call = alternatives[site.node.alt].items[position], alternatives[index].items[position]
    assert isinstance(old_call, Call) and isinstance(new_call, Call)
    return old_call, new_call, site.node.children[position]


def _swap_fits(tree: Node, site: Site, position: int, index: int, grammar: Grammar, limits: Limits) -> bool:
    old_call, new_call, old = _swap_calls(site, position, index, grammar)
    # The new call sits where the old one did, one below the rule node at site.depth; bodies below it.
    body_levels = limits.max_depth - (site.depth + 2) + 1
    within = grammar.size_within(limits.max_depth)
    pairs = list(zip(subrules(new_call), _kept_bodies(old, old_call, new_call), strict=True))
    need_size = 1 + sum(within.rule(rule, body_levels) if kept is None else size(kept) for rule, kept in pairs)
    kept_depth = max((depth(kept) for _, kept in pairs if kept is not None), default=0)
    return size(tree) - size(old) + need_size <= limits.max_size and kept_depth <= body_levels


def _swap(
    tree: Node, site: Site, position: int, index: int, grammar: Grammar, limits: Limits, rng: random.Random
) -> Node:
    old_call, new_call, old = _swap_calls(site, position, index, grammar)
    budget = limits.max_size - (size(tree) - size(old)) - 1  # less the new call's own node
    kept = _kept_bodies(old, old_call, new_call)
    bodies = _fill_bodies(subrules(new_call), kept, site.depth + 2, budget, grammar, rng, limits)
    children = list(site.node.children)
    children[position] = Node(new_call.block, None, _carried_params(new_call, old.params, rng), bodies)
    return replace_at(tree, site.path, Node(site.node.symbol, index, {}, tuple(children)))


def _kept_bodies(old: Node, old_call: Call, new_call: Call) -> list[Node | None]:
    """For each subtree parameter of new_call, the old subtree when name and rule match, else None."""
    old_keys = [(name, spec.rule) for name, spec in old_call.args if isinstance(spec, SubRule)]
    old_bodies = dict(zip(old_keys, old.children, strict=True))
    return [old_bodies.get((name, spec.rule)) for name, spec in new_call.args if isinstance(spec, SubRule)]


def _carried_params(call: Call, old: Mapping[str, Value], rng: random.Random) -> dict[str, Value]:
    """call's scalar values: the old value where the name matches and the spec allows it, else drawn."""
    params: dict[str, Value] = {}
    for name, spec in call.args:
        if isinstance(spec, SubRule):
            continue
        value = old.get(name)
        params[name] = value if value is not None and spec_contains(spec, value) else rng.choice(spec_values(spec))
    return params


def _fill_bodies(
    rules: list[str],
    kept: list[Node | None],
    depth_at: int,
    budget: int,
    grammar: Grammar,
    rng: random.Random,
    limits: Limits,
) -> tuple[Node, ...]:
    """Kept subtrees as they are; the others sampled, each leaving room for the ones after it."""
    sampler = Sampler(grammar, rng, limits)
    levels = sampler.levels(depth_at)
    pairs = list(zip(rules, kept, strict=True))
    need = [sampler.within.rule(rule, levels) if node is None else size(node) for rule, node in pairs]
    bodies: list[Node] = []
    used = 0
    for i, (rule, node) in enumerate(pairs):
        if node is None:
            node, _ = sampler.rule(rule, depth_at, int(budget - used - sum(need[i + 1 :])))
        bodies.append(node)
        used += size(node)
    return tuple(bodies)


# -- hoist and shrink --------------------------------------------------------------------------


def _hoist_edits(tree: Node, all_sites: list[Site], grammar: Grammar, limits: Limits) -> list[Edit]:
    rule_sites = [site for site in all_sites if isinstance(site.item, Ref)]
    return [
        partial(_put, tree, upper.path, lower.node)
        for upper in rule_sites
        for lower in rule_sites
        if len(lower.path) > len(upper.path)
        and lower.path[: len(upper.path)] == upper.path
        and lower.node.symbol == upper.node.symbol
    ]


def _put(tree: Node, path: tuple[int, ...], node: Node, rng: random.Random) -> Node:
    return replace_at(tree, path, node)


def _shrink_edits(tree: Node, all_sites: list[Site], grammar: Grammar, limits: Limits) -> list[Edit]:
    # The shape of a smallest derivation depends on the grammar alone, so one per rule is measured.
    shortest_depth: dict[str, int] = {}
    edits: list[Edit] = []
    for site in all_sites:
        if not isinstance(site.item, Ref) or size(site.node) <= grammar.shortest.size[site.item.name]:
            continue
        name = site.item.name
        if name not in shortest_depth:
            shortest_depth[name] = depth(shortest_tree(grammar, name))
        if site.depth + shortest_depth[name] - 1 <= limits.max_depth:
            edits.append(partial(_shrink, tree, site.path, name, grammar))
    return edits


def _shrink(tree: Node, path: tuple[int, ...], name: str, grammar: Grammar, rng: random.Random) -> Node:
    return replace_at(tree, path, shortest_tree(grammar, name, rng))


_FINDERS: dict[str, EditFinder] = {
    "regrow": _regrow_edits,
    "param": _param_edits,
    "swap": _swap_edits,
    "hoist": _hoist_edits,
    "shrink": _shrink_edits,
}
