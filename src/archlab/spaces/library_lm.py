"""Blocks for small causal byte-level language models: tokens (B, T) -> hidden (B, T, D) -> logits (B, T, vocab).

The vocabulary is task.num_outputs (256 for bytes); inputs are int64 token ids. Generated code tracks
`length` (T, the context the model is built for) and `width` (D) as plain ints while build_model runs.

Every block is causal: the output at position t depends on the tokens at positions <= t only. Per-position
blocks (embedding, norms, channel mixers, the head) cannot look across positions at all; the token mixers
are causal by their construction (a causal mask; running sums; recurrences taken chunk by chunk in time
order, with triangular masks and forward substitution inside a chunk; convolutions padded on the left
only), and residual layouts compose causal maps position by position. No block normalises across
positions or drops out. So every derivation of a grammar over this library is causal;
tests/test_spaces_lmblocks.py probes it.

Each token mixer projects from the width into its own space (heads x head_dim, or the width for the
convolutions) and back, so mixers and channel mixers all keep (B, T, D) and any residual layout can wrap
them. Helper classes are written into the generated module, so a candidate stays one self-contained file.
"""

from __future__ import annotations

from collections.abc import Mapping

from archlab.spaces.blocks import (
    Block,
    BlockRegistry,
    EmitContext,
    Emitter,
    Labeler,
    Param,
    SubtreeEmitter,
    choice_param,
    int_param,
    subtree_param,
)
from archlab.spaces.syntax import Value
from archlab.spaces.types import Kind, Requirement

Args = Mapping[str, Value]
Subtrees = Mapping[str, SubtreeEmitter]
HIDDEN = {"takes": "hidden", "gives": "hidden"}  # (B, T, D) in and out
KEEPS_SHAPE = Requirement("hidden", "hidden", frozenset({"width", "length"}))
NORMS = ("layer", "rms")
NORM_LABELS = {"layer": "ln", "rms": "rms"}

# -- helper sources, written into generated modules -------------------------------------------------

HEADS_HELPER = '''def split_heads(x: torch.Tensor, parts: int, heads: int, head_dim: int) -> torch.Tensor:
    """(B, T, parts * heads * head_dim) -> (parts, B, heads, T, head_dim): q, k, v, ... stacked on dim 0."""
    return x.unflatten(-1, (parts, heads, head_dim)).permute(2, 0, 3, 1, 4)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, head_dim) -> (B, T, heads * head_dim)."""
    return x.transpose(1, 2).flatten(2)
'''

RMSNORM_HELPER = '''class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * gain over the width, at each position (no mean, no bias)."""

    def __init__(self, width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.gain
'''

POSITIONS_HELPER = '''class LearnedPositions(nn.Module):
    """Adds a learned vector per position (up to the length built for); (B, T, D) -> (B, T, D)."""

    def __init__(self, length: int, width: int) -> None:
        super().__init__()
        self.positions = nn.Parameter(0.02 * torch.randn(1, length, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.positions[:, : x.shape[1]]
'''

SOFTMAX_ATTENTION_HELPER = '''class CausalSelfAttention(nn.Module):
    """Multi-head softmax attention where position t attends to positions <= t; (B, T, D) -> (B, T, D)."""

    def __init__(self, width: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(width, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = split_heads(self.qkv(x), 3, self.heads, self.head_dim)  # (3, B, H, T, d)
        mixed = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)  # (B, H, T, d)
        return self.out(merge_heads(mixed))
'''

