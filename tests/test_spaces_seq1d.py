"""The seq1d space holds the classic MNIST-1D models: an MLP, a CNN, a GRU and a small transformer."""

from __future__ import annotations

import random
import types

import pytest
import torch
from torch import nn

from archlab.evaluator.fingerprint import graph_hash
from archlab.evaluator.task import TaskSpec
from archlab.spaces import Node, Space, load_space, parse_grammar
from archlab.spaces.typecheck import infer_signatures

TASK = TaskSpec(name="mnist1d", input_shape=(1, 40), num_outputs=10)


def rule(symbol: str, alt: int, *children: Node) -> Node:
    return Node(symbol, alt, {}, tuple(children))


def block(symbol: str, *children: Node, **params: object) -> Node:
    return Node(symbol, None, dict(params), tuple(children))


def conv_stage(channels: int, kernel: int, stride: int) -> Node:
    conv = block("conv", channels=channels, kernel=kernel, stride=stride)
    return rule("stage", 0, rule("conv_block", 0, conv, rule("norm", 0, block("batchnorm")),
                                 rule("act", 0, block("relu"))))


def network(features: Node, head: Node) -> Node:
    return rule("network", 0, features, head)


GAP = rule("head", 0, block("gap_head"))
MLP = network(rule("features", 0), rule("head", 1, block("mlp_head", hidden=128, layers=2)))
CNN = network(
    rule("features", 2, conv_stage(32, 5, 2), rule("stages", 1, conv_stage(64, 3, 2), rule("stages", 0,
         conv_stage(64, 3, 1)))),
    GAP,
)
GRU = network(rule("features", 1, rule("stage", 5, rule("recurrent", 0, block("gru", hidden=64,
                                                                                bidirectional="no")))), GAP)


def encoder_layer() -> Node:
    attend = rule("attend", 0, block("layernorm"), block("attention", heads=2, head_dim=16))
    feed = rule("feed_forward", 0, block("layernorm"), block("ffn", expansion=4))
    return rule("encoder_layer", 0, block("residual", attend), block("residual", feed))


TRANSFORMER = network(
    rule("features", 1, rule("stage", 6, rule("encoder", 0, block("conv", channels=32, kernel=1, stride=1),
                                              block("posenc"), rule("encoder_layers", 1, encoder_layer(),
                                                                    rule("encoder_layers", 0, encoder_layer()))))),
    GAP,
)


@pytest.fixture(scope="module")
def space() -> Space:
    return load_space("seq1d")


def build(space: Space, tree: Node) -> nn.Module:
    module = types.ModuleType("candidate")
    exec(compile(space.compile(tree), "candidate.py", "exec"), module.__dict__)  # noqa: S102 - our own output
    return module.build_model(TASK)


@pytest.mark.parametrize(
    ("tree", "summary", "module_type"),
    [
        (MLP, "mlp_head(128x2)", nn.Linear),
        (CNN, "conv(32,k5,s2) bn relu → conv(64,k3,s2) bn relu → conv(64,k3,s1) bn relu → gap_head", nn.Conv1d),
        (GRU, "gru(64) → gap_head", nn.GRU),
        (TRANSFORMER, "conv(32,k1,s1) pos → res[ln → attn(2x16)] → res[ln → ffn(x4)] → res[ln → attn(2x16)] → "
                      "res[ln → ffn(x4)] → gap_head", nn.LayerNorm),
    ],
    ids=["mlp", "cnn", "gru", "transformer"],
)
def test_classic_models_are_derivations(space: Space, tree: Node, summary: str, module_type: type) -> None:
    assert space.check(tree) == []
    assert space.summary(tree) == summary
    model = build(space, tree)
    assert any(isinstance(m, module_type) for m in model.modules())
    out = model(torch.randn(3, *TASK.input_shape))
    assert out.shape == (3, 10)


def test_attention_mixes_positions_and_traces(space: Space) -> None:
    model = build(space, TRANSFORMER).eval()
    x = torch.randn(1, *TASK.input_shape)
    features = model[:-3]  # everything before the head: (B, C, L)
    moved = x.clone()
    moved[..., -1] += 1.0
    # A change at the last position reaches the first one only through attention.
    assert not torch.allclose(features(x)[..., 0], features(moved)[..., 0])
    assert graph_hash(model)[1] == "fx"  # the helpers avoid shape unpacking, so torch.fx traces them


def test_the_encoder_keeps_its_width_by_type(space: Space) -> None:
    sigs = infer_signatures(space.grammar.rules, space.grammar.blocks)
    assert "channels" not in sigs["encoder_layers"].changes
    assert sigs["stage"].changes == frozenset({"channels", "length"})


def test_samples_build_and_train_one_step(space: Space) -> None:
    rng = random.Random(7)
    seen = set()
    for _ in range(60):
        tree = space.sample(rng)
        model = build(space, tree)
        loss = nn.functional.cross_entropy(model(torch.randn(4, *TASK.input_shape)), torch.tensor([0, 1, 2, 3]))
        loss.backward()
        assert torch.isfinite(loss)
        seen |= {word for word in ("attn", "gru", "branch", "gate", "res[") if word in space.summary(tree)}
    assert seen == {"attn", "gru", "branch", "gate", "res["}


def test_the_canonical_form_forgets_how_a_network_was_derived() -> None:
    grammar_text = (
        "net = a gap_head | b gap_head | conv(channels: 8, kernel: 3) identity gap_head\n"
        "  | conv(channels: 8, kernel: 3) gap_head | branch(left: p, right: q, merge: {add, concat}) gap_head\n"
        "a = relu\nb = relu\n"
        "p : seq -> seq keeps length = conv(channels: 8, kernel: 3)\nq : seq -> seq keeps length = relu\n"
    )
    space = Space(parse_grammar(grammar_text))
    gap = block("gap_head")
    conv = block("conv", channels=8, kernel=3, stride=1)
    via_a, via_b = rule("net", 0, rule("a", 0, block("relu")), gap), rule("net", 1, rule("b", 0, block("relu")), gap)
    assert space.hash(via_a) != space.hash(via_b) and space.canonical(via_a) == space.canonical(via_b)
    with_identity = rule("net", 2, conv, block("identity"), gap)
    assert space.canonical(with_identity) == space.canonical(rule("net", 3, conv, gap))

    def branch(merge: str, left: Node, right: Node) -> Node:
        return rule("net", 4, block("branch", left, right, merge=merge), gap)

    p, q = rule("p", 0, conv), rule("q", 0, block("relu"))
    # two paths added commute; concatenated they do not (the channel order differs)
    assert space.canonical(branch("add", p, q)) == space.canonical(branch("add", q, p))
    assert space.canonical(branch("concat", p, q)) != space.canonical(branch("concat", q, p))
    assert space.canonical(branch("add", p, q)) != space.canonical(branch("concat", p, q))
