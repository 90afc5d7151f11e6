"""Blocks for images shaped (B, C, H, W) of any size, channels first.

Generated code tracks `channels`, `height` and `width` as plain ints while build_model runs, so every layer
is sized for the task it is built on. Convs pad by kernel//2 with odd kernels and pools use ceil_mode, so a
side shrinks as ceil(side/stride) and never reaches zero: an 8x8 image and a 96x96 one take the same
networks. Besides plain convs the library has depthwise-separable convs (MobileNet), residual bodies with a
1x1 projection shortcut (ResNet) and squeeze-and-excitation (Hu et al. 2018).
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
from archlab.spaces.syntax import Value
from archlab.spaces.types import Kind, Requirement

Args = Mapping[str, Value]
Subtrees = Mapping[str, SubtreeEmitter]
IMAGE = {"takes": "image", "gives": "image"}  # (B, C, H, W) in and out
KEEPS_SIZE = Requirement("image", "image", frozenset({"height", "width"}))

RESIDUAL_HELPER = '''class Residual(nn.Module):
    """body(x) + shortcut(x); the shortcut is a 1x1 conv when the body changes the channel count."""

    def __init__(self, body: nn.Module, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.shortcut = (
            nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)
'''

SQUEEZE_HELPER = '''class SqueezeExcite(nn.Module):
    """Channel attention (Hu et al. 2018): average each channel, pass the vector through a bottleneck MLP,
    scale the channels by its sigmoid."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