LINEAR_ATTENTION_HELPER = '''class LinearAttention(nn.Module):
    """Causal linear attention (Katharopoulos et al. 2020), per head:

        o_t = phi(q_t)^T S_t / (phi(q_t) . z_t),  S_t = sum_{s<=t} phi(k_s) v_s^T,  z_t = sum_{s<=t} phi(k_s)

    with phi = elu + 1 or relu. S_t and z_t are running (cumulative) sums, so o_t sees positions <= t only.
    """

    def __init__(self, width: int, heads: int, head_dim: int, feature: str, eps: float = 1e-6) -> None:
        super().__init__()
        self.heads, self.head_dim, self.feature, self.eps = heads, head_dim, feature, eps
        self.qkv = nn.Linear(width, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, width, bias=False)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """A non-negative feature map, so the normaliser phi(q) . z is a sum of non-negative terms."""
        return nn.functional.elu(x) + 1.0 if self.feature == "elu" else nn.functional.relu(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = split_heads(self.qkv(x), 3, self.heads, self.head_dim)  # (3, B, H, T, d)
        q, k, v = self.phi(qkv[0]), self.phi(qkv[1]), qkv[2]
        states = torch.cumsum(k.unsqueeze(-1) * v.unsqueeze(-2), dim=2)  # S_t: (B, H, T, d, d)
        normaliser = torch.cumsum(k, dim=2)  # z_t: (B, H, T, d)
        numerator = torch.einsum("bhtk,bhtkv->bhtv", q, states)  # (B, H, T, d)
        denominator = (q * normaliser).sum(-1, keepdim=True) + self.eps  # (B, H, T, 1); eps: relu may give 0
        return self.out(merge_heads(numerator / denominator))
'''

GATED_LINEAR_ATTENTION_HELPER = '''class GatedLinearAttention(nn.Module):
    """Gated linear attention (Yang et al. 2024), per head, with a (d_k, d_v) state S:

        S_t = diag(alpha_t) S_{t-1} + k_t v_t^T,  o_t = S_t^T q_t,  alpha_t = sigmoid(W_alpha x_t + b) in (0, 1)^d_k

    Computed chunk by chunk, in time order, rather than step by step (same values, far fewer operations).
    Queries are scaled by d^-1/2.
    """

    def __init__(self, width: int, heads: int, head_dim: int, chunk: int = 16) -> None:
        super().__init__()
        self.heads, self.head_dim, self.chunk, self.scale = heads, head_dim, chunk, head_dim**-0.5
        self.qkv = nn.Linear(width, 3 * heads * head_dim, bias=False)
        self.decay = nn.Linear(width, heads * head_dim)
        nn.init.constant_(self.decay.bias, 3.0)  # alpha ~ 0.95 at first: the state remembers ~20 steps
        self.out = nn.Linear(heads * head_dim, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = split_heads(self.qkv(x), 3, self.heads, self.head_dim)  # (3, B, H, T, d)
        decay = split_heads(self.decay(x), 1, self.heads, self.head_dim)[0]
        log_alpha = nn.functional.logsigmoid(decay)  # (B, H, T, d_k)
        state = x.new_zeros(x.shape[0], self.heads, self.head_dim, self.head_dim)  # S: (B, H, d_k, d_v)
        outputs = []
        chunks = (t.split(self.chunk, dim=2) for t in (qkv[0] * self.scale, qkv[1], qkv[2], log_alpha))
        for q, k, v, log_a in zip(*chunks):  # each (B, H, c, d)
            out, state = self.chunk_step(q, k, v, log_a, state)
            outputs.append(out)
        return self.out(merge_heads(torch.cat(outputs, dim=2)))

    @staticmethod
    def chunk_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_alpha: torch.Tensor,
                   state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One chunk of c positions: its outputs (B, H, c, d_v) and the state after it.

        The recurrence unrolled from the state S0 before the chunk, with g_i = sum_{r<=i} log alpha_r:
        o_i = S0^T (q_i * e^g_i) + sum_{j<=i} (q_i * e^(g_i - g_j)) . k_j v_j. Every exponent is <= 0, so
        nothing overflows, and the mask j <= i keeps position i from seeing later ones.
        """
        g = log_alpha.cumsum(2)  # (B, H, c, d_k)
        causal = torch.ones(g.shape[2], g.shape[2], dtype=torch.bool, device=g.device).tril()  # [i, j]: j <= i
        gaps = (g.unsqueeze(3) - g.unsqueeze(2)).masked_fill(~causal[..., None], float("-inf"))  # (B, H, c, c, d_k)
        scores = (q.unsqueeze(3) * gaps.exp() * k.unsqueeze(2)).sum(-1)  # [i, j]: (B, H, c, c)
        out = scores @ v + (q * g.exp()) @ state
        total = g[:, :, -1:]  # log of the decay over the whole chunk: (B, H, 1, d_k)
        state = total.exp().transpose(-1, -2) * state + (k * (total - g).exp()).transpose(-1, -2) @ v
        return out, state
'''

