"""The block of the `nb201` space: NAS-Bench-201's whole network around one cell, for images (C, H, W).

The emitted code follows xautodl's "infer.tiny" network with C=16, N=5, so parameter counts match
the benchmark's: a 3x3 conv + BatchNorm stem; three stages of five cells at 16, 32 and 64 channels
with a ResNet basic block (stride 2) between stages; BatchNorm, ReLU, global average pool, Linear.
Cell ops follow xautodl's OPS at stride 1 with equal channels: `none` is Zero (x * 0), skip_connect
the identity, the convs ReLU-Conv(no bias)-BatchNorm(affine), avg_pool_3x3 an AvgPool2d(3, 1, 1)
that does not count the padding.
"""

from __future__ import annotations

from collections.abc import Mapping

from archlab.spaces.blocks import Block, BlockRegistry, EmitContext, SubtreeEmitter, choice_param
from archlab.spaces.nb201 import BLOCK, EDGE_PARAMS, EDGES, OPS, canonical, format_arch_string
from archlab.spaces.syntax import Value
from archlab.spaces.types import Kind

STEM_CHANNELS = 16
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5

NB201_HELPERS = '''class ReLUConvBN(nn.Sequential):
    """ReLU, conv without bias, BatchNorm with affine parameters (xautodl's ReLUConvBN)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False)
        super().__init__(nn.ReLU(), conv, nn.BatchNorm2d(out_channels))


class Zero(nn.Module):
    """The `none` op: zeros shaped like the input, so a node whose inputs are all `none` is still a tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def cell_op(name: str, channels: int) -> nn.Module:
    """One edge of a cell; every op keeps the channels and the height and width."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class NB201Cell(nn.Module):
    """Node 0 is the input; node j sums op(node i) over the edges i -> j; node 3 is the output."""

    def __init__(self, edges: tuple[tuple[str, int, int], ...], channels: int) -> None:
        super().__init__()
        self.wiring = tuple((src, dst) for _, src, dst in edges)
        self.ops = nn.ModuleList(cell_op(name, channels) for name, _, _ in edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node in (1, 2, 3):
            inputs = [op(nodes[src]) for op, (src, dst) in zip(self.ops, self.wiring) if dst == node]
            nodes.append(sum(inputs[1:], inputs[0]))
        return nodes[3]


class ResNetBasicBlock(nn.Module):
    """Between stages: two ReLUConvBN 3x3 (the first with stride 2) plus an avg-pool + 1x1 conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, 2)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3, 1)
        # ceil_mode only matters for odd sizes, where it keeps the shortcut the shape of conv_a's output.
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, stride=2, ceil_mode=True), nn.Conv2d(in_channels, out_channels, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))
'''


def _emit_network(ctx: EmitContext, args: Mapping[str, Value], subtrees: Mapping[str, SubtreeEmitter]) -> None:
    ctx.need_helper("NB201", NB201_HELPERS)
    cell = tuple(str(args[name]) for name in EDGE_PARAMS)
    ctx.line(f"# NAS-Bench-201 cell {format_arch_string(cell)}")  # type: ignore[arg-type]
    ctx.line("cell = (  # (op, from node, to node)")
    for op, (to, src) in zip(cell, EDGES, strict=True):
        ctx.line(f"    ({op!r}, {src}, {to}),")
    ctx.line(")")
    ctx.append(f"nn.Conv2d(channels, {STEM_CHANNELS}, 3, padding=1, bias=False)", "stem")
    ctx.append(f"nn.BatchNorm2d({STEM_CHANNELS})")
    ctx.line(f"channels = {STEM_CHANNELS}", "(B, 16, H, W)")
    ctx.line(f"for stage, stage_channels in enumerate({STAGE_CHANNELS}):")
    ctx.line("    if stage > 0:  # (B, 2C, H/2, W/2) after each reduction")
    ctx.line("        layers.append(ResNetBasicBlock(channels, stage_channels))")
    ctx.line("        channels = stage_channels")
    ctx.line(f"    for _ in range({CELLS_PER_STAGE}):")
    ctx.line("        layers.append(NB201Cell(cell, channels))")
    ctx.append("nn.BatchNorm2d(channels)", "(B, 64, H/4, W/4)")
    ctx.append("nn.ReLU()")
    ctx.append("nn.AdaptiveAvgPool2d(1)")
    ctx.append("nn.Flatten()", "(B, 64)")
    ctx.append("nn.Linear(channels, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _label(args: Mapping[str, Value], subtrees: Mapping[str, str]) -> str:
    cell = tuple(str(args[name]) for name in EDGE_PARAMS)
    return "nb201 " + format_arch_string(cell)  # type: ignore[arg-type]


def nb201_blocks() -> BlockRegistry:
    """A fresh registry holding the one block of the nb201 space."""
    network = Block(
        BLOCK,
        tuple(choice_param(name, OPS) for name in EDGE_PARAMS),
        _emit_network,
        _label,
        opens_group=True,
        is_head=True,
        takes="image",
        gives="logits",
        # Cells that compute the same function are one architecture: the benchmark's own classes.
        canonical=lambda args, bodies: "nb201:" + canonical(tuple(str(args[name]) for name in EDGE_PARAMS)),
    )
    kinds = (Kind("image", ("channels", "height", "width")), Kind("logits", ("outputs",)))
    return BlockRegistry([network], name="nb201", kinds=kinds, input_kind="image")
