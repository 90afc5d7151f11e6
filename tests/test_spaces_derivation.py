"""Derivations of the built-in seq1d space: sampling, JSON, hashing, mutation and compiled models."""

from __future__ import annotations

import json
import random

import pytest
import torch
from torch import nn

from archlab.errors import GrammarError
from archlab.evaluator.task import TaskSpec
from archlab.spaces import Node, Space, canonical_hash, load_space, parse_grammar
from archlab.spaces.derivation import depth, size
from archlab.spaces.syntax import Limits

TASK = TaskSpec(name="t", input_shape=(1, 40), num_outputs=10)
POPULATION = 200


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models on a shared CPU: intra-op threads only contend (measured 90 ms vs 2 ms a forward).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def space() -> Space:
    return load_space("seq1d")


@pytest.fixture(scope="module")
def trees(space: Space) -> list[Node]:
    rng = random.Random(1234)
    return [space.sample(rng) for _ in range(POPULATION)]


def build(source: str, task: TaskSpec = TASK) -> nn.Module:
    namespace: dict = {}
    exec(compile(source, "<candidate>", "exec"), namespace)
    return namespace["build_model"](task)


def test_every_sample_is_valid_and_within_limits(space: Space, trees: list[Node]) -> None:
    for tree in trees:
        assert space.check(tree) == []
        assert depth(tree) <= space.limits.max_depth and size(tree) <= space.limits.max_size


def test_every_sample_compiles_builds_and_runs(space: Space, trees: list[Node]) -> None:
    batch = torch.randn(8, 1, 40)
    with torch.no_grad():
        for tree in trees:
            model = build(space.compile(tree))
            assert model(batch).shape == (8, 10), space.summary(tree)


def test_population_holds_mlps_and_cnns(space: Space, trees: list[Node]) -> None:
    conv_counts = [space.compile(tree).count("nn.Conv1d(channels") for tree in trees]
    assert 0 in conv_counts
    assert sum(2 <= n <= 4 for n in conv_counts) > POPULATION // 3


def test_compiled_models_fit_other_input_shapes(space: Space, trees: list[Node]) -> None:
    task = TaskSpec(name="wide", input_shape=(3, 7), num_outputs=4)
    with torch.no_grad():
        for tree in trees[:40]:
            assert build(space.compile(tree), task)(torch.randn(2, 3, 7)).shape == (2, 4)


def test_same_seed_gives_same_tree(space: Space) -> None:
    first = [space.sample(random.Random(7)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    assert space.sample(random.Random(8)) != first[0]


def test_json_round_trip_and_stable_hash(space: Space, trees: list[Node]) -> None:
    for tree in trees:
        text = json.dumps(tree.to_dict())
        back = space.load_tree(json.loads(text))
        assert back == tree
        assert canonical_hash(back) == canonical_hash(tree)
        assert json.dumps(back.to_dict()) == text


def test_compiled_source_is_deterministic(space: Space, trees: list[Node]) -> None:
    for tree in trees[:50]:
        clone = Node.from_dict(tree.to_dict())
        assert space.compile(clone) == space.compile(tree)
    source = space.compile(trees[0])
    assert "# network -> features head" in source and "def build_model(task)" in source


def test_mutation_gives_a_different_valid_tree(space: Space, trees: list[Node]) -> None:
    rng = random.Random(99)
    changed = 0
    for tree in trees[:100]:
        before = tree.to_dict()
        child = space.mutate(tree, rng)
        assert tree.to_dict() == before  # never in place
        assert space.check(child) == []
        changed += canonical_hash(child) != canonical_hash(tree)
        with torch.no_grad():
            assert build(space.compile(child))(torch.randn(2, 1, 40)).shape == (2, 10)
    assert changed >= 95


def test_load_tree_rejects_trees_outside_the_space(space: Space, trees: list[Node]) -> None:
    data = trees[0].to_dict()
    data["alt"] = 5
    with pytest.raises(Exception, match="alternative"):
        space.load_tree(data)


def test_tight_limits_are_respected() -> None:
    grammar = parse_grammar("a = gap_head @ 1 | relu a @ 9\n")
    space = Space(grammar, Limits(max_depth=50, max_size=9))
    rng = random.Random(0)
    for _ in range(50):
        tree = space.sample(rng)
        assert size(tree) <= 9 and space.check(tree) == []
        assert size(space.mutate(tree, rng)) <= 9


def test_summary_reads_as_stages(space: Space, trees: list[Node]) -> None:
    summaries = [space.summary(tree) for tree in trees]
    assert all(s.endswith("gap_head") or "mlp_head" in s for s in summaries)
    assert any("conv(" in s and " → " in s for s in summaries)


# The shallowest and the smallest derivation of `x` differ: `deep` is small but too deep for
# max_depth 5, `wide` is shallow but big. Two of them fit 18 nodes only both as `wide`.
SPLIT = """\
max_depth 5
max_size {size}
net  = x x gap_head
x    = deep | wide
deep = b
b    = c
c    = relu
wide = relu relu relu relu relu relu
"""


def test_limits_are_checked_jointly_and_the_sampler_never_dead_ends() -> None:
    with pytest.raises(GrammarError, match="no derivation of 'net' fits the limits"):
        parse_grammar(SPLIT.format(size=17))  # smallest within depth 5 is 18; each limit alone is met
    space = Space(parse_grammar(SPLIT.format(size=18)))
    rng = random.Random(0)
    for _ in range(30):
        tree = space.sample(rng)
        assert size(tree) == 18 and space.check(tree) == []
        assert space.check(space.mutate(tree, rng)) == []
