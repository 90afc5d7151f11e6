"""The grammar format: parsing, located errors, and every validation problem."""

from __future__ import annotations

import pytest

from archlab.errors import GrammarError
from archlab.spaces import GrammarProblems, list_spaces, load_space, parse_grammar
from archlab.spaces.syntax import Call, IntRange, Ref, SubRule

GOOD = """\
# a small grammar
grammar tiny
start network
max_depth 9
max_size 40

network  = features head
features = stage            @ 1
         | stage features   @ 3      # recursion
stage    = conv(channels: {16, 32}, kernel: {3, 5}, stride: {1, 2}) act @ 4
         | residual(body: body) @ 1 | pool(kind: {max, avg}) @ 1
body     = conv(channels: 16, kernel: 3) act
act      = relu | gelu()
head     = gap_head @ 2 | mlp_head(hidden: {32, 64}, layers: 0..2)
"""


def problems_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(GrammarProblems) as info:
        parse_grammar(text, source="test.grammar")
    return [(p.line, p.message) for p in info.value.problems]


def test_parses_header_rules_and_items() -> None:
    grammar = parse_grammar(GOOD)
    assert (grammar.name, grammar.start) == ("tiny", "network")
    assert (grammar.limits.max_depth, grammar.limits.max_size) == (9, 40)
    features = grammar.rule("features").alternatives
    assert [alt.weight for alt in features] == [1.0, 3.0]
    assert features[1].items[1] == Ref("features", features[1].items[1].pos)
    act = grammar.rule("act").alternatives
    assert isinstance(act[0].items[0], Call) and act[1].items[0].block == "gelu"  # bare and () forms


def test_specs_are_resolved_with_defaults_filled_in() -> None:
    grammar = parse_grammar(GOOD)
    body_conv = grammar.rule("body").alternatives[0].items[0]
    assert isinstance(body_conv, Call)
    assert dict(body_conv.args)["stride"].values == (1,)  # the block's default
    residual = grammar.rule("stage").alternatives[1].items[0]
    assert isinstance(dict(residual.args)["body"], SubRule)
    mlp = grammar.rule("head").alternatives[1].items[0]
    assert isinstance(dict(mlp.args)["layers"], IntRange)


def test_typo_reports_its_line_and_column() -> None:
    text = "network = head\nhead = gap_head\nact = relu |\n"
    with pytest.raises(GrammarError) as info:
        parse_grammar(text, source="t.grammar")
    assert (info.value.line, info.value.column) == (3, 13)
    assert str(info.value).startswith("t.grammar:3:13: expected an item")


def test_unknown_block_reports_line_three() -> None:
    text = "network = stage head\nhead = gap_head\nstage = cnov(channels: 16, kernel: 3)\n"
    with pytest.raises(GrammarError) as info:
        parse_grammar(text)
    assert (info.value.line, info.value.column) == (3, 9)
    assert "unknown block 'cnov'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a = b c\nb = relu", 1, "undefined symbol 'c'"),
        ("a = relu(x: 1)", 1, "has no parameter 'x'"),
        ("a = conv(channels: 8)", 1, "needs parameter 'kernel'"),
        ("a = conv(channels: 8, kernel: {3, 4})", 1, "4 is not an odd int"),
        ("a = pool(kind: median)", 1, "'median' is not one of max, avg"),
        ("a = dropout(p: 0..1)", 1, "a range only fits an int parameter"),
        ("a = relu\nb = gelu", 2, "rule 'b' is unreachable"),
        ("a = relu b\nb = b relu", 2, "rule 'b' can never terminate"),
        (
            "a = residual(body: b)\nb = conv(channels: 8, kernel: 3, stride: {1, 2})",
            2,
            "changes the length when stride is 2",
        ),
        ("a = residual(body: b)\nb = pool", 2, "pool(kind: max) changes the length, but"),
        ("a = residual(body: relu)", 1, "undefined rule 'relu'"),
        ("a = relu\na = gelu", 2, "defined twice"),
        ("a = relu\nconv = gelu", 2, "has the name of a block"),
        ("start b\na = relu", 1, "start symbol 'b' is not a rule"),
        ("a = relu @ 0", 1, "weight must be positive"),
        ("a = b(x: 1)\nb = relu", 1, "'b' is a rule and takes no arguments"),
        ("a = conv(channels: 8, kernel: {3, 3})", 1, "listed twice"),
        ("max_depth 2\na = b\nb = c\nc = relu", 2, "fits the limits"),
        ("a = relu ?", 1, "unexpected character"),
        ("| relu", 1, "must follow a rule"),
    ],
)
def test_each_problem_is_reported(text: str, line: int, fragment: str) -> None:
    found = problems_of(text)
    assert any(fragment in message and at == line for at, message in found), found


def test_all_problems_are_collected_in_one_error() -> None:
    text = "network = stage head\nstage = cnov\nhead = gap_head(x: 1)\nlost = relu\n"
    found = problems_of(text)
    assert [line for line, _ in found] == [2, 3, 4]
    with pytest.raises(GrammarError) as info:
        parse_grammar(text, source="t.grammar")
    assert "2 more problem(s)" in str(info.value) and "t.grammar:4:1:" in str(info.value)


def test_calls_may_span_lines_and_continuations_extend_rules() -> None:
    text = "a = conv(channels: 8,\n         kernel: 3) b gap_head\n  | b gap_head @ 2\nb = relu\n"
    grammar = parse_grammar(text)
    assert [alt.weight for alt in grammar.rule("a").alternatives] == [1.0, 2.0]


def test_empty_alternative() -> None:
    grammar = parse_grammar("a = b head\nb = empty @ 1 | relu @ 2\nhead = gap_head\n")
    assert grammar.rule("b").alternatives[0].items == ()


def test_builtin_spaces_load() -> None:
    assert "seq1d" in list_spaces()
    space = load_space("seq1d")
    assert space.grammar.name == "seq1d" and space.grammar.source == "seq1d.grammar"
    with pytest.raises(GrammarError.__mro__[1]):  # ConfigError
        load_space("nope")
