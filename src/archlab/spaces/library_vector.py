"""Blocks for feature vectors shaped (B, F): rows of a table, embeddings, hand-made features.

The family is the multilayer perceptron as tabular deep learning uses it (Gorishniy et al., "Revisiting
Deep Learning Models for Tabular Data", 2021): dense layers with a norm, an activation and dropout;
residual blocks (norm, an expanding and a contracting linear layer, dropout, added to the input); and
gated linear units. Generated code tracks `features`, the current width, as a plain int, so every
layer is sized for the task it is built on.
"""

from __future__ import annotations

from collections.abc import Mapping

from archlab.spaces.blocks import (
    Block,
    BlockRegistry,
    EmitContext,
    SubtreeEmitter,
    float_param,
    int_param,
    subtree_param,
)
from archlab.spaces.syntax import Value
from archlab.spaces.types import Kind, Requirement

Args = Mapping[str, Value]
Subtrees = Mapping[str, SubtreeEmitter]
VEC = {"takes": "vec", "gives": "vec"}  # (B, F) in and out

RESIDUAL_HELPER = '''class Residual(nn.Module):
    """body(x) + shortcut(x); the shortcut is a linear map when the body changes the width."""

    def __init__(self, body: nn.Module, in_features: int, out_features: int) -> None:
        super().__init__()
        self.body = body
        self.shortcut = nn.Identity() if in_features == out_features else nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)
'''


def _width(ctx: EmitContext, width: Value) -> None:
    ctx.shape.channels = int(width)  # type: ignore[arg-type]
    ctx.line(f"features = {width}", ctx.shape.render())


def _emit_linear(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append(f"nn.Linear(features, {args['width']})")
    _width(ctx, args["width"])


def _emit_glu(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append(f"nn.Linear(features, 2 * {args['width']})")
    ctx.append("nn.GLU(dim=-1)", "half the units gate the other half")
    _width(ctx, args["width"])


def _emit_ffn(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    inner = f"{args['expansion']} * features"
    ctx.append(f"nn.Sequential(nn.Linear(features, {inner}), nn.ReLU(), nn.Linear({inner}, features))",
               ctx.shape.render())


def _emit_residual(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Residual", RESIDUAL_HELPER)
    number = ctx.fresh_number()  # one number per residual keeps nested bodies apart
    body, skip = f"body_{number}", f"skip_features_{number}"
    ctx.line(f"{body}: list[nn.Module] = []")
    ctx.line(f"{skip} = features")
    subtrees["body"](ctx.nested(body))
    ctx.append(f"Residual(nn.Sequential(*{body}), {skip}, features)", ctx.shape.render())


def _emit_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append("nn.Linear(features, task.num_outputs)", "(B, num_outputs)")
    ctx.shape.flat = "num_outputs"


def _simple(name: str, module: str, label: str, **types: str) -> Block:
    """A block without parameters; without types it fits any tensor (activations, identity)."""
    return Block(name, (), lambda ctx, args, subtrees: ctx.append(module), lambda a, s: label, **types)


def vector_blocks() -> BlockRegistry:
    """A fresh registry of the feature-vector blocks."""
    blocks = [
        Block("linear", (int_param("width", 1, 65536),), _emit_linear, lambda a, s: f"linear({a['width']})",
              opens_group=True, changes=frozenset({"features"}), **VEC),
        Block("glu", (int_param("width", 1, 65536),), _emit_glu, lambda a, s: f"glu({a['width']})",
              opens_group=True, changes=frozenset({"features"}), **VEC),
        Block("ffn", (int_param("expansion", 1, 16, default=2),), _emit_ffn, lambda a, s: f"ffn(x{a['expansion']})",
              opens_group=True, **VEC),
        Block("residual", (subtree_param("body", requires=Requirement("vec", "vec")),), _emit_residual,
              lambda a, s: f"res[{s['body']}]", opens_group=True, passes_body=True, **VEC),
        Block("dropout", (float_param("p", 0.0, 0.9, default=0.1),),
              lambda ctx, a, s: ctx.append(f"nn.Dropout(p={a['p']})"), lambda a, s: f"dropout({a['p']})"),
        _simple("batchnorm", "nn.BatchNorm1d(features)", "bn", **VEC),
        _simple("layernorm", "nn.LayerNorm(features)", "ln", **VEC),
        Block("identity", (), lambda ctx, args, subtrees: ctx.append("nn.Identity()"), lambda a, s: "",
              canonical=lambda args, bodies: ""),
        _simple("relu", "nn.ReLU()", "relu"),
        _simple("gelu", "nn.GELU()", "gelu"),
        _simple("silu", "nn.SiLU()", "silu"),
        _simple("tanh", "nn.Tanh()", "tanh"),
        Block("linear_head", (), _emit_head, lambda a, s: "linear_head", opens_group=True, is_head=True,
              takes="vec", gives="logits"),
    ]
    kinds = (Kind("vec", ("features",)), Kind("logits", ("outputs",)))
    return BlockRegistry(blocks, name="vector", kinds=kinds, input_kind="vec")
