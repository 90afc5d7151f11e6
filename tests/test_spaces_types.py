"""Tensor types in grammars: annotations, inference, and a located problem for each mismatch."""

from __future__ import annotations

import pytest

from archlab.spaces import GrammarProblems, parse_grammar
from archlab.spaces.blocks import Block, BlockRegistry
from archlab.spaces.library1d import seq1d_blocks
from archlab.spaces.typecheck import infer_signatures
from archlab.spaces.types import Signature

CONV = "conv(channels: 8, kernel: 3)"


def problems_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(GrammarProblems) as info:
        parse_grammar(text, source="t.grammar")
    return [(p.line, p.message) for p in info.value.problems]


def test_annotations_parse_and_signatures_are_inferred() -> None:
    grammar = parse_grammar(
        "network : seq -> logits = stem body head\n"
        f"stem = {CONV} | empty\n"
        f"body : seq -> seq keeps length = residual(body: inner) | relu\n"
        f"inner = conv(channels: 16, kernel: 3) relu\n"
        "head = gap_head | mlp_head(hidden: 8, layers: 1)\n"
    )
    note = grammar.rule("body").annotation
    assert note is not None and note.render() == "seq -> seq keeps length"
    sigs = infer_signatures(grammar.rules, grammar.blocks)
    assert sigs["network"] == Signature("seq", "logits", sigs["network"].changes)
    assert sigs["stem"] == Signature("seq", "seq", frozenset({"channels"}))  # `empty` joins with seq -> seq
    assert sigs["body"].changes == frozenset({"channels"})  # the residual passes its body's channels on
    assert sigs["head"].gives == "logits"


def test_a_recursive_rule_gets_its_signature() -> None:
    grammar = parse_grammar(f"net = feats gap_head\nfeats = {CONV} | {CONV} pool feats\n")
    sigs = infer_signatures(grammar.rules, grammar.blocks)
    assert sigs["feats"] == Signature("seq", "seq", frozenset({"channels", "length"}))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        # a block after the head: the head gives logits, conv takes seq
        (f"net = gap_head {CONV}", 1, "stride: 1) takes seq, but gap_head before it gives logits"),
        # alternatives must agree on kinds, since any of them may be drawn
        (f"net = feats gap_head\nfeats = {CONV}\n  | gap_head", 3, "but the rule maps seq -> seq"),
        ("net = feats gap_head\nfeats = empty | gap_head", 2,
         "maps seq -> logits, but the rule maps any -> same elsewhere"),
        # annotations
        ("net = body gap_head\nbody : seq -> seq keeps length = conv(channels: 8, kernel: 3, stride: {1, 2})",
         2, "changes the length when stride is 2, but it is reachable from 'body', rule 'body', declared"),
        (f"net = body gap_head\nbody : seq -> logits = {CONV}", 2, "'body' gives seq, but seq -> logits is required"),
        (f"net = body gap_head\nbody : image -> seq = {CONV}", 2, "unknown tensor kind 'image' (kinds: logits, seq)"),
        (f"net = body gap_head\nbody : seq -> seq keeps width = {CONV}", 2, "seq has no dimension 'width'"),
        ("net : seq -> logits keeps length = gap_head", 1, "'keeps' needs the same kind in and out"),
        ("net : seq logits = gap_head", 1, "expected '->' after 'seq'"),
        # the channels a residual's body sets show in the residual's output
        ("net = body gap_head\nbody : seq -> seq keeps channels = residual(body: inner)\ninner = " + CONV,
         3, "changes the channels, but it is reachable from 'body'"),
        # the start symbol must be a whole network
        (f"net = {CONV}", 1, "the start symbol 'net' maps seq -> seq; a network must map seq -> logits"),
        ("net = relu", 1, "the start symbol 'net' passes its input through"),
    ],
)
def test_each_type_problem_is_reported(text: str, line: int, fragment: str) -> None:
    found = problems_of(text)
    assert any(fragment in message and at == line for at, message in found), found


def test_an_ill_typed_rule_does_not_cascade() -> None:
    found = problems_of(f"net = feats gap_head\nfeats = gap_head {CONV}\n")
    assert len(found) == 1 and found[0][0] == 2  # `net` uses the broken rule but adds no problem of its own


def test_registry_rejects_a_block_of_an_unknown_kind() -> None:
    registry = seq1d_blocks()
    stray = Block("stray", (), lambda ctx, args, subtrees: None, lambda a, s: "stray", takes="image", gives="seq")
    with pytest.raises(ValueError, match="kinds this registry lacks: \\['image'\\]"):
        registry.register(stray)
    with pytest.raises(ValueError, match="input and output kinds"):
        BlockRegistry(input_kind="tokens")
