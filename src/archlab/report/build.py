"""The run report, written to .archlab/runs/<run>/report/:

    report.html     one self-contained page: inline CSS and SVG plots, no script, no external resource
    report.md       its Markdown twin, the same sections, linking plots/*.svg
    plots/          every plot and model diagram as an SVG file
    repro/<cand>/   a reproduction bundle per notable candidate (repro_bundle)

Sections: data.SECTIONS. The report never imports or runs a candidate: its diagram comes from the
graph the sandboxed build stage stored.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from archlab.evaluator.tasks import TASKS
from archlab.report.data import Report, TaskInfo, build_report
from archlab.report.html import render_html
from archlab.report.llm import llm_section
from archlab.report.markdown import render_markdown
from archlab.report.memory import memory_section
from archlab.report.rank import save_rank_fidelity
from archlab.report.repro_bundle import write_bundle
from archlab.report.run_view import read_run_view
from archlab.run.tasks import stored_task
from archlab.run.workspace import Workspace

GENERATED = ("plots", "repro")  # folders each report rewrites from scratch (no stale cards or plots)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path


def write_report(ws: Workspace, run_id: str) -> Path:
    """Write the report; the Markdown twin's path (report.html lies beside it)."""
    return write_report_files(ws, run_id).markdown


def write_report_files(ws: Workspace, run_id: str) -> ReportFiles:
    """Write report.html, report.md, their plots and reproduction bundles; ConfigError for an unknown run."""
    report = load_report(ws, run_id)
    folder = ws.run_dir(run_id) / "report"
    for name in GENERATED:
        shutil.rmtree(folder / name, ignore_errors=True)
    _write_plots(folder / "plots", report)
    for card in report.cards:
        write_bundle(folder / "repro" / card.slug, report.view, card.candidate, workspace=ws.root.resolve(),
                     shared_store=ws.database_url is not None)
    files = ReportFiles(html=folder / "report.html", markdown=folder / "report.md")
    files.markdown.write_text(render_markdown(report))
    files.html.write_text(render_html(report))
    save_rank_fidelity(ws, run_id)
    return files


def load_report(ws: Workspace, run_id: str) -> Report:
    with Session(ws.engine) as session:
        view = read_run_view(session, run_id)
        memory = memory_section(session=session, run_id=run_id)
        llm = llm_section(session=session, run_id=run_id, candidates=view.candidates, evaluations=view.evaluations)
    return build_report(view, llm=llm, memory=memory, task=task_info(ws, view.run.task))


def task_info(ws: Workspace, name: str) -> TaskInfo:
    """The task card behind a run (the stored record, read as data: no file of the user's is opened)."""
    stored = stored_task(ws, name)
    if stored is not None:
        r, card = stored.record, stored.card
        sizes, drawn = r["sizes"], [s for s in ("val", "test") if s not in r["given_splits"]]
        rows = [("inputs", f"{tuple(r['input_shape'])}, standardised per channel with training statistics"),
                ("classes", ", ".join(f"{i} = {c}" for i, c in enumerate(r["classes"]))),
                ("splits", f"{sizes['train']} / {sizes['val']} / {sizes['test']} train / val / test"
                 + (f"; {' and '.join(drawn)} drawn from train, stratified, seed {card.split.seed}" if drawn else "")),
                ("per class", "; ".join(f"{s} {c}" for s, c in r["class_counts"].items())),
                ("selected on", f"validation {card.metric}; reported: {', '.join(card.report_metrics) or 'none'}"),
                ("recipe", f"{card.recipe.describe(sizes['train'])}; at most {card.max_params:,} parameters"),
                *((f"data {Path(f).name}", f"{f} (sha256 {d})") for f, d in r["hashes"].items())]
        return TaskInfo(name=name, origin="stored", rows=rows, metrics=tuple(card.report_metrics))
    if name in TASKS:
        spec = TASKS[name].spec
        return TaskInfo(name=name, origin="built-in", rows=[("description", TASKS[name].description),
                                                            ("inputs", str(spec.input_shape)),
                                                            ("outputs", str(spec.num_outputs))])
    return TaskInfo(name=name, origin="unknown", rows=[("description", "not a task this workspace knows")])


def _write_plots(folder: Path, report: Report) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for figure in report.figures:
        (folder / f"{figure.name}.svg").write_text(figure.svg)
    for card in report.cards:
        if card.diagram:
            (folder / f"graph-{card.slug}.svg").write_text(card.diagram)