DELTA_RULE_HELPER = '''class DeltaRule(nn.Module):
    """The delta rule (DeltaNet; Schlag et al. 2021, Yang et al. 2024), per head, with a (d_v, d_k) state S:

        S_t = S_{t-1} (I - beta_t k_t k_t^T) + beta_t v_t k_t^T,  o_t = S_t q_t,  beta_t = sigmoid(w_beta . x_t)

    i.e. S_t = S_{t-1} + beta_t (v_t - S_{t-1} k_t) k_t^T: the state's answer for k_t moves toward v_t.
    Keys and queries are L2-normalised, so with beta in (0, 1) the update never grows the state.
    Computed chunk by chunk, in time order, rather than step by step (same values, far fewer operations).
    """

    def __init__(self, width: int, heads: int, head_dim: int, chunk: int = 16) -> None:
        super().__init__()
        self.heads, self.head_dim, self.chunk = heads, head_dim, chunk
        self.qkv = nn.Linear(width, 3 * heads * head_dim, bias=False)
        self.beta = nn.Linear(width, heads)
        self.out = nn.Linear(heads * head_dim, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = split_heads(self.qkv(x), 3, self.heads, self.head_dim)  # (3, B, H, T, d)
        q = nn.functional.normalize(qkv[0], dim=-1)
        k = nn.functional.normalize(qkv[1], dim=-1)
        beta = torch.sigmoid(self.beta(x)).transpose(1, 2).unsqueeze(-1)  # (B, H, T, 1)
        state = x.new_zeros(x.shape[0], self.heads, self.head_dim, self.head_dim)  # S^T: (B, H, d_k, d_v)
        outputs = []
        for q_c, k_c, v_c, beta_c in zip(*(t.split(self.chunk, dim=2) for t in (q, k, qkv[2], beta))):
            out, state = self.chunk_step(q_c, k_c, v_c, beta_c, state)
            outputs.append(out)
        return self.out(merge_heads(torch.cat(outputs, dim=2)))

    @staticmethod
    def chunk_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor,
                   state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One chunk of c positions, one per row: its outputs (B, H, c, d_v) and S^T after it.

        Unrolled from the state S0 before the chunk, S_t = S0 + sum_{j<=t} u_j k_j^T with the updates
        u_t = beta_t (v_t - S_{t-1} k_t) = beta_t (v_t - S0 k_t - sum_{j<t} (k_j . k_t) u_j), i.e. the unit
        lower-triangular system (I + diag(beta) tril(K K^T, -1)) U = diag(beta) (V - K S0^T): solving it by
        forward substitution lets row t depend on rows <= t only. Then o_t = S0 q_t + sum_{j<=t} (k_j . q_t) u_j.
        """
        eye = torch.eye(k.shape[2], dtype=k.dtype, device=k.device)
        system = eye + beta * torch.tril(k @ k.transpose(-1, -2), diagonal=-1)  # (B, H, c, c)
        u = torch.linalg.solve_triangular(system, beta * (v - k @ state), upper=False, unitriangular=True)
        out = q @ state + torch.tril(q @ k.transpose(-1, -2)) @ u  # (B, H, c, d_v)
        return out, state + k.transpose(-1, -2) @ u
'''

SHORT_CONV_HELPER = '''class ShortConv(nn.Module):
    """A causal depthwise convolution over time between two projections; (B, T, D) -> (B, T, D):

        y_t = W_out silu(sum_{j < kernel} w_j * u_{t-j}),  u = W_in x

    The input is padded with kernel - 1 zeros on the left only, so y_t never sees a position after t.
    """

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.inp = nn.Linear(width, width)
        self.conv = nn.Conv1d(width, width, kernel, groups=width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.inp(x).transpose(1, 2)  # (B, D, T)
        u = self.conv(nn.functional.pad(u, (self.kernel - 1, 0)))  # (B, D, T): left padding only
        return self.out(nn.functional.silu(u).transpose(1, 2))
'''

