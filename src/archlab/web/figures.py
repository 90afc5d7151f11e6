"""Pictures on the pages: the run report's plots and a candidate's graph, drawn by archlab.report.plots. Its
functions escape every label, so their SVG is inlined as it is (Markup)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from archlab.report.figures import pareto_figures, progress_figures
from archlab.report.plots import graph_svg
from archlab.report.run_view import RunView
from archlab.store import Evaluation


def run_plots(view: RunView) -> list[Markup]:
    """Accuracy against parameters (the Pareto front marked) and the best result by evaluation."""
    chosen = [*pareto_figures(view)[:1], *progress_figures(view)[:1]]
    return [Markup(figure.svg) for figure in chosen]


def diagram(evaluations: Sequence[Evaluation]) -> Markup | None:
    """The candidate's traced graph, as its build stage recorded it."""
    graph = next((e.artifacts.get("graph") for e in evaluations if e.stage == "build" and e.artifacts.get("graph")),
                 None)
    return Markup(graph_svg(graph["nodes"])) if graph and graph.get("nodes") else None
