"""Search operators on derivations: mutation moves, crossover and the feature encoding.

Properties run on the built-in seq1d space for random seeds; unit tests on a tiny hand-written
grammar show that each move does what its name says.
"""

from __future__ import annotations

import ast
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from archlab.evaluator.task import TaskSpec
from archlab.spaces import MOVES, Node, Space, canonical_hash, load_space, parse_grammar
from archlab.spaces.crossover import crossover
from archlab.spaces.derivation import depth, size
from archlab.spaces.encoding import encode, feature_names
from archlab.spaces.mutate import applicable_moves, mutate_with_move
from archlab.spaces.sample import shortest_tree
from archlab.spaces.syntax import Limits

TASK = TaskSpec(name="t", input_shape=(1, 40), num_outputs=10)
SEQ1D = load_space("seq1d")
# Tighter than the grammar's own limits, so the operators often work against a full budget.
TIGHT = Space(SEQ1D.grammar, Limits(max_depth=7, max_size=30))
SPACES = st.sampled_from([SEQ1D, TIGHT])
SEEDS = st.integers(0, 2**32 - 1)
PROPERTY = settings(max_examples=150, deadline=None, database=None)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models on a shared CPU: intra-op threads only contend.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def build(source: str) -> nn.Module:
    namespace: dict = {}
    exec(compile(source, "<candidate>", "exec"), namespace)
    return namespace["build_model"](TASK)


def assert_sound(space: Space, tree: Node) -> None:
    """Valid in the space, within its limits, and compiles to parseable Python."""
    assert space.check(tree) == [], space.summary(tree)
    assert depth(tree) <= space.limits.max_depth and size(tree) <= space.limits.max_size
    ast.parse(space.compile(tree))


# -- properties on seq1d -----------------------------------------------------------------------


@PROPERTY
@given(space=SPACES, seed=SEEDS)
def test_samples_are_valid(space: Space, seed: int) -> None:
    assert_sound(space, space.sample(random.Random(seed)))


@PROPERTY
@given(space=SPACES, seed=SEEDS, move=st.sampled_from(MOVES))
def test_every_move_gives_a_sound_tree_and_leaves_its_input(space: Space, seed: int, move: str) -> None:
    rng = random.Random(seed)
    tree = space.sample(rng)
    before = tree.to_dict()
    child, used = space.mutate_with_move(tree, rng, moves=(move,))
    assert tree.to_dict() == before
    assert_sound(space, child)
    if used is None:
        assert move not in applicable_moves(tree, space.grammar, space.limits) and child == tree
        return
    assert used == move
    if move != "regrow":  # only a regrow may redraw the same subtree
        assert canonical_hash(child) != canonical_hash(tree)
    if move in ("hoist", "shrink"):
        assert size(child) < size(tree)


@PROPERTY
@given(space=SPACES, seed_a=SEEDS, seed_b=SEEDS, seed=SEEDS)
def test_crossover_gives_a_sound_tree_and_leaves_its_parents(space: Space, seed_a: int, seed_b: int, seed: int) -> None:
    a, b = space.sample(random.Random(seed_a)), space.sample(random.Random(seed_b))
    before = (a.to_dict(), b.to_dict())
    child = space.crossover(a, b, random.Random(seed))
    assert (a.to_dict(), b.to_dict()) == before
    assert_sound(space, child)


@settings(max_examples=50, deadline=None, database=None)
@given(space=SPACES, seed=SEEDS)
def test_long_chains_of_operators_stay_sound(space: Space, seed: int) -> None:
    """Trees far from the sampler's distribution: 15 mixed mutations and crossovers in a row."""
    rng = random.Random(seed)
    pool = [space.sample(rng) for _ in range(4)]
    for _ in range(15):
        if rng.random() < 0.3:
            child = space.crossover(rng.choice(pool), rng.choice(pool), rng)
        else:
            child = space.mutate(rng.choice(pool), rng)
        assert_sound(space, child)
        pool[rng.randrange(len(pool))] = child