SSM_HELPER = '''class DiagonalSSM(nn.Module):
    """A diagonal linear state-space layer (S4D-style, real) between two projections; (B, T, D) -> (B, T, D).

    For each channel c and state n, on u = W_in x:

        h_t = a h_{t-1} + b u_t,  y_t = sum_n C_n h_{t,n} + D u_t,  h_{-1} = 0

    with a = exp(-exp(log_rate)), in (0, 1) for any parameter value, and b = (1 - a) B, so each state is a
    decaying average of past inputs. Unrolled, y_t = sum_{l=0..t} K_l u_{t-l} + D u_t with the kernel
    K_l = sum_n C_n b_n a_n^l, computed here as a depthwise convolution padded on the left only (causal).
    """

    def __init__(self, width: int, state: int) -> None:
        super().__init__()
        self.inp = nn.Linear(width, width)
        # S4D-Real rates: dt log-uniform in [1e-3, 1e-1] times (n + 1/2), memories from a few steps to ~2000.
        dt = torch.exp(torch.empty(width, 1).uniform_(-6.9, -2.3))
        self.log_rate = nn.Parameter(torch.log(dt * (torch.arange(state) + 0.5)))  # (D, N)
        self.B = nn.Parameter(torch.ones(width, state))
        self.C = nn.Parameter(torch.randn(width, state) * state**-0.5)
        self.D = nn.Parameter(torch.ones(width))
        self.out = nn.Linear(width, width)

    def kernel(self, length: int) -> torch.Tensor:
        """K_l for l = 0 .. length - 1: (D, length)."""
        rate = torch.exp(self.log_rate)  # -log a: (D, N), positive
        b = -torch.expm1(-rate) * self.B  # (1 - a) B, with expm1 for accuracy when a is near 1
        lags = torch.arange(length, device=rate.device, dtype=rate.dtype)  # (T,)
        powers = torch.exp(-rate.unsqueeze(-1) * lags)  # a^l: (D, N, T)
        return torch.einsum("dn,dnl->dl", self.C * b, powers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.inp(x).transpose(1, 2)  # (B, D, T)
        length = u.shape[2]
        weight = self.kernel(length).flip(-1).unsqueeze(1)  # (D, 1, T): the last tap multiplies u_t
        y = nn.functional.conv1d(nn.functional.pad(u, (length - 1, 0)), weight, groups=u.shape[1])  # (B, D, T)
        y = y + self.D.unsqueeze(-1) * u
        return self.out(y.transpose(1, 2))
'''

GLU_HELPER = '''class SwiGLU(nn.Module):
    """W_down (silu(W_gate x) * W_up x) at each position (Shazeer 2020); (B, T, D) -> (B, T, D)."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.gate = nn.Linear(width, hidden, bias=False)
        self.up = nn.Linear(width, hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(nn.functional.silu(self.gate(x)) * self.up(x))
'''

PRENORM_HELPER = '''class PreNorm(nn.Module):
    """x + body(norm(x)): the residual stream itself is never normalised (GPT-2, Llama)."""

    def __init__(self, body: nn.Module, norm: nn.Module) -> None:
        super().__init__()
        self.body, self.norm = body, norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(self.norm(x))
'''

POSTNORM_HELPER = '''class PostNorm(nn.Module):
    """norm(x + body(x)): the original Transformer's layout."""

    def __init__(self, body: nn.Module, norm: nn.Module) -> None:
        super().__init__()
        self.body, self.norm = body, norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.body(x))
'''

PARALLEL_HELPER = '''class ParallelBlock(nn.Module):
    """x + left(n) + right(n) with n = norm(x): both branches read one normalised input (GPT-J, PaLM)."""

    def __init__(self, left: nn.Module, right: nn.Module, norm: nn.Module) -> None:
        super().__init__()
        self.left, self.right, self.norm = left, right, norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norm(x)
        return x + self.left(n) + self.right(n)
'''


