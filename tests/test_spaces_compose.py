"""Grammars from grammars: extends, import, `|=`, and located problems across texts."""

from __future__ import annotations

import random

import pytest

from archlab.errors import ConfigError
from archlab.spaces import Grammar, GrammarProblems, Space, parse_grammar
from archlab.spaces.derivation import sites
from archlab.spaces.syntax import Ref

WITH_ATTENTION = """\
grammar seq1d_more_attention
extends seq1d
# a stage that is attention alone, and layer norms drawn more often
stage |= residual(body: attend) @ 4
norm = batchnorm @ 1 | layernorm @ 4
"""


def problems_of(text: str, **kwargs: object) -> list[tuple[str, str]]:
    with pytest.raises(GrammarProblems) as info:
        parse_grammar(text, source="child.grammar", **kwargs)
    return [(f"{p.source or 'child.grammar'}:{p.line}", p.message) for p in info.value.problems]


def test_extends_inherits_replaces_and_adds() -> None:
    grammar = parse_grammar(WITH_ATTENTION)
    assert (grammar.name, grammar.parent, grammar.start) == ("seq1d_more_attention", "seq1d", "network")
    assert grammar.limits.max_depth == 14  # the parent's
    stage = grammar.rule("stage").alternatives
    assert stage[-1].render() == "residual(body: attend)" and stage[-1].weight == 4
    assert [alt.weight for alt in grammar.rule("norm").alternatives] == [1, 4]
    assert grammar.rule("stage").pos.source == "seq1d"  # inherited rules say where they were written
    space = Space(grammar)
    rng = random.Random(3)
    trees = [space.sample(rng) for _ in range(200)]
    assert all(space.check(tree) == [] for tree in trees)
    new_alt = len(stage) - 1
    assert any(s.node.alt == new_alt for t in trees for s in sites(t, grammar) if s.node.symbol == "stage")


def test_extends_keeps_the_parents_block_library() -> None:
    grammar = parse_grammar(
        "grammar nb201_convs\nextends nb201\n"
        "network = nb201_network(edge_1_0: nor_conv_3x3, edge_2_0: {nor_conv_1x1, nor_conv_3x3},\n"
        "  edge_2_1: nor_conv_3x3, edge_3_0: skip_connect, edge_3_1: {none, nor_conv_3x3}, edge_3_2: nor_conv_3x3)\n"
    )
    assert grammar.blocks.name == "nb201"
    tree = Space(grammar).sample(random.Random(0))
    assert tree.children[0].params["edge_1_0"] == "nor_conv_3x3"


def test_import_brings_named_rules_and_what_they_use() -> None:
    grammar = parse_grammar("grammar small\nimport seq1d: conv_block, head\nnet = conv_block conv_block head\n")
    assert set(grammar.rules) == {"net", "conv_block", "norm", "act", "head"}
    assert grammar.imports == ("seq1d",) and grammar.parent is None
    assert grammar.start == "net"  # the first rule of this text, not of the import
    assert Space(grammar).check(Space(grammar).sample(random.Random(1))) == []


def test_a_loader_serves_grammars_that_are_not_built_in() -> None:
    texts = {
        "base": "grammar base\nnet = feats gap_head\nfeats = conv(channels: {8, 16}, kernel: 3) | empty\n",
        "child": "grammar child\nextends base\nfeats |= pool\n",
    }
    seen: list[str] = []

    def loader(name: str) -> Grammar:
        seen.append(name)
        if name not in texts:
            raise ConfigError(f"no grammar {name!r}")
        return parse_grammar(texts[name], source=name, loader=loader)

    grandchild = parse_grammar("grammar g\nextends child\nfeats |= gelu\n", loader=loader)
    assert [alt.render() for alt in grandchild.rule("feats").alternatives][-2:] == ["pool(kind: max)", "gelu"]
    assert seen == ["child", "base"]


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("extends nope\n", "child.grammar:1", "cannot use grammar 'nope': unknown space 'nope'"),
        ("import seq1d: conv_blok\nnet = gap_head\n", "child.grammar:1", "grammar 'seq1d' has no rule 'conv_blok'"),
        ("import seq1d: head\nhead = gap_head\n", "child.grammar:1",
         "rule 'head' imported from 'seq1d' clashes with rule 'head' of this grammar"),
        ("net = feats gap_head\nfeats = relu\nstage |= pool\n", "child.grammar:3",
         "'stage |= ...' needs an inherited or imported rule 'stage'"),
        ("import seq1d: head\nimport nb201\nnet = head\n", "child.grammar:2",
         "grammar 'nb201' is built on the nb201 blocks, this one on the seq1d blocks; extend it instead"),
        ("extends seq1d\nstage |= gap_head\n", "child.grammar:2", "maps seq -> logits, but the rule maps seq -> seq"),
        # the culprit conv sits in the parent's text, and the problem says so
        ("extends seq1d\npath : seq -> seq keeps length = conv_block\n", "seq1d:",
         "changes the length when stride is 2, but it is reachable from 'path'"),
        ("extends seq1d\nextends nb201\n", "child.grammar:2", "extends at most one other grammar"),
    ],
)
def test_each_composition_problem_is_located(text: str, where: str, fragment: str) -> None:
    found = problems_of(text)
    assert any(place.startswith(where) and fragment in message for place, message in found), found


def test_a_broken_parent_is_reported_at_the_extends_line() -> None:
    def loader(name: str) -> Grammar:
        return parse_grammar("net = cnov\n", source=name)

    found = problems_of("grammar child\nextends broken\n", loader=loader)
    assert found == [("child.grammar:2", "cannot use grammar 'broken': broken:1:7: undefined symbol 'cnov': "
                                         "no rule or block has this name")]


def test_the_rule_a_child_replaces_is_dropped_with_what_only_it_used() -> None:
    grammar = parse_grammar("extends seq1d\nstage = conv_block\n")
    assert "encoder" not in grammar.rules and "path" not in grammar.rules  # unreachable now, dropped quietly
    assert isinstance(grammar.rule("stage").alternatives[0].items[0], Ref)