@settings(max_examples=6, deadline=None, database=None)
@given(seed=SEEDS)
def test_offspring_build_and_run(seed: int) -> None:
    rng = random.Random(seed)
    a, b = SEQ1D.sample(rng), SEQ1D.sample(rng)
    children = [SEQ1D.mutate_with_move(a, rng, moves=(move,))[0] for move in MOVES]
    children.append(SEQ1D.crossover(a, b, rng))
    with torch.no_grad():
        for child in children:
            assert build(SEQ1D.compile(child))(torch.randn(4, 1, 40)).shape == (4, 10)


@PROPERTY
@given(seed=SEEDS)
def test_encoding_has_one_length_and_follows_equality(seed: int) -> None:
    rng = random.Random(seed)
    tree = SEQ1D.sample(rng)
    vector = SEQ1D.encode(tree)
    assert len(vector) == len(SEQ1D.feature_names())
    assert SEQ1D.encode(Node.from_dict(tree.to_dict())) == vector
    assert encode(tree, SEQ1D.grammar) == vector


def test_different_trees_usually_encode_differently() -> None:
    rng = random.Random(5)
    trees = {canonical_hash(t): t for t in (SEQ1D.sample(rng) for _ in range(300))}
    encodings = {tuple(SEQ1D.encode(t)) for t in trees.values()}
    assert len(encodings) >= 0.95 * len(trees)


# -- each move on a tiny grammar ---------------------------------------------------------------

TINY = parse_grammar(
    """
grammar tiny
start net
max_depth 12
max_size 40
net   = body head
body  = layer | layer body
layer = conv(channels: {16, 32}, kernel: 3) act
      | conv(channels: {16, 32, 64}, kernel: 5, stride: 2) act
      | residual(body: inner) act
      | pool(kind: {max, avg}) act
inner = conv(channels: 16, kernel: 3) norm
norm  = batchnorm | identity
act   = relu | gelu
head  = gap_head | mlp_head(hidden: {32, 64}, layers: 1)
"""
)


def rule(symbol: str, alt: int, *children: Node) -> Node:
    return Node(symbol, alt, {}, children)


def conv(channels: int, kernel: int = 3, stride: int = 1) -> Node:
    return Node("conv", None, {"channels": channels, "kernel": kernel, "stride": stride})


RELU, GELU = rule("act", 0, Node("relu")), rule("act", 1, Node("gelu"))
GAP = rule("head", 0, Node("gap_head"))


def layers(*items: Node) -> Node:
    """A body chain holding these layer nodes in order."""
    body = rule("body", 0, items[-1])
    for item in reversed(items[:-1]):
        body = rule("body", 1, item, body)
    return body


def outcomes(tree: Node, move: str, grammar=TINY, runs: int = 200) -> list[Node]:
    results = []
    for seed in range(runs):
        child, used = mutate_with_move(tree, grammar, random.Random(seed), moves=(move,))
        assert used == move and check(child, grammar)
        results.append(child)
    return results


def check(tree: Node, grammar=TINY) -> bool:
    return Space(grammar).check(tree) == []


def test_hand_trees_are_valid() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    assert check(tree)


def test_swap_exchanges_one_terminal_and_keeps_matching_params() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    seen = set()
    for child in outcomes(tree, "swap"):
        body, head = child.children
        layer = body.children[0]
        if layer.alt == 1:  # conv k3 → conv k5 s2: channels 32 is allowed there, so it stays
            assert layer.children[0].params == {"channels": 32, "kernel": 5, "stride": 2}
        if layer.alt == 2:  # conv → residual: a fresh body, the act beside it untouched
            assert layer.children[0].symbol == "residual" and layer.children[0].children[0].symbol == "inner"
        if layer.alt != 0:
            assert layer.children[1] == RELU and head == GAP
        if head != GAP:
            assert head.alt == 1 and head.children[0].params["layers"] == 1 and body == tree.children[0]
        if layer.children[1] == GELU:
            assert layer.alt == 0 and layer.children[0] == conv(32) and head == GAP
        seen.add((layer.alt, layer.children[1].alt, head.alt))
    assert seen == {(1, 0, 0), (2, 0, 0), (3, 0, 0), (0, 1, 0), (0, 0, 1)}


