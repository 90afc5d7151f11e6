"""The lmblocks space: small causal byte-level language models, causal by construction."""

from __future__ import annotations

import random
import types
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

from archlab.evaluator.task import TaskSpec
from archlab.spaces import GrammarProblems, Node, Space, load_space, parse_grammar
from archlab.spaces.library_lm import lm_blocks
from archlab.spaces.syntax import Call

LENGTH, VOCAB = 64, 256
TASK = TaskSpec(name="bytes-lm", input_shape=(LENGTH,), num_outputs=VOCAB)
LAYOUTS = ("prenorm", "postnorm", "parallel")
# Each token mixer with values the grammar allows, and its label in summaries.
TOKEN_MIXERS = [
    ("softmax_attention", {"heads": 2, "head_dim": 16}, "attn(2x16)"),
    ("linear_attention", {"heads": 2, "head_dim": 16, "feature": "elu"}, "linattn(2x16,elu)"),
    ("linear_attention", {"heads": 4, "head_dim": 16, "feature": "relu"}, "linattn(4x16,relu)"),
    ("gated_linear_attention", {"heads": 4, "head_dim": 16}, "gla(4x16)"),
    ("delta_rule", {"heads": 2, "head_dim": 32}, "delta(2x32)"),
    ("ssm_scan", {"state": 8}, "ssm(8)"),
    ("short_conv", {"kernel": 4}, "conv(k4)"),
]
MIXER_IDS = [label for _, _, label in TOKEN_MIXERS]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # These tensors are tiny: intra-op threads only add synchronisation, which on a shared CPU costs
    # more than the arithmetic (10x here with two threads).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def space() -> Space:
    return load_space("lmblocks")


def namespace(space: Space, tree: Node) -> dict[str, Any]:
    module = types.ModuleType("candidate")
    exec(compile(space.compile(tree), "candidate.py", "exec"), module.__dict__)  # noqa: S102 - our own output
    return module.__dict__


