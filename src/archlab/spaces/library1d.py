"""Blocks for 1-D signals shaped (B, C, L), as in MNIST-1D.

Generated code tracks `channels` and `length` as plain ints while build_model runs, so every layer
is sized for the task it is built on, with no lazy modules and no dry forward pass. Convs pad by
kernel//2 with odd kernels and pools use ceil_mode, so the length shrinks as ceil(L/stride) and
never reaches zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from archlab.spaces.blocks import (
    Block,
    BlockRegistry,
    EmitContext,
    SubtreeEmitter,
    choice_param,
    float_param,
    int_param,
    subtree_param,
)
from archlab.spaces.library1d_paths import path_blocks
from archlab.spaces.syntax import Value
from archlab.spaces.types import Requirement

Args = Mapping[str, Value]
SEQ = {"takes": "seq", "gives": "seq"}  # (B, C, L) in and out
HEAD = {"takes": "seq", "gives": "logits"}
Subtrees = Mapping[str, SubtreeEmitter]

RESIDUAL_HELPER = '''class Residual(nn.Module):
    """body(x) + shortcut(x); the shortcut is a 1x1 conv when the body changes the channel count."""

    def __init__(self, body: nn.Module, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.shortcut = (
            nn.Identity() if in_channels == out_channels else nn.Conv1d(in_channels, out_channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)
'''


def _no_label(text: str):
    return lambda args, subtrees: text


# -- features ----------------------------------------------------------------------------------


def _emit_conv(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    out, kernel, stride = args["channels"], args["kernel"], args["stride"]
    padding = int(kernel) // 2
    ctx.append(f"nn.Conv1d(channels, {out}, kernel_size={kernel}, stride={stride}, padding={padding})")
    ctx.shape.channels = int(out)
    ctx.shape.downsample *= int(stride)
    if stride == 1:
        ctx.line(f"channels = {out}", ctx.shape.render())
    else:
        ctx.line(f"channels, length = {out}, (length - 1) // {stride} + 1", ctx.shape.render())


def _emit_pool(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    module = "MaxPool1d" if args["kind"] == "max" else "AvgPool1d"
    ctx.append(f"nn.{module}(2, ceil_mode=True)")
    ctx.shape.downsample *= 2
    ctx.line("length = (length + 1) // 2", ctx.shape.render())


def _emit_residual(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Residual", RESIDUAL_HELPER)
    number = ctx.fresh_number()  # one number per residual keeps nested bodies apart
    body, skip = f"body_{number}", f"skip_channels_{number}"
    ctx.line(f"{body}: list[nn.Module] = []")
    ctx.line(f"{skip} = channels")
    subtrees["body"](ctx.nested(body))
    ctx.append(f"Residual(nn.Sequential(*{body}), {skip}, channels)", ctx.shape.render())


def _simple(name: str, module: str, label: str, **types: str) -> Block:
    """A block without parameters; without types it fits any tensor (activations, identity)."""
    return Block(name, (), lambda ctx, args, subtrees: ctx.append(module), _no_label(label), **types)


def _feature_blocks() -> list[Block]:
    conv = Block(
        "conv",
        (
            int_param("channels", 1, 4096),
            int_param("kernel", 1, 31, odd=True),
            int_param("stride", 1, 4, default=1, changes="length", safe=frozenset({1})),
        ),
        _emit_conv,
        lambda a, s: f"conv({a['channels']},k{a['kernel']},s{a['stride']})",
        opens_group=True,
        **SEQ,
        changes=frozenset({"channels"}),
    )
    pool = Block(
        "pool",
        (choice_param("kind", ("max", "avg"), default="max"),),
        _emit_pool,
        lambda a, s: f"{a['kind']}pool",
        opens_group=True,
        **SEQ,
        changes=frozenset({"length"}),
    )
    dropout = Block(
        "dropout",
        (float_param("p", 0.0, 0.9, default=0.1),),
        lambda ctx, a, s: ctx.append(f"nn.Dropout(p={a['p']})"),
        lambda a, s: f"dropout({a['p']})",
    )
    residual = Block(
        "residual",
        (subtree_param("body", requires=Requirement("seq", "seq", frozenset({"length"}))),),
        _emit_residual,
        lambda a, s: f"res[{s['body']}]",
        opens_group=True,
        **SEQ,
        passes_body=True,
    )
    return [
        conv,
        pool,
        dropout,
        residual,
        _simple("batchnorm", "nn.BatchNorm1d(channels)", "bn", **SEQ),
        # GroupNorm with one group normalises over channels and length: a layer norm for (B, C, L).
        _simple("groupnorm", "nn.GroupNorm(1, channels)", "gn", **SEQ),
        # An empty label keeps it out of summaries, an empty canonical part out of the canonical form.
        Block("identity", (), lambda ctx, args, subtrees: ctx.append("nn.Identity()"), _no_label(""),
              canonical=lambda args, bodies: ""),
        _simple("relu", "nn.ReLU()", "relu"),
        _simple("gelu", "nn.GELU()", "gelu"),
        _simple("silu", "nn.SiLU()", "silu"),
        _simple("tanh", "nn.Tanh()", "tanh"),
    ]


# -- heads -------------------------------------------------------------------------------------


def _emit_gap_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append("nn.AdaptiveAvgPool1d(1)")
    ctx.append("nn.Flatten()")
    ctx.append("nn.Linear(channels, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _emit_mlp_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.shape.flatten()
    ctx.append("nn.Flatten()", ctx.shape.render())
    ctx.line("width = channels * length")
    for _ in range(int(args["layers"])):
        ctx.append(f"nn.Linear(width, {args['hidden']})")
        ctx.append("nn.ReLU()")
        ctx.line(f"width = {args['hidden']}")
    ctx.append("nn.Linear(width, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _head_blocks() -> list[Block]:
    gap = Block(
        "gap_head",
        (),
        _emit_gap_head,
        _no_label("gap_head"),
        opens_group=True,
        is_head=True,
        **HEAD,
    )
    mlp = Block(
        "mlp_head",
        (int_param("hidden", 1, 65536, default=128), int_param("layers", 0, 8, default=1)),
        _emit_mlp_head,
        lambda a, s: f"mlp_head({a['hidden']}x{a['layers']})" if a["layers"] else "mlp_head(linear)",
        opens_group=True,
        is_head=True,
        **HEAD,
    )
    return [gap, mlp]


def seq1d_blocks() -> BlockRegistry:
    """A fresh registry of every 1-D block; callers may register more on their copy."""
    return BlockRegistry(_feature_blocks() + path_blocks() + _head_blocks())