'''


def _shrink(ctx: EmitContext, stride: Value, channels: Value | None = None) -> None:
    """The shape lines after a layer with this stride (and new channel count)."""
    if channels is not None:
        ctx.shape.channels = int(channels)  # type: ignore[arg-type]
    ctx.shape.downsample *= int(stride)  # type: ignore[arg-type]
    sizes = "" if stride == 1 else f"height, width = (height - 1) // {stride} + 1, (width - 1) // {stride} + 1"
    if channels is not None and sizes:
        ctx.line(f"channels, {sizes.replace(' = ', f' = {channels}, ', 1)}", ctx.shape.render())
    elif channels is not None:
        ctx.line(f"channels = {channels}", ctx.shape.render())
    elif sizes:
        ctx.line(sizes, ctx.shape.render())


def _emit_conv(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    out, kernel, stride = args["channels"], args["kernel"], args["stride"]
    ctx.append(f"nn.Conv2d(channels, {out}, kernel_size={kernel}, stride={stride}, padding={int(kernel) // 2})")
    _shrink(ctx, stride, out)


def _emit_sepconv(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    out, kernel, stride = args["channels"], args["kernel"], args["stride"]
    ctx.append(f"nn.Conv2d(channels, channels, kernel_size={kernel}, stride={stride}, padding={int(kernel) // 2}, "
               "groups=channels)", "depthwise")
    ctx.append(f"nn.Conv2d(channels, {out}, kernel_size=1)", "pointwise")
    _shrink(ctx, stride, out)


def _emit_pool(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    module = "MaxPool2d" if args["kind"] == "max" else "AvgPool2d"
    ctx.append(f"nn.{module}(2, ceil_mode=True)")
    ctx.shape.downsample *= 2
    ctx.line("height, width = (height + 1) // 2, (width + 1) // 2", ctx.shape.render())


def _emit_residual(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Residual", RESIDUAL_HELPER)
    number = ctx.fresh_number()  # one number per residual keeps nested bodies apart
    body, skip = f"body_{number}", f"skip_channels_{number}"
    ctx.line(f"{body}: list[nn.Module] = []")
    ctx.line(f"{skip} = channels")
    subtrees["body"](ctx.nested(body))
    ctx.append(f"Residual(nn.Sequential(*{body}), {skip}, channels)", ctx.shape.render())


def _emit_squeeze(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("SqueezeExcite", SQUEEZE_HELPER)
    ctx.append(f"SqueezeExcite(channels, reduction={args['reduction']})")


def _emit_gap_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append("nn.AdaptiveAvgPool2d(1)")
    ctx.append("nn.Flatten()")
    ctx.append("nn.Linear(channels, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _emit_mlp_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.shape.flatten()
    ctx.append("nn.Flatten()", ctx.shape.render())
    ctx.line("features = channels * height * width")
    for _ in range(int(args["layers"])):  # type: ignore[call-overload]
        ctx.append(f"nn.Linear(features, {args['hidden']})")
        ctx.append("nn.ReLU()")
        ctx.line(f"features = {args['hidden']}")
    ctx.append("nn.Linear(features, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _simple(name: str, module: str, label: str, **types: str) -> Block:
    """A block without parameters; without types it fits any tensor (activations, identity)."""
    return Block(name, (), lambda ctx, args, subtrees: ctx.append(module), lambda a, s: label, **types)


def _conv_params() -> tuple:
    return (int_param("channels", 1, 4096), int_param("kernel", 1, 31, odd=True),
            int_param("stride", 1, 4, default=1, changes="height", safe=frozenset({1})))


def _feature_blocks() -> list[Block]:
    conv_label = "conv({channels},k{kernel},s{stride})"
    return [
        Block("conv", _conv_params(), _emit_conv, lambda a, s: conv_label.format(**a), opens_group=True,
              changes=frozenset({"channels"}), **IMAGE),
        Block("sepconv", _conv_params(), _emit_sepconv, lambda a, s: "sep" + conv_label.format(**a),
              opens_group=True, changes=frozenset({"channels"}), **IMAGE),
        Block("pool", (choice_param("kind", ("max", "avg"), default="max"),), _emit_pool,
              lambda a, s: f"{a['kind']}pool", opens_group=True, changes=frozenset({"height", "width"}), **IMAGE),
        Block("residual", (subtree_param("body", requires=KEEPS_SIZE),), _emit_residual,
              lambda a, s: f"res[{s['body']}]", opens_group=True, passes_body=True, **IMAGE),
        Block("squeeze_excite", (int_param("reduction", 1, 64, default=4),), _emit_squeeze,
              lambda a, s: f"se(/{a['reduction']})", **IMAGE),
        Block("dropout", (float_param("p", 0.0, 0.9, default=0.1),),
              lambda ctx, a, s: ctx.append(f"nn.Dropout(p={a['p']})"), lambda a, s: f"dropout({a['p']})"),
        _simple("batchnorm", "nn.BatchNorm2d(channels)", "bn", **IMAGE),
        # GroupNorm with one group normalises over channels, height and width: a layer norm for images.
        _simple("groupnorm", "nn.GroupNorm(1, channels)", "gn", **IMAGE),
        Block("identity", (), lambda ctx, args, subtrees: ctx.append("nn.Identity()"), lambda a, s: "",
              canonical=lambda args, bodies: ""),
        _simple("relu", "nn.ReLU()", "relu"),
        _simple("gelu", "nn.GELU()", "gelu"),
        _simple("silu", "nn.SiLU()", "silu"),
    ]


def _head_blocks() -> list[Block]:
    head = {"takes": "image", "gives": "logits", "opens_group": True, "is_head": True}
    mlp_label = "mlp_head({hidden}x{layers})"
    return [
        Block("gap_head", (), _emit_gap_head, lambda a, s: "gap_head", **head),
        Block("mlp_head", (int_param("hidden", 1, 65536, default=128), int_param("layers", 0, 8, default=1)),
              _emit_mlp_head, lambda a, s: mlp_label.format(**a) if a["layers"] else "mlp_head(linear)", **head),
    ]


def image_blocks() -> BlockRegistry:
    """A fresh registry of the image blocks."""
    kinds = (Kind("image", ("channels", "height", "width")), Kind("logits", ("outputs",)))
    return BlockRegistry(_feature_blocks() + _head_blocks(), name="image2d", kinds=kinds, input_kind="image")
