"""A candidate's behavioural identity, computed on the built model (inside the sandbox).

Three parts, as DESIGN.md says: a canonical hash of the traced graph (names excluded, so renaming a
variable or a submodule changes nothing), the cost profile (params, FLOPs), and a hash of the outputs
on fixed probe inputs from a fixed initialisation.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import torch
from torch import fx, nn

PROBE_SEED = 1234
PROBE_BATCH = 8


def graph_hash(model: nn.Module) -> tuple[str, str]:
    """(hash, method): 'fx' for a traced graph, 'modules' when tracing fails (data-dependent flow)."""
    return traced_hash(model, trace(model))


def trace(model: nn.Module) -> fx.GraphModule | None:
    """The model's torch.fx graph, or None when it cannot be traced (data-dependent control flow)."""
    try:
        return fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001 - any tracing failure falls back to the module structure
        return None


def traced_hash(model: nn.Module, traced: fx.GraphModule | None) -> tuple[str, str]:
    """graph_hash from a trace already made (None: tracing failed), so a stage traces only once."""
    if traced is None:
        return _digest(_module_lines(model)), "modules"
    return _digest(_graph_lines(traced)), "fx"


def _graph_lines(traced: fx.GraphModule) -> list[str]:
    modules = dict(traced.named_modules())
    index: dict[fx.Node, int] = {}
    lines = []
    for i, node in enumerate(traced.graph.nodes):
        index[node] = i
        args = fx.node.map_arg((node.args, node.kwargs), lambda n: f"%{index[n]}")
        lines.append(f"{node.op}|{_target(node, modules, traced)}|{args!r}")
    return lines


def _target(node: fx.Node, modules: dict[str, nn.Module], traced: fx.GraphModule) -> str:
    if node.op == "call_module":
        return _describe(modules[node.target])
    if node.op == "get_attr":
        value = functools.reduce(getattr, str(node.target).split("."), traced)  # "1.positions": nested
        return f"attr{tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
    if node.op == "call_function":
        return f"{getattr(node.target, '__module__', '')}.{getattr(node.target, '__name__', node.target)}"
    if node.op == "call_method":
        return str(node.target)
    return node.op  # placeholder / output: their names are free to change


def _describe(module: nn.Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


def _module_lines(model: nn.Module) -> list[str]:
    lines = [f"{_depth(name)}:{_describe(m)}" for name, m in model.named_modules()]
    return lines + [str(tuple(p.shape)) for p in model.parameters()]


def _depth(name: str) -> int:
    return 0 if not name else name.count(".") + 1


def probe_hash(model: nn.Module, input_shape: tuple[int, ...], device: torch.device, *,
               vocab: int | None = None) -> str:
    """Hash of eval-mode outputs on seeded random inputs, rounded so float noise does not count.

    With `vocab` the probes are token ids drawn from range(vocab) (language models), else Gaussian.
    """
    generator = torch.Generator().manual_seed(PROBE_SEED)
    shape = (PROBE_BATCH, *input_shape)
    if vocab is None:
        probe = torch.randn(shape, generator=generator).to(device)
    else:
        probe = torch.randint(0, vocab, shape, generator=generator).to(device)
    with torch.no_grad():
        out = model(probe).float().cpu().numpy()
    rounded = np.round(out, 4) + 0.0  # + 0.0 folds -0.0 into 0.0
    return hashlib.sha256(rounded.tobytes()).hexdigest()[:16]


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
