"""The report's plots, from a RunView: validation accuracy against cost (Pareto fronts), the best result
over time, and the rank fidelity of the cascade's stages. Each is an SVG string with a file name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archlab.report.plots import bars_svg, line_svg, scatter_svg
from archlab.report.run_view import RunView
from archlab.store import Candidate, Evaluation
from archlab.store.objective import ACCURACY, Objective

LABEL = 120  # characters of a candidate's summary in a tooltip


@dataclass(frozen=True)
class Figure:
    name: str  # file stem under report/plots/
    title: str
    svg: str
    caption: str


def pareto_figures(view: RunView) -> list[Figure]:
    """Accuracy against parameters and FLOPs, and against latency when the screen stage timed it."""
    objective = view.objective
    board = [(c, objective.value(e.metrics)) for c, e in view.leaderboard]
    figures = [_front("pareto-params", "parameters", [(c.params, s, label(c)) for c, s in board], objective),
               _front("pareto-flops", "FLOPs", [(c.flops, s, label(c)) for c, s in board], objective)]
    timed = [(latency(view, c), s, label(c)) for c, s in board]
    timed = [p for p in timed if p[0] is not None]
    if timed:
        figures.append(_front("pareto-latency", "latency at batch 1 (ms)", timed, objective))
    return figures


def progress_figures(view: RunView) -> list[Figure]:
    """Best validation accuracy so far, per training fidelity, by evaluation and by clock time."""
    objective = view.objective
    score = objective.label
    trained = [e for e in view.evaluations
               if e.stage == "train" and e.status == "ok" and objective.value(e.metrics) is not None]
    start = _naive(view.run.created_at)
    by_index = best_so_far([(i, e) for i, e in enumerate(trained, start=1)], objective)
    by_time = best_so_far([((_naive(e.created_at) - start).total_seconds(), e) for e in trained], objective)
    caption = "Each line keeps one training fidelity (steps), since scores at different fidelities do not compare."
    return [Figure("progress-evaluations", "Best so far, by evaluation",
                   line_svg(by_index, x_label="train evaluation (in order)", y_label=f"best {score}",
                            title="Best so far, by evaluation"), caption),
            Figure("progress-time", "Best so far, by clock time",
                   line_svg(by_time, x_label="seconds since the run started (pauses included)",
                            y_label=f"best {score}", title="Best so far, by clock time"), caption)]


def rank_figure(rows: list[dict[str, Any]]) -> Figure:
    bars = [(f"{r['from']} → {r['to']} ({r['candidates']})", [r["kendall"], r["spearman"]]) for r in rows]
    title = "Rank fidelity of the evaluation stages"
    return Figure("rank-fidelity", title, bars_svg(bars, series=["Kendall tau", "Spearman rho"],
                                                   x_label="rank correlation with the next stage", title=title),
                  "How each stage ranked the candidates it shares with the next stage (number of candidates in "
                  "brackets); 1 is a perfect ranking.")


def best_so_far(points: list[tuple[float, Evaluation]], objective: Objective = ACCURACY
                ) -> list[tuple[str, list[tuple[float, float]]]]:
    series: dict[int, list[tuple[float, float]]] = {}
    for x, ev in points:
        line = series.setdefault(ev.fidelity, [])
        value = objective.value(ev.metrics)
        line.append((x, objective.best((value, line[-1][1])) if line else value))
    return [(f"{steps} steps", line) for steps, line in sorted(series.items())]


def latency(view: RunView, cand: Candidate) -> float | None:
    return next((e.metrics["latency_ms_b1"] for e in view.evaluations_of(cand) if "latency_ms_b1" in e.metrics), None)


def label(cand: Candidate) -> str:
    summary = " ".join(cand.summary.split())
    return f"{cand.id}: {summary[:LABEL]}" if summary else cand.id


def _front(name: str, cost: str, points: list[tuple[Any, float, str]], objective: Objective) -> Figure:
    title = f"{objective.label[0].upper()}{objective.label[1:]} vs {cost}"
    return Figure(name, title, scatter_svg(points, x_label=cost, y_label=f"{objective.label} ({objective.direction})",
                                           title=title, log_x=True, front=True, minimize=objective.minimize),
                  "Orange: the Pareto front, candidates that no other beats with fewer resources. Hover a point "
                  "for the candidate.")


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)  # SQLite hands back naive datetimes, PostgreSQL aware ones: both UTC
