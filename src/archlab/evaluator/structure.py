"""Structure features of a built model, read from its torch.fx trace: what the data actually flows through.

A derivation's encoding counts what was written; two cells with the same counts can differ completely
in what reaches the output (a `none` edge cuts a path; a convolution whose result is multiplied by zero
trains nothing useful). These features follow the data instead, generically over any traced module:

- a node is *live* when it depends on the input: the placeholders are, a node is when one of its inputs
  is, except where the value is forced to a constant (multiplied by a literal zero, `zeros_like`, ...);
- a node is *effective* when it is live and the output depends on it;
- a *weighted* node is a call of a module owning a parameter of two or more dimensions (convolution,
  linear, embedding, attention and recurrent projections), a functional linear/convolution/embedding,
  or a matrix product with a parameter (not one between two activations, such as attention scores).

Features (all floats): `depth` and `shallow` — the most and the fewest weighted nodes on a path from the
input to the output (the network's effective depth, and how short its shortest route is: a residual path
makes it small); `weighted` — effective weighted nodes; `dead` — weighted nodes that are not effective
(parameters that cannot matter); `log_paths` — log(1 + the number of input-to-output paths);
`connected` — 1 when the output depends on the input at all; and `op:<label>` — how many effective nodes
carry each label (a module's class, with its kernel size where it has one, e.g. `Conv2d(k3)`; a
function's or method's name), so that what the data passes through is counted, not what was declared.
Labels differ between spaces: a label a model lacks counts zero (FeatureTable fills it so).

On NAS-Bench-201 these features lift the predictor's Kendall tau at 56 training cells from 0.68 to 0.72
(benchmarks/evaluator_predictor_nb201.py, "ensemble, no structure" against "ensemble").
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from typing import Any

import torch
from torch import fx, nn

_MULTIPLY = {operator.mul, torch.mul, "mul", "mul_"}
_CONSTANT = {torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like, "zero_", "new_zeros",
             "new_ones", "new_full", "new_empty", "size", "dim", torch.numel, "numel"}
_WEIGHTED_FUNCTIONS = {torch.nn.functional.linear, torch.nn.functional.conv1d, torch.nn.functional.conv2d,
                       torch.nn.functional.conv3d, torch.nn.functional.embedding}
_PRODUCTS = {torch.matmul, torch.bmm, torch.mm, operator.matmul, "matmul", "bmm", "mm"}  # weighted with a parameter


def structure_features(traced: fx.GraphModule) -> dict[str, float]:
    """The features above for one traced model."""
    nodes = list(traced.graph.nodes)
    modules = dict(traced.named_modules())
    live = _live(nodes)
    effective = _effective(nodes, live)
    weight = {n: float(_is_weighted(n, modules)) for n in nodes}
    depth, shallow, paths = _paths(nodes, effective, weight)
    end = next((n for n in nodes if n.op == "output" and n in effective), None)  # None: output ignores input
    features = {
        "depth": depth[end] if end else 0.0,
        "shallow": shallow[end] if end else 0.0,
        "weighted": sum(weight[n] for n in effective),
        "dead": sum(weight[n] for n in nodes if n not in effective),
        "log_paths": math.log1p(paths[end]) if end else 0.0,
        "connected": float(end is not None),
    }
    labels = Counter(_label(n, modules) for n in effective if n.op not in ("placeholder", "output", "get_attr"))
    return features | {f"op:{label}": float(count) for label, count in sorted(labels.items())}


def _label(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        module = modules.get(str(node.target))
        kernel = getattr(module, "kernel_size", None)
        if isinstance(kernel, tuple | list):
            kernel = "x".join(str(k) for k in kernel) if len(set(kernel)) > 1 else kernel[0]
        return type(module).__name__ + (f"(k{kernel})" if kernel is not None else "")
    return str(getattr(node.target, "__name__", node.target))


def _live(nodes: list[fx.Node]) -> set[fx.Node]:
    live: set[fx.Node] = set()
    for node in nodes:
        if node.op == "placeholder":
            live.add(node)
        elif not _forces_constant(node) and any(i in live for i in node.all_input_nodes):
            live.add(node)
    return live


def _effective(nodes: list[fx.Node], live: set[fx.Node]) -> set[fx.Node]:
    """Live nodes the output depends on through live edges."""
    needed: set[fx.Node] = set()
    for node in reversed(nodes):
        if node in live and (node.op == "output" or node in needed):
            needed.add(node)
            needed.update(i for i in node.all_input_nodes if i in live)
    return needed


def _paths(nodes: list[fx.Node], effective: set[fx.Node], weight: dict[fx.Node, float]
           ) -> tuple[dict[fx.Node, float], dict[fx.Node, float], dict[fx.Node, float]]:
    """Per effective node: most and fewest weighted nodes on a path from an input, and the path count."""
    depth: dict[fx.Node, float] = {}
    shallow: dict[fx.Node, float] = {}
    paths: dict[fx.Node, float] = {}
    for node in nodes:
        if node not in effective:
            continue
        inputs = [i for i in node.all_input_nodes if i in effective]
        if not inputs:  # an input of the model
            depth[node], shallow[node], paths[node] = weight[node], weight[node], 1.0
            continue
        depth[node] = weight[node] + max(depth[i] for i in inputs)
        shallow[node] = weight[node] + min(shallow[i] for i in inputs)
        paths[node] = min(sum(paths[i] for i in inputs), 1e300)
    return depth, shallow, paths


def _forces_constant(node: fx.Node) -> bool:
    target = node.target
    if node.op in ("call_function", "call_method") and target in _CONSTANT:
        return True
    if node.op in ("call_function", "call_method") and target in _MULTIPLY:
        return any(_is_zero(a) for a in (*node.args, *node.kwargs.values()))
    return False


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _is_weighted(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        module = modules.get(str(node.target))
        return module is not None and any(p.dim() >= 2 for p in module.parameters(recurse=False))
    if node.op == "call_function" and node.target in _WEIGHTED_FUNCTIONS:
        return True
    # a product with a parameter is a weight layer; one between two activations (attention scores) is not
    return (node.op in ("call_function", "call_method") and node.target in _PRODUCTS
            and any(i.op == "get_attr" for i in node.all_input_nodes))