def test_swap_draws_values_the_new_terminal_does_not_share() -> None:
    tree = rule("net", 0, layers(rule("layer", 1, conv(64, 5, 2), RELU)), GAP)
    back = [c for c in outcomes(tree, "swap") if c.children[0].children[0].alt == 0]
    assert back and all(c.children[0].children[0].children[0].params["channels"] in (16, 32) for c in back)
    assert {c.children[0].children[0].children[0].params["kernel"] for c in back} == {3}


def test_swap_needs_room_for_the_new_terminal() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    tight = Limits(max_depth=12, max_size=size(tree))  # residual needs 4 nodes more than conv
    for seed in range(100):
        child, _ = mutate_with_move(tree, TINY, random.Random(seed), tight, moves=("swap",))
        assert child.children[0].children[0].alt != 2 and size(child) <= size(tree)


def test_hoist_replaces_a_subtree_by_a_descendant_of_the_same_rule() -> None:
    a, b, c = (rule("layer", 3, Node("pool", None, {"kind": k}), RELU) for k in ("max", "avg", "max"))
    tree = rule("net", 0, layers(a, b, c), GAP)
    expected = {canonical_hash(rule("net", 0, chain, GAP)) for chain in (layers(b, c), layers(c), layers(a, c))}
    assert {canonical_hash(child) for child in outcomes(tree, "hoist")} == expected


def test_hoist_does_not_apply_without_nesting() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    assert "hoist" not in applicable_moves(tree, TINY)
    assert mutate_with_move(tree, TINY, random.Random(0), moves=("hoist",)) == (tree, None)


def test_shrink_replaces_a_subtree_by_a_smallest_derivation() -> None:
    residual = Node("residual", None, {}, (rule("inner", 0, conv(16), rule("norm", 0, Node("batchnorm"))),))
    tree = rule("net", 0, layers(rule("layer", 2, residual, RELU), rule("layer", 0, conv(16), GELU)), GAP)
    assert size(shortest_tree(TINY, "body")) == TINY.shortest.size["body"] == 5
    shrunk = set()
    for child in outcomes(tree, "shrink"):
        path = _first_difference(tree, child)
        new, old = _at(child, path), _at(tree, path)
        assert _shape(new) == _shape(shortest_tree(TINY, new.symbol)) and size(new) < size(old)
        shrunk.add(new.symbol)
    # Shrinking the root shows up as its body shrinking (the gap head is already smallest); a conv
    # layer, an act and the head cannot shrink at all.
    assert shrunk == {"body", "layer"}


def _shape(tree: Node) -> tuple:
    """The tree without its block values."""
    return (tree.symbol, tree.alt, tuple(_shape(child) for child in tree.children))


def test_param_changes_one_value_and_regrow_stays_valid() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    for child in outcomes(tree, "param"):
        assert child.children[0].children[0].children[0].params["channels"] == 16  # the only other choice
    assert len({canonical_hash(c) for c in outcomes(tree, "regrow")}) > 10


def test_unknown_move_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mutation moves"):
        mutate_with_move(rule("act", 0, Node("relu")), TINY, random.Random(0), moves=("grow",))


# -- crossover on the tiny grammar -------------------------------------------------------------