# -- emitters -------------------------------------------------------------------------------------


def _hidden(ctx: EmitContext) -> str:
    """The shape comment (B, T, width), kept in ctx.shape so the module's last line shows it too.

    ShapeNote is written for (B, C, L) signals; its free-form `flat` text renders as (B, <text>).
    """
    ctx.shape.flat = f"T, {ctx.shape.channels}"
    return ctx.shape.render()


def _norm(ctx: EmitContext, kind: Value) -> str:
    if kind == "rms":
        ctx.need_helper("RMSNorm", RMSNORM_HELPER)
        return "RMSNorm(width)"
    return "nn.LayerNorm(width)"


def _emit_embed(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.shape.channels = int(args["width"])
    ctx.append(f"nn.Embedding(task.num_outputs, {args['width']})", _hidden(ctx))
    ctx.line(f"width = {args['width']}")


def _emit_positions(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("LearnedPositions", POSITIONS_HELPER)
    ctx.append("LearnedPositions(length, width)")


def _mixer(name: str, params: tuple[Param, ...], helper: str, source: str, call: str, label: str, *,
           multi_head: bool = False) -> Block:
    """A (B, T, D) -> (B, T, D) block emitting `helper(width, call)`; call and label are filled in with
    the block's values, e.g. "heads={heads}" and "attn({heads}x{head_dim})"."""

    def emit(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
        if multi_head:
            ctx.need_helper("split_heads", HEADS_HELPER)
        ctx.need_helper(helper, source)
        ctx.append(f"{helper}(width, {call.format(**args)})")

    return Block(name, params, emit, lambda a, s: label.format(**a), opens_group=True, **HIDDEN)


def _emit_mlp(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    inner = f"{args['expansion']} * width"
    ctx.append(f"nn.Sequential(nn.Linear(width, {inner}), nn.GELU(), nn.Linear({inner}, width))")


def _emit_body(ctx: EmitContext, subtrees: Subtrees, name: str, number: int) -> str:
    """Emits the subtree `name` into a fresh list and gives the nn.Sequential over it."""
    target = f"{name}_{number}"
    ctx.line(f"{target}: list[nn.Module] = []")
    subtrees[name](ctx.nested(target))
    return f"nn.Sequential(*{target})"


def _residual_emitter(helper: str, source: str) -> Emitter:
    """helper(body, norm): PreNorm or PostNorm around the body's blocks."""

    def emit(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
        ctx.need_helper(helper, source)
        number = ctx.fresh_number()  # keeps nested bodies' lists apart
        body = _emit_body(ctx, subtrees, "body", number)
        ctx.append(f"{helper}({body}, {_norm(ctx, args['norm'])})", _hidden(ctx))

    return emit


def _emit_parallel(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.need_helper("ParallelBlock", PARALLEL_HELPER)
    number = ctx.fresh_number()
    left = _emit_body(ctx, subtrees, "left", number)
    right = _emit_body(ctx, subtrees, "right", number)
    ctx.append(f"ParallelBlock({left}, {right}, {_norm(ctx, args['norm'])})", _hidden(ctx))


def _parallel_form(args: Args, bodies: list[str]) -> str:
    """x + left(n) + right(n) is symmetric in its branches: the canonical form lists them sorted."""
    return f"parallel(norm={args['norm']})" + "".join(f"[{body}]" for body in sorted(bodies))


def _emit_lm_head(ctx: EmitContext, args: Args, subtrees: Subtrees) -> None:
    ctx.append(_norm(ctx, args["norm"]), "final norm")
    ctx.append("nn.Linear(width, task.num_outputs)", "(B, T, vocab)")
    ctx.shape.flat = "T, vocab"


# -- blocks ---------------------------------------------------------------------------------------


def _heads() -> tuple[Param, Param]:
    return int_param("heads", 1, 64, default=4), int_param("head_dim", 1, 512, default=16)


def _norm_param() -> tuple[Param]:
    return (choice_param("norm", NORMS, default="layer"),)


def _token_mixers() -> list[Block]:
    heads = "heads={heads}, head_dim={head_dim}"
    feature = choice_param("feature", ("elu", "relu"), default="elu")
    return [
        _mixer("softmax_attention", _heads(), "CausalSelfAttention", SOFTMAX_ATTENTION_HELPER, heads,
               "attn({heads}x{head_dim})", multi_head=True),
        _mixer("linear_attention", (*_heads(), feature), "LinearAttention", LINEAR_ATTENTION_HELPER,
               heads + ', feature="{feature}"', "linattn({heads}x{head_dim},{feature})", multi_head=True),
        _mixer("gated_linear_attention", _heads(), "GatedLinearAttention", GATED_LINEAR_ATTENTION_HELPER, heads,
               "gla({heads}x{head_dim})", multi_head=True),
        _mixer("delta_rule", _heads(), "DeltaRule", DELTA_RULE_HELPER, heads, "delta({heads}x{head_dim})",
               multi_head=True),
        _mixer("short_conv", (int_param("kernel", 1, 64, default=4),), "ShortConv", SHORT_CONV_HELPER,
               "kernel={kernel}", "conv(k{kernel})"),
        _mixer("ssm_scan", (int_param("state", 1, 256, default=16),), "DiagonalSSM", SSM_HELPER, "state={state}",
               "ssm({state})"),
    ]


def _channel_mixers() -> list[Block]:
    expansion = (int_param("expansion", 1, 16, default=4),)
    return [
        Block("mlp", expansion, _emit_mlp, lambda a, s: f"mlp(x{a['expansion']})", opens_group=True, **HIDDEN),
        _mixer("glu", expansion, "SwiGLU", GLU_HELPER, "hidden={expansion} * width", "glu(x{expansion})"),
    ]


def _layouts() -> list[Block]:
    def body(name: str) -> Param:
        return subtree_param(name, requires=KEEPS_SHAPE)

    def labelled(prefix: str) -> Labeler:
        return lambda a, s: f"{prefix}-{NORM_LABELS[str(a['norm'])]}[{s['body']}]"

    return [
        Block("prenorm", (body("body"), *_norm_param()), _residual_emitter("PreNorm", PRENORM_HELPER),
              labelled("pre"), opens_group=True, passes_body=True, **HIDDEN),
        Block("postnorm", (body("body"), *_norm_param()), _residual_emitter("PostNorm", POSTNORM_HELPER),
              labelled("post"), opens_group=True, passes_body=True, **HIDDEN),
        Block("parallel", (body("left"), body("right"), *_norm_param()), _emit_parallel,
              lambda a, s: f"par-{NORM_LABELS[str(a['norm'])]}[{s['left']} | {s['right']}]",
              opens_group=True, passes_body=True, canonical=_parallel_form, **HIDDEN),
    ]


def _ends() -> list[Block]:
    return [
        Block("embed", (int_param("width", 1, 4096),), _emit_embed, lambda a, s: f"embed({a['width']})",
              opens_group=True, takes="tokens", gives="hidden"),
        Block("learned_positions", (), _emit_positions, lambda a, s: "pos", **HIDDEN),
        Block("lm_head", _norm_param(), _emit_lm_head, lambda a, s: f"head({NORM_LABELS[str(a['norm'])]})",
              opens_group=True, is_head=True, takes="hidden", gives="logits"),
    ]


def lm_blocks() -> BlockRegistry:
    """A fresh registry of the language-model blocks; callers may register more on their copy."""
    kinds = (
        Kind("tokens", ("length",)),  # (B, T) int64 token ids
        Kind("hidden", ("length", "width")),  # (B, T, D)
        Kind("logits", ("length", "vocab")),  # (B, T, vocab): next-token scores at every position
    )
    blocks = _ends() + _token_mixers() + _channel_mixers() + _layouts()
    return BlockRegistry(blocks, name="lmblocks", kinds=kinds, input_kind="tokens", output_kind="logits")
