"""The report's pieces that the web app shares: SVG plots drawn by matplotlib (escaped, deterministic, no
mathtext, the Pareto front marked, a tooltip per point), the layered model diagram, and the graph the
sandboxed build stage now emits for it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from archlab.evaluator.graph import MAX_NODES, model_graph
from archlab.evaluator.stages import run_stage
from archlab.evaluator.task import TaskSpec
from archlab.report.plots import bars_svg, graph_svg, line_svg, pareto_front, scatter_svg

EVIL = "<script>alert(1)</script>"
NS = "{http://www.w3.org/2000/svg}"
TASK = TaskSpec(name="tiny", input_shape=(1, 12), num_outputs=3, batch_size=8)

CONV = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv = nn.Conv1d(1, 8, 3, padding=1)
        self.head = nn.Linear(8 * 12, classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(h.flatten(1)) + 0.0


def build_model(task):
    return Net(task.num_outputs)
"""

# Control flow on a tensor's value: torch.fx cannot trace it, so the graph falls back to the module tree.
BRANCHY = CONV.replace("h = torch.relu(self.conv(x))", "h = torch.relu(self.conv(x)) if x.sum() > 0 else self.conv(x)")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def titles(svg: str) -> list[str]:
    return [t.text for t in parse(svg).iter(f"{NS}title")]


def test_scatter_marks_the_pareto_front_and_escapes_labels():
    points = [(1000, 0.5, "a"), (2000, 0.7, "b"), (3000, 0.6, "c"), (8000, 0.9, EVIL), (9000, 0.85, "e")]
    assert [p[2] for p in pareto_front(points)] == ["a", "b", EVIL]
    svg = scatter_svg(points, x_label="parameters", y_label="val acc", title="acc vs params", log_x=True, front=True)
    assert EVIL not in svg and "&lt;script&gt;" in svg
    tips = titles(svg)
    assert tips[0] == "acc vs params" and parse(svg).get("aria-label") == "acc vs params"
    assert EVIL + ": parameters 8k, val acc 0.9 (on the Pareto front)" in tips  # the tooltip, as text
    assert sum(t.endswith("(on the Pareto front)") for t in tips) == 3 and len(tips) == 1 + len(points)
    assert "Pareto front: no other is better and cheaper" in svg and "<metadata" not in svg
    assert svg == scatter_svg(points, x_label="parameters", y_label="val acc", title="acc vs params", log_x=True,
                              front=True)  # deterministic


def test_labels_are_text_never_mathtext_and_plots_share_no_group_ids():
    dollars = "$\\frac{1}{0}$ costs $5"  # mathtext that does not parse, in an LLM's summary
    svg = scatter_svg([(10, 0.5, dollars), (20, 0.6, "b")], x_label="cost $", y_label="acc $x$", title=dollars)
    assert titles(svg)[0] == dollars and dollars in svg  # drawn as written, not typeset or refused
    again = line_svg([("a", [(1, 0.5)])], x_label="x", y_label="y", title="t")
    ids = {e.get("id") for e in parse(svg).iter() if e.get("id")} & {e.get("id") for e in parse(again).iter()}
    assert all(not i.startswith(("figure", "axes", "line2d", "text", "patch")) for i in ids)


def test_plots_skip_what_cannot_be_drawn():
    svg = scatter_svg([(0, 0.5, "zero"), (None, 0.4, "none"), (float("nan"), 0.3, "nan")], x_label="x",
                      y_label="y", title="t", log_x=True)
    assert "nothing to plot" in svg
    parse(svg)


def test_line_and_bars():
    svg = line_svg([("30 steps", [(1, 0.5), (3, 0.6)]), (EVIL, [(2, 0.7)])], x_label="evaluation", y_label="best",
                   title="best so far")
    assert EVIL not in svg and titles(svg)[1:] == [
        "30 steps: evaluation 1, best 0.5", "30 steps: evaluation 3, best 0.6", f"{EVIL}: evaluation 2, best 0.7"]
    bars = bars_svg([("proxy → train@12 (9)", [0.4, None])], series=["Kendall", "Spearman"], x_label="tau",
                    title="rank fidelity")
    assert "n/a" in bars and "proxy → train@12 (9), Kendall: +0.400" in titles(bars)


def test_graph_svg_lays_nodes_out_by_longest_path():
    nodes = [{"id": 0, "op": "placeholder", "label": "input", "inputs": []},
             {"id": 1, "op": "call_module", "label": "Conv1d(1, 8, k=3)", "inputs": [0]},
             {"id": 2, "op": "get_attr", "label": "param scale", "inputs": []},
             {"id": 3, "op": "call_function", "label": "mul", "inputs": [1, 2]},
             {"id": 4, "op": "call_function", "label": "add", "inputs": [0, 3]},  # a skip connection
             {"id": 5, "op": "output", "label": EVIL, "inputs": [4, 99]}]  # 99: cut off, ignored
    svg = graph_svg(nodes)
    rows = {}
    for group in parse(svg).iter(f"{NS}g"):
        label = group.find(f"{NS}title").text.split(" (")[0]
        rows[label] = float(group.find(f"{NS}rect").get("y"))
    assert rows["input"] < rows["Conv1d(1, 8, k=3)"] < rows["mul"] < rows["add"] < rows[EVIL]
    assert rows["param scale"] == rows["Conv1d(1, 8, k=3)"]  # just above its user, not beside the input
    assert EVIL not in svg


def test_build_stage_emits_a_graph_of_the_traced_model(tmp_path):
    (tmp_path / "candidate.py").write_text(CONV)
    done = run_stage("build", tmp_path / "candidate.py", TASK.model_dump(), {"seed": 0, "device": "cpu"}, tmp_path)
    graph = done["outputs"]["graph"]
    assert graph["method"] == "fx" == done["metrics"]["graph_method"] and not graph["truncated"]
    labels = [n["label"] for n in graph["nodes"]]
    assert labels[0] == "input" and labels[-1] == "output"
    assert "Conv1d(1, 8, k=3, s=1, p=1)" in labels and "relu" in labels and "add" in labels
    assert all(i < n["id"] for n in graph["nodes"] for i in n["inputs"])
    assert all(isinstance(v, int | float | str) for v in done["metrics"].values())  # metrics stay scalar
    parse(graph_svg(graph["nodes"]))


def test_build_stage_falls_back_to_the_module_tree(tmp_path):
    (tmp_path / "candidate.py").write_text(BRANCHY)
    graph = run_stage("build", tmp_path / "candidate.py", TASK.model_dump(), {"seed": 0, "device": "cpu"},
                      tmp_path)["outputs"]["graph"]
    assert graph["method"] == "modules"
    assert [(n["label"], n["inputs"]) for n in graph["nodes"]] == [
        ("Net()", []), ("Conv1d(1, 8, k=3, s=1, p=1)", [0]), ("Linear(96, 3)", [0])]


@pytest.mark.parametrize("cap", [3, MAX_NODES])
def test_graph_is_capped_and_says_so(cap):
    from torch import nn

    model = nn.Sequential(*[nn.ReLU() for _ in range(10)])
    graph = model_graph(model, None, cap=cap)
    assert len(graph["nodes"]) == min(cap, 11) and graph["total"] == 11 and graph["truncated"] == (cap < 11)
