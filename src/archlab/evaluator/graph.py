"""A compact, JSON-able picture of a built model, made inside the sandbox for the report's diagram.

The host never imports a candidate, so the build stage draws the graph while it holds the model: the
torch.fx trace that the fingerprint uses when tracing works, else the module tree. Each node is
{"id", "op", "label", "inputs": [ids]}; ids are positions, and inputs always point to earlier nodes.
"""

from __future__ import annotations

import re
from typing import Any

from torch import fx, nn

MAX_NODES = 300  # a diagram of more nodes is unreadable anyway; the rest is counted, not drawn
MAX_LABEL = 60

_ABBREVIATIONS = (("kernel_size=", "k="), ("stride=", "s="), ("padding=", "p="), ("dilation=", "d="),
                  ("in_features=", ""), ("out_features=", ""))
# Settings at their torch defaults say nothing about the architecture; dropped from labels.
_DEFAULTS = re.compile(r"(^|, )(eps=1e-05|momentum=0\.1|affine=True|elementwise_affine=True|bias=True|"
                       r"track_running_stats=True|inplace=False|start_dim=1, end_dim=-1|batch_first=True|"
                       r"approximate='none')(?=,|$)")


def model_graph(model: nn.Module, traced: fx.GraphModule | None, cap: int = MAX_NODES) -> dict[str, Any]:
    """The traced graph's nodes, or the module tree's when tracing failed; at most `cap` nodes."""
    nodes = fx_nodes(traced) if traced is not None else module_nodes(model)
    return {"method": "fx" if traced is not None else "modules", "nodes": nodes[:cap], "total": len(nodes),
            "truncated": len(nodes) > cap}


def fx_nodes(traced: fx.GraphModule) -> list[dict[str, Any]]:
    modules = dict(traced.named_modules())
    index: dict[fx.Node, int] = {}
    nodes = []
    for i, node in enumerate(traced.graph.nodes):
        index[node] = i
        nodes.append({"id": i, "op": node.op, "label": _short(_fx_label(node, modules)),
                      "inputs": [index[n] for n in node.all_input_nodes if n in index]})
    return nodes


def module_nodes(model: nn.Module) -> list[dict[str, Any]]:
    """The module tree: each module's input is its parent (the structure, not the data flow)."""
    ids: dict[str, int] = {}
    nodes = []
    for i, (name, module) in enumerate(model.named_modules()):
        ids[name] = i
        parent = ids.get(name.rpartition(".")[0]) if name else None
        nodes.append({"id": i, "op": "module", "label": _short(describe(module)),
                      "inputs": [] if parent is None else [parent]})
    return nodes


def describe(module: nn.Module) -> str:
    """`Conv1d(16, 32, k=3, s=1)`: the class and its settings, with the long keywords shortened."""
    extra = _DEFAULTS.sub("", module.extra_repr()).strip(", ")
    for long, short in _ABBREVIATIONS:
        extra = extra.replace(long, short)
    extra = re.sub(r"\((\d+),\)", r"\1", extra)  # (3,) -> 3
    return f"{type(module).__name__}({extra})"


def _fx_label(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "output":
        return "output"
    if node.op == "call_module":
        return describe(modules[str(node.target)])
    if node.op == "get_attr":
        return f"param {node.target}"
    if node.op == "call_method":
        return f".{node.target}()"
    return getattr(node.target, "__name__", str(node.target))  # call_function: relu, add, getitem


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"
