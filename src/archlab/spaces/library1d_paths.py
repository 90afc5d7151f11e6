"""More blocks for (B, C, L) signals: parallel and gated paths, attention over positions, recurrence.

With these the seq1d space holds MLPs, CNNs, GRU-like recurrent models and small transformers
(pointwise embedding, learned positions, pre-norm attention and feed-forward layers). Every helper
class is written into the generated module, so a candidate stays one self-contained file; their
forward passes avoid unpacking tensor shapes, so torch.fx can trace them for the fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping

from archlab.spaces.blocks import Block, EmitContext, SubtreeEmitter, choice_param, int_param, subtree_param
from archlab.spaces.syntax import Value
from archlab.spaces.types import Requirement

Args = Mapping[str, Value]
Subtrees = Mapping[str, SubtreeEmitter]
SEQ = {"takes": "seq", "gives": "seq"}
KEEPS_LENGTH = Requirement("seq", "seq", frozenset({"length"}))

BRANCH_HELPER = '''class Branch(nn.Module):
    """Two paths over the same input, merged by concatenating channels or by adding them (the
    right path projected by a 1x1 conv when its channel count differs from the left one's)."""

    def __init__(self, left: nn.Module, right: nn.Module, left_channels: int, right_channels: int,
                 merge: str) -> None:
        super().__init__()
        self.left, self.right, self.merge = left, right, merge
        same = merge == "concat" or left_channels == right_channels
        self.project = nn.Identity() if same else nn.Conv1d(right_channels, left_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = self.left(x), self.project(self.right(x))
        return torch.cat([left, right], dim=1) if self.merge == "concat" else left + right
'''

GATE_HELPER = '''class Gate(nn.Module):
    """body(x) * sigmoid(gate(x)): a gated path; the gate is a 1x1 conv to the body's channels."""

    def __init__(self, body: nn.Module, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.gate = nn.Conv1d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * torch.sigmoid(self.gate(x))
'''

ATTENTION_HELPER = '''class SelfAttention1d(nn.Module):
    """Multi-head self-attention across the positions of a (B, C, L) signal; gives (B, C, L)."""

    def __init__(self, channels: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(channels, 3 * heads * head_dim)
        self.out = nn.Linear(heads * head_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x.transpose(1, 2))  # (B, L, 3 * heads * head_dim)
        qkv = qkv.unflatten(-1, (3, self.heads, self.head_dim)).permute(2, 0, 3, 1, 4)  # (3, B, h, L, d)
        mixed = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, h, L, d)
        return self.out(mixed.transpose(1, 2).flatten(2)).transpose(1, 2)
'''

GRU_HELPER = '''class Recurrent(nn.Module):
    """A GRU over the positions: (B, C, L) -> (B, hidden * directions, L)."""

    def __init__(self, channels: int, hidden: int, bidirectional: bool) -> None:
        super().__init__()
        self.rnn = nn.GRU(channels, hidden, batch_first=True, bidirectional=bidirectional)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x.transpose(1, 2))[0].transpose(1, 2)
'''

CHANNEL_NORM_HELPER = '''class ChannelNorm(nn.Module):
    """LayerNorm over the channels at each position, as transformers normalise tokens."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)
'''

POSITIONS_HELPER = '''class LearnedPositions(nn.Module):
    """Adds a learned vector per position, so attention can tell positions apart."""

    def __init__(self, channels: int, length: int) -> None:
        super().__init__()
        self.positions = nn.Parameter(0.02 * torch.randn(1, channels, length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.positions
'''


def _emit_branch(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Branch", BRANCH_HELPER)
    number = ctx.fresh_number()
    start, before = f"branch_in_{number}", ctx.shape.channels
    ctx.line(f"{start} = channels")
    widths = []
    for side in ("left", "right"):
        if side == "right":  # the right path starts from the branch's input again
            ctx.line(f"channels = {start}")
        ctx.shape.channels = before
        ctx.line(f"{side}_{number}: list[nn.Module] = []")
        subtrees[side](ctx.nested(f"{side}_{number}"))
        ctx.line(f"{side}_channels_{number} = channels")
        widths.append(ctx.shape.channels)
    left, right = f"left_channels_{number}", f"right_channels_{number}"
    merge = args["merge"]
    ctx.append(f'Branch(nn.Sequential(*left_{number}), nn.Sequential(*right_{number}), {left}, {right}, "{merge}")')
    ctx.shape.channels = widths[0] if merge == "add" else _sum(widths)
    ctx.line(f"channels = {left}" + (f" + {right}" if merge == "concat" else ""), ctx.shape.render())


def _sum(widths: list[int | str | None]) -> int | str:
    if all(isinstance(w, int) for w in widths):
        return sum(widths)  # type: ignore[arg-type]
    return "+".join("C" if w is None else str(w) for w in widths)


def _emit_gate(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Gate", GATE_HELPER)
    number = ctx.fresh_number()
    ctx.line(f"gated_{number}: list[nn.Module] = []")
    ctx.line(f"gate_in_{number} = channels")
    subtrees["body"](ctx.nested(f"gated_{number}"))
    ctx.append(f"Gate(nn.Sequential(*gated_{number}), gate_in_{number}, channels)", ctx.shape.render())


def _emit_attention(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("SelfAttention1d", ATTENTION_HELPER)
    ctx.append(f"SelfAttention1d(channels, heads={args['heads']}, head_dim={args['head_dim']})", ctx.shape.render())


def _emit_gru(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("Recurrent", GRU_HELPER)
    both = args["bidirectional"] == "yes"
    ctx.append(f"Recurrent(channels, hidden={args['hidden']}, bidirectional={both})")
    ctx.shape.channels = int(args["hidden"]) * (2 if both else 1)
    ctx.line(f"channels = {ctx.shape.channels}", ctx.shape.render())


def _emit_layernorm(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("ChannelNorm", CHANNEL_NORM_HELPER)
    ctx.append("ChannelNorm(channels)")


def _emit_positions(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("LearnedPositions", POSITIONS_HELPER)
    ctx.append("LearnedPositions(channels, length)")


def _emit_ffn(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    inner = f"{args['expansion']} * channels"
    ctx.append(f"nn.Sequential(nn.Conv1d(channels, {inner}, 1), nn.GELU(), nn.Conv1d({inner}, channels, 1))")


def _branch_form(args: Args, bodies: list[str]) -> str:
    """Adding is commutative: the two paths in sorted order. Concatenation keeps its order."""
    paths = sorted(bodies) if args["merge"] == "add" else bodies
    return f"branch(merge={args['merge']})" + "".join(f"[{path}]" for path in paths)


def path_blocks() -> list[Block]:
    """Blocks that combine paths, mix positions or recur; registered with the 1-D library."""
    return [
        Block("branch", (subtree_param("left", requires=KEEPS_LENGTH), subtree_param("right", requires=KEEPS_LENGTH),
                         choice_param("merge", ("add", "concat"), default="add")),
              _emit_branch, lambda a, s: f"branch[{s['left']} | {s['right']}]({a['merge']})",
              opens_group=True, changes=frozenset({"channels"}), canonical=_branch_form, **SEQ),
        Block("gate", (subtree_param("body", requires=KEEPS_LENGTH),), _emit_gate,
              lambda a, s: f"gate[{s['body']}]", opens_group=True, passes_body=True, **SEQ),
        Block("attention", (int_param("heads", 1, 64, default=2), int_param("head_dim", 1, 512, default=16)),
              _emit_attention, lambda a, s: f"attn({a['heads']}x{a['head_dim']})", opens_group=True, **SEQ),
        Block("gru", (int_param("hidden", 1, 4096), choice_param("bidirectional", ("no", "yes"), default="no")),
              _emit_gru, lambda a, s: ("bigru" if a["bidirectional"] == "yes" else "gru") + f"({a['hidden']})",
              opens_group=True, changes=frozenset({"channels"}), **SEQ),
        Block("layernorm", (), _emit_layernorm, lambda a, s: "ln", **SEQ),
        Block("posenc", (), _emit_positions, lambda a, s: "pos", **SEQ),
        Block("ffn", (int_param("expansion", 1, 16, default=4),), _emit_ffn,
              lambda a, s: f"ffn(x{a['expansion']})", opens_group=True, **SEQ),
    ]