def test_crossover_grafts_a_same_rule_subtree_of_the_other_parent() -> None:
    pool = rule("layer", 3, Node("pool", None, {"kind": "max"}), RELU)
    a = rule("net", 0, layers(rule("layer", 0, conv(32), RELU), pool), GAP)
    mlp = rule("head", 1, Node("mlp_head", None, {"hidden": 64, "layers": 1}))
    b = rule("net", 0, layers(rule("layer", 1, conv(64, 5, 2), GELU)), mlp)
    donors = {canonical_hash(n) for n in _subtrees(b)}
    seen = set()
    for seed in range(200):
        child = crossover(a, b, TINY, random.Random(seed))
        assert check(child) and child != a
        path = _first_difference(a, child)
        graft, old = _at(child, path), _at(a, path)
        assert graft.symbol == old.symbol and graft.is_rule and canonical_hash(graft) in donors
        seen.add(graft.symbol)
    assert seen == {"body", "layer", "act", "head"}


def test_crossover_falls_back_to_the_first_parent() -> None:
    flat = parse_grammar("net = relu gap_head | gelu gap_head\n")
    a, b = rule("net", 0, Node("relu"), Node("gap_head")), rule("net", 1, Node("gelu"), Node("gap_head"))
    assert crossover(a, b, flat, random.Random(0)) is a  # only the roots share a rule
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU)), GAP)
    big = rule("net", 0, layers(*[rule("layer", 0, conv(16), GELU)] * 3), GAP)
    tight = Limits(max_depth=12, max_size=size(tree))
    for seed in range(50):  # only grafts that keep within the size of `tree` may be drawn
        assert size(crossover(tree, big, TINY, random.Random(seed), tight)) <= size(tree)


def _subtrees(tree: Node) -> list[Node]:
    return [tree, *(n for child in tree.children for n in _subtrees(child))]


def _first_difference(a: Node, b: Node, path: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The path of the topmost node where b departs from a (alt, params or child count)."""
    if (a.symbol, a.alt, dict(a.params), len(a.children)) != (b.symbol, b.alt, dict(b.params), len(b.children)):
        return path
    differing = [i for i, (x, y) in enumerate(zip(a.children, b.children, strict=True)) if x != y]
    assert len(differing) == 1  # one graft changes one branch
    return _first_difference(a.children[differing[0]], b.children[differing[0]], path + (differing[0],))


def _at(tree: Node, path: tuple[int, ...]) -> Node:
    for index in path:
        tree = tree.children[index]
    return tree


# -- encoding on the tiny grammar --------------------------------------------------------------


def test_encoding_counts_productions_values_and_pairs() -> None:
    tree = rule("net", 0, layers(rule("layer", 0, conv(32), RELU), rule("layer", 0, conv(16), GELU)), GAP)
    features = dict(zip(feature_names(TINY), encode(tree, TINY), strict=True))
    assert features["prod:layer/0"] == 2 and features["prod:body/1"] == 1 and features["prod:act/1"] == 1
    assert features["param:conv.channels=32"] == 1 and features["param:conv.kernel=3"] == 2
    assert features["pair:body/1>body/0"] == 1 and features["pair:layer/0>act/0"] == 1
    assert features["pair:net/0>head/0"] == 1 and features["param:conv.channels=64"] == 0
    rule_nodes = sum(node.is_rule for node in _subtrees(tree))
    assert sum(v for k, v in features.items() if k.startswith("prod:")) == rule_nodes == 8


def test_encoding_is_fixed_by_the_grammar_text() -> None:
    text = "net = relu mlp_head(hidden: 1..1000, layers: {0, 1})\n"
    names = feature_names(parse_grammar(text))
    assert names == feature_names(parse_grammar(text))
    assert "param:mlp_head.hidden:sum" in names  # a wide range is one sum, not 1000 counts
    tree = rule("net", 0, Node("relu"), Node("mlp_head", None, {"hidden": 300, "layers": 1}))
    features = dict(zip(names, encode(tree, parse_grammar(text)), strict=True))
    assert features["param:mlp_head.hidden:sum"] == 300 and features["param:mlp_head.layers=1"] == 1


def test_encoding_rejects_a_tree_of_another_grammar() -> None:
    with pytest.raises(ValueError, match="no feature"):
        encode(rule("stage", 0, conv(32)), TINY)