def build(space: Space, tree: Node, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return namespace(space, tree)["build_model"](TASK)


# -- hand-built derivations -------------------------------------------------------------------------


def rule(symbol: str, alt: int, *children: Node) -> Node:
    return Node(symbol, alt, {}, tuple(children))


def block(symbol: str, *children: Node, **params: object) -> Node:
    return Node(symbol, None, dict(params), tuple(children))


def alt_of(space: Space, rule_name: str, *items: str) -> int:
    """The index of the alternative of rule_name made of exactly these items (block or rule names)."""
    for index, alt in enumerate(space.grammar.rule(rule_name).alternatives):
        if tuple(item.block if isinstance(item, Call) else item.name for item in alt.items) == items:
            return index
    raise AssertionError(f"{rule_name} has no alternative {items}")


def token_mixing(space: Space, name: str, params: dict[str, object], conv: int | None = None) -> Node:
    mixer = rule("token_mixer", alt_of(space, "token_mixer", name), block(name, **params))
    if conv is None:
        return rule("token_mixing", alt_of(space, "token_mixing", "token_mixer"), mixer)
    return rule("token_mixing", alt_of(space, "token_mixing", "short_conv", "token_mixer"),
                block("short_conv", kernel=conv), mixer)


def channel_mixer(space: Space, name: str = "mlp", expansion: int = 2) -> Node:
    return rule("channel_mixer", alt_of(space, "channel_mixer", name), block(name, expansion=expansion))


def layer(space: Space, layout: str, mixing: Node, channels: Node, norm: str = "layer") -> Node:
    if layout == "parallel":
        parts = (block("parallel", mixing, channels, norm=norm),)
    else:
        parts = (block(layout, mixing, norm=norm), block(layout, channels, norm=norm))
    return rule("block", alt_of(space, "block", *(part.symbol for part in parts)), *parts)


def model(space: Space, *layers: Node, width: int = 64, positions: bool = False, head: str = "layer") -> Node:
    stack = rule("blocks", alt_of(space, "blocks", "block"), layers[-1])
    for earlier in reversed(layers[:-1]):
        stack = rule("blocks", alt_of(space, "blocks", "block", "blocks"), earlier, stack)
    if positions:
        pos = rule("positions", alt_of(space, "positions", "learned_positions"), block("learned_positions"))
    else:
        pos = rule("positions", alt_of(space, "positions"))
    return rule("model", 0, block("embed", width=width), pos, stack, block("lm_head", norm=head))


# -- (a) sampled models build, run and train ----------------------------------------------------------


def next_byte_loss(net: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    logits = net(tokens)
    assert logits.shape == (*tokens.shape, VOCAB)
    return nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten())


def test_samples_build_run_and_train_one_step(space: Space) -> None:
    rng = random.Random(3)
    tokens = torch.randint(0, VOCAB, (2, LENGTH), generator=torch.Generator().manual_seed(0))
    seen: set[str] = set()
    for _ in range(100):
        tree = space.sample(rng)
        net = build(space, tree)
        loss = next_byte_loss(net, tokens)
        loss.backward()
        assert torch.isfinite(loss), space.summary(tree)
        assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
        seen |= {node.symbol for node in walk(tree)}
    mixers = {"softmax_attention", "linear_attention", "gated_linear_attention", "delta_rule", "short_conv",
              "ssm_scan"}
    assert mixers | set(LAYOUTS) | {"mlp", "glu", "learned_positions"} <= seen


def test_mutants_and_children_stay_valid_and_build(space: Space) -> None:
    rng = random.Random(5)
    tokens = torch.randint(0, VOCAB, (1, LENGTH), generator=torch.Generator().manual_seed(0))
    tree = space.sample(rng)
    for _ in range(30):
        tree = space.crossover(tree, space.sample(rng), rng) if rng.random() < 0.3 else space.mutate(tree, rng)
        assert space.check(tree) == []
        with torch.no_grad():
            assert build(space, tree)(tokens).shape == (1, LENGTH, VOCAB)


def walk(tree: Node) -> Iterator[Node]:
    yield tree
    for child in tree.children:
        yield from walk(child)


# -- (b) causality: later tokens never reach earlier logits --------------------------------------------


def assert_causal(net: nn.Module, cut: int, seed: int = 0) -> None:
    """Replace every token at positions >= cut: logits before cut must stay, logits from cut on must move."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, VOCAB, (2, LENGTH), generator=generator)
    changed = tokens.clone()
    shift = torch.randint(1, VOCAB, (2, LENGTH - cut), generator=generator)  # never 0: every token differs
    changed[:, cut:] = (tokens[:, cut:] + shift) % VOCAB
    net.eval()
    with torch.no_grad():
        before, after = net(tokens), net(changed)
    leak = (after[:, :cut] - before[:, :cut]).abs().max().item()
    assert leak <= 1e-5, f"logits before position {cut} moved by {leak:.2e} when only later tokens changed"
    moved = (after[:, cut:] - before[:, cut:]).abs().amax(-1)  # (B, T - cut): per position
    assert (moved > 1e-3).all(), "the probe is vacuous: changed tokens did not change their own logits"


# Cuts at a chunk start (16) and inside a chunk (37) of the chunked recurrences, and at both ends.
CUTS = (1, 16, 37, LENGTH - 1)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("name", "params", "label"), TOKEN_MIXERS, ids=MIXER_IDS)
def test_every_mixer_in_every_layout_is_causal(space: Space, name: str, params: dict, label: str,
                                               layout: str) -> None:
    tree = model(
        space,
        layer(space, layout, token_mixing(space, name, params), channel_mixer(space, "mlp")),
        layer(space, layout, token_mixing(space, name, params), channel_mixer(space, "glu"), norm="rms"),
        positions=True,
    )
    net = build(space, tree)
    for cut in CUTS:
        assert_causal(net, cut)


def test_sampled_models_are_causal(space: Space) -> None:
    rng = random.Random(11)
    for index in range(30):
        tree = space.sample(rng)
        assert_causal(build(space, tree, seed=index), rng.randrange(1, LENGTH), seed=index)


# -- (c) each block in a hand-built derivation ----------------------------------------------------------


@pytest.mark.parametrize(("name", "params", "label"), TOKEN_MIXERS, ids=MIXER_IDS)
def test_each_token_mixer_is_a_derivation(space: Space, name: str, params: dict, label: str) -> None:
    tree = model(space, layer(space, "prenorm", token_mixing(space, name, params), channel_mixer(space)))
    assert space.check(tree) == []
    assert space.summary(tree) == f"embed(64) → pre-ln[{label}] → pre-ln[mlp(x2)] → head(ln)"
    net = build(space, tree)
    assert net(torch.zeros(3, LENGTH, dtype=torch.long)).shape == (3, LENGTH, VOCAB)


def test_layouts_norms_positions_and_channel_mixers(space: Space) -> None:
    tree = model(
        space,
        layer(space, "postnorm", token_mixing(space, "gated_linear_attention", {"heads": 2, "head_dim": 16}, conv=2),
              channel_mixer(space, "glu", 3), norm="rms"),
        layer(space, "parallel", token_mixing(space, "ssm_scan", {"state": 16}), channel_mixer(space, "mlp", 4)),
        width=96,
        positions=True,
        head="rms",
    )
    assert space.check(tree) == []
    assert space.summary(tree) == (
        "embed(96) pos → post-rms[conv(k2) → gla(2x16)] → post-rms[glu(x3)] → par-ln[ssm(16) | mlp(x4)] → head(rms)"
    )
    source = space.compile(tree)
    assert "class RMSNorm(nn.Module)" in source and "nn.RMSNorm" not in source
    net = build(space, tree)
    kinds = {type(m).__name__ for m in net.modules()}
    assert {"PostNorm", "ParallelBlock", "RMSNorm", "LayerNorm", "ShortConv", "GatedLinearAttention",
            "DiagonalSSM", "SwiGLU", "LearnedPositions"} <= kinds
    assert net(torch.randint(0, VOCAB, (2, 20))).shape == (2, 20, VOCAB)  # shorter than built for


# -- (d) parallel and chunked forms agree with the recurrences step by step ------------------------------


@pytest.fixture(scope="module")
def helpers(space: Space) -> dict[str, Any]:
    """The generated module of a model using every token mixer, for its helper classes."""
    layers = [layer(space, "prenorm", token_mixing(space, name, params), channel_mixer(space))
              for name, params, _ in TOKEN_MIXERS]
    return namespace(space, model(space, *layers))


def tiny(module: nn.Module, steps: int = 37) -> tuple[nn.Module, torch.Tensor]:
    """The module in float64 and an input (2, steps, 16); 37 steps are 2 whole chunks of 16 and a ragged one."""
    torch.manual_seed(0)
    return module.double(), torch.randn(2, steps, 16, dtype=torch.float64)


def assert_same(got: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal up to float64 rounding (torch.testing.assert_close would do, but its first call costs seconds)."""
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-10 * (1 + expected.abs().max().item())


def heads(helpers: dict[str, Any], module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return helpers["split_heads"](module.qkv(x), 3, module.heads, module.head_dim)  # (3, B, H, T, d)


def test_linear_attention_cumsum_equals_the_loop(helpers: dict[str, Any]) -> None:
    for feature in ("elu", "relu"):
        torch.manual_seed(1)
        module, x = tiny(helpers["LinearAttention"](16, heads=2, head_dim=8, feature=feature))
        qkv = heads(helpers, module, x)
        q, k, v = module.phi(qkv[0]), module.phi(qkv[1]), qkv[2]
        state, normaliser, outputs = 0, 0, []
        for t in range(x.shape[1]):
            state = state + k[:, :, t, :, None] * v[:, :, t, None, :]  # S_t = S_{t-1} + phi(k_t) v_t^T
            normaliser = normaliser + k[:, :, t]
            numerator = torch.einsum("bhk,bhkv->bhv", q[:, :, t], state)
            outputs.append(numerator / ((q[:, :, t] * normaliser).sum(-1, keepdim=True) + module.eps))
        expected = module.out(helpers["merge_heads"](torch.stack(outputs, dim=2)))
        assert_same(module(x), expected)


@pytest.mark.parametrize("decay_bias", [3.0, -20.0], ids=["slow-decay", "fast-decay"])
def test_gated_linear_attention_chunks_equal_the_loop(helpers: dict[str, Any], decay_bias: float) -> None:
    module, x = tiny(helpers["GatedLinearAttention"](16, heads=2, head_dim=8))
    nn.init.constant_(module.decay.bias, decay_bias)  # -20: alpha ~ 2e-9, chunk products far below float range
    qkv = heads(helpers, module, x)
    q, k, v = qkv[0] * module.scale, qkv[1], qkv[2]
    alpha = torch.sigmoid(helpers["split_heads"](module.decay(x), 1, module.heads, module.head_dim)[0])
    state, outputs = torch.zeros(2, 2, 8, 8, dtype=x.dtype), []
    for t in range(x.shape[1]):
        state = torch.diag_embed(alpha[:, :, t]) @ state + k[:, :, t, :, None] @ v[:, :, t, None, :]
        outputs.append((state.transpose(-1, -2) @ q[:, :, t, :, None]).squeeze(-1))  # S_t^T q_t
    expected = module.out(helpers["merge_heads"](torch.stack(outputs, dim=2)))
    assert_same(module(x), expected)


def test_delta_rule_chunks_equal_the_loop(helpers: dict[str, Any]) -> None:
    module, x = tiny(helpers["DeltaRule"](16, heads=2, head_dim=8))
    qkv = heads(helpers, module, x)
    q, k, v = nn.functional.normalize(qkv[0], dim=-1), nn.functional.normalize(qkv[1], dim=-1), qkv[2]
    beta = torch.sigmoid(module.beta(x)).transpose(1, 2)  # (B, H, T)
    eye = torch.eye(8, dtype=x.dtype)
    state, outputs = torch.zeros(2, 2, 8, 8, dtype=x.dtype), []
    for t in range(x.shape[1]):
        k_t, v_t, b_t = k[:, :, t, :, None], v[:, :, t, :, None], beta[:, :, t, None, None]
        state = state @ (eye - b_t * k_t @ k_t.transpose(-1, -2)) + b_t * v_t @ k_t.transpose(-1, -2)
        outputs.append((state @ q[:, :, t, :, None]).squeeze(-1))  # S_t q_t
    expected = module.out(helpers["merge_heads"](torch.stack(outputs, dim=2)))
    assert_same(module(x), expected)


def test_ssm_convolution_equals_the_scan(helpers: dict[str, Any]) -> None:
    module, x = tiny(helpers["DiagonalSSM"](16, state=4))
    u = module.inp(x)  # (B, T, D)
    a = torch.exp(-torch.exp(module.log_rate))  # (D, N)
    b = (1 - a) * module.B
    h, outputs = torch.zeros(2, 16, 4, dtype=x.dtype), []
    for t in range(x.shape[1]):
        h = a * h + b * u[:, t, :, None]  # h_t = a h_{t-1} + b u_t, per channel and state
        outputs.append((module.C * h).sum(-1) + module.D * u[:, t])
    expected = module.out(torch.stack(outputs, dim=1))
    assert_same(module(x), expected)


def test_short_conv_is_the_causal_sum(helpers: dict[str, Any]) -> None:
    module, x = tiny(helpers["ShortConv"](16, kernel=3))
    u = module.inp(x)  # (B, T, D)
    taps = module.conv.weight[:, 0]  # (D, kernel); the last tap multiplies the current position
    outputs = []
    for t in range(x.shape[1]):
        mixed = sum(taps[:, 2 - lag] * u[:, t - lag] for lag in range(3) if t - lag >= 0)
        outputs.append(nn.functional.silu(mixed + module.conv.bias))
    expected = module.out(torch.stack(outputs, dim=1))
    assert_same(module(x), expected)


# -- (e) kinds keep tokens and hidden states apart ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        # a token mixer before the embedding: it would receive token ids
        ("model = mixer embed(width: 64) lm_head\nmixer = softmax_attention(heads: 2, head_dim: 16)\n",
         1, 15, "embed(width: 64) takes tokens, but mixer before it gives hidden"),
        # a rule declared to embed tokens, holding a token mixer
        ("model = stem lm_head\nstem : tokens -> hidden = softmax_attention(heads: 2, head_dim: 16)\n",
         2, 6, "'stem' takes hidden, but tokens -> hidden is required by rule 'stem'"),
        # no embedding at all
        ("model = delta_rule(heads: 2, head_dim: 16) lm_head\n",
         1, 1, "the start symbol 'model' maps hidden -> logits; a network must map tokens -> logits"),
        # an embedding inside a residual body
        ("model = embed(width: 64) body lm_head\nbody = prenorm(body: inner)\ninner = embed(width: 64)\n",
         2, 22, "'inner' takes tokens, but hidden -> hidden keeps length, width is required by the body of prenorm"),
    ],
    ids=["mixer-before-embed", "annotated-stem", "no-embed", "embed-in-body"],
)
def test_a_mixer_on_tokens_is_a_located_type_error(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(GrammarProblems) as info:
        parse_grammar(text, source="bad.grammar", blocks=lm_blocks())
    found = [(p.line, p.column, p.message) for p in info.value.problems]
    assert any((at, col) == (line, column) and fragment in message for at, col, message in found), found


def test_parallel_branches_are_one_architecture_in_either_order() -> None:
    # The built-in grammar puts a token mixer left and a channel mixer right; a grammar may put either anywhere.
    grammar = parse_grammar(
        "model = embed(width: 64) parallel(left: a, right: b, norm: rms) lm_head\n"
        "a = mlp(expansion: 2) | glu(expansion: 2)\nb = mlp(expansion: 2) | glu(expansion: 2)\n",
        blocks=lm_blocks(),
    )
    one = Space(grammar)
    mlp, glu = block("mlp", expansion=2), block("glu", expansion=2)

    def tree(left: Node, right: Node) -> Node:
        pair = block("parallel", rule("a", 0 if left is mlp else 1, left), rule("b", 0 if right is mlp else 1, right),
                     norm="rms")
        return rule("model", 0, block("embed", width=64), pair, block("lm_head", norm="layer"))

    assert one.canonical(tree(mlp, glu)) == one.canonical(tree(glu, mlp)) != one.canonical(tree(mlp, mlp))
