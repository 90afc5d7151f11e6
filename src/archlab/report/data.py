"""Everything the run report shows, gathered once as data (no Markdown, no HTML) and rendered twice by
Jinja templates of the same shape (templates/report.html.j2, templates/report.md.j2), so the HTML report
and its Markdown twin have the same sections in the same order."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from archlab.report.baselines import baselines
from archlab.report.blocks import Block
from archlab.report.cards import Card, make_cards
from archlab.report.figures import Figure, pareto_figures, progress_figures, rank_figure
from archlab.report.rank import rank_rows, rank_table
from archlab.report.run_view import LineageNode, RunView, lineage
from archlab.report.summary import Summary, summarise
from archlab.store import Candidate, Evaluation

TOP = 10  # leaderboard rows
LINEAGE_TOP = 5


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class TaskInfo:
    """What the run searched on: a built-in task's description, or a stored task card with its data."""

    name: str
    origin: str  # built-in | stored | unknown
    rows: list[tuple[str, str]]  # (what, value), in reading order
    metrics: tuple[str, ...] = ()  # a card's report metrics: the leaderboard shows them on the test split


SECTIONS = (Section("summary", "Morning summary"), Section("task", "Task"), Section("leaderboard", "Leaderboard"),
            Section("baselines", "Against reference models"),
            Section("pareto", "Pareto fronts"), Section("progress", "Best so far"),
            Section("rank-fidelity", "Rank fidelity"), Section("lineage", "Lineage of the best candidates"),
            Section("cards", "Notable architectures"), Section("failures", "Failed and rejected candidates"),
            Section("llm", "LLM roles"), Section("memory", "Concept memory"), Section("config", "Resolved config"))


@dataclass(frozen=True)
class Report:
    view: RunView
    summary: Summary
    task: TaskInfo
    board: list[tuple[int, Candidate, Evaluation]]
    baselines: Block  # the found architecture beside the reference models, like for like
    pareto: list[Figure]
    progress: list[Figure]
    rank: Figure | None
    rank_table: Block | None  # shown under the rank figure
    lineage: list[LineageNode]
    cards: list[Card]
    failures: list[tuple[Candidate, str]]  # candidate, the status of the stage that stopped it
    llm: list[Block] | None  # None: no LLM call or note in this run
    memory: list[Block]
    config: str  # YAML
    sections: tuple[Section, ...] = SECTIONS

    @property
    def carded(self) -> set[str]:
        """Ids of the candidates that have a card."""
        return {c.candidate.id for c in self.cards}

    @property
    def figures(self) -> list[Figure]:
        return [*self.pareto, *self.progress, *([self.rank] if self.rank else [])]


def build_report(view: RunView, *, llm: list[Block] | None, memory: list[Block], task: TaskInfo) -> Report:
    rows = rank_rows(view.run, view.evaluations)
    return Report(view=view, summary=summarise(view), task=task,
                  board=[(r, c, e) for r, (c, e) in enumerate(view.leaderboard[:TOP], start=1)],
                  baselines=baselines(view),
                  pareto=pareto_figures(view), progress=progress_figures(view),
                  rank=rank_figure(rows) if rows else None,
                  rank_table=rank_table(rows) if rows else None,
                  lineage=lineage(view, LINEAGE_TOP), cards=make_cards(view), failures=failures(view),
                  llm=llm, memory=memory,
                  config=yaml.safe_dump(view.run.config, sort_keys=False).rstrip())


def failures(view: RunView) -> list[tuple[Candidate, str]]:
    status = {(e.candidate_id, e.stage): e.status for e in view.evaluations}
    return [(c, status.get((c.id, "train")) or status.get((c.id, "build")) or "not run")
            for c in view.candidates if c.status in ("failed", "rejected")]

