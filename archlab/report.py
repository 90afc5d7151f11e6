"""The Markdown report of a run: what it cost, what won, what failed, and the winner's source."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlmodel import Session

from archlab.errors import ConfigError
from archlab.knowledge import Candidate, Evaluation, Run, store
from archlab.llm_report import llm_section
from archlab.memory_report import memory_section
from archlab.rank_report import rank_section, save_rank_fidelity
from archlab.workspace import Workspace

TOP = 10


def write_report(ws: Workspace, run_id: str) -> Path:
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
        if run is None:
            raise ConfigError(f"no run {run_id!r} in {ws.root}; `archlab runs` lists them")
        board = store.leaderboard(session=session, run_id=run_id)
        candidates = store.run_candidates(session=session, run_id=run_id)
        evaluations = store.run_evaluations(session=session, run_id=run_id)
        memory = memory_section(session=session, run_id=run_id)
        llm = llm_section(session=session, run_id=run_id, candidates=list(candidates), evaluations=list(evaluations))
    path = ws.run_dir(run_id) / "report" / "report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run, board, candidates, evaluations, memory, llm))
    save_rank_fidelity(ws, run_id)
    return path


def render(run: Run, board: list[tuple[Candidate, Evaluation]], candidates: list[Candidate],
           evaluations: list[Evaluation], memory: str | None = None, llm: str | None = None) -> str:
    rank = rank_section(run, evaluations)
    sections = [_summary(run, board, candidates, evaluations), _leaderboard(board),
                _failures(candidates, evaluations), _best_source(board), *([rank] if rank else []),
                *([llm] if llm else []), *([memory] if memory else []), _config(run)]
    return "\n\n".join(sections) + "\n"


def _summary(run: Run, board, candidates, evaluations) -> str:
    trained = [e for e in evaluations if e.stage == "train"]
    budget = f"{run.budget_s:.0f}s" if run.budget_s else "none"
    lines = [f"# archlab run {run.id}", "",
             f"- task: `{run.task}`, space: `{run.space}`",
             f"- status: {run.status}" + (f" ({_cell(run.stop_reason)})" if run.stop_reason else ""),
             f"- time used: {run.used_s:.0f}s of budget {budget}"
             + (f"; max evaluations {run.max_evals}" if run.max_evals else ""),
             f"- candidates proposed: {len(candidates)}; trained: {len(trained)} "
             f"({sum(e.status == 'ok' for e in trained)} ok); "
             f"training time {sum(e.wall_s for e in trained):.0f}s"]
    if board:
        best, ev = board[0]
        lines.append(f"- best: `{best.id}` — validation {ev.metrics['val_acc']:.4f}, "
                     f"test {ev.metrics['test_acc']:.4f}, {best.params:,} parameters")
    return "\n".join(lines)


def _leaderboard(board) -> str:
    if not board:
        return "## Leaderboard\n\nNo candidate was trained successfully."
    rows = ["## Leaderboard", "", "| # | candidate | origin | params | FLOPs | val acc | test acc | train s "
            "| architecture |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for rank, (cand, ev) in enumerate(board[:TOP], start=1):
        rows.append(f"| {rank} | `{cand.id}` | {cand.origin} | {cand.params:,} | {cand.flops:,} | "
                    f"{ev.metrics['val_acc']:.4f} | {ev.metrics['test_acc']:.4f} | {ev.wall_s:.1f} | "
                    f"{_cell(cand.summary)} |")
    rows += ["", "Selected on validation accuracy; test accuracy is reported, never used to choose."]
    return "\n".join(rows)


def _failures(candidates, evaluations) -> str:
    failed = [c for c in candidates if c.status in ("failed", "rejected")]
    if not failed:
        return "## Failed and rejected candidates\n\nNone."
    status = {(e.candidate_id, e.stage): e.status for e in evaluations}
    rows = ["## Failed and rejected candidates", "", "| candidate | status | stage status | reason |",
            "|---|---|---|---|"]
    for cand in failed:
        stage = status.get((cand.id, "train")) or status.get((cand.id, "build")) or "not run"
        rows.append(f"| `{cand.id}` | {cand.status} | {stage} | {_cell(cand.reason or '')} |")
    return "\n".join(rows)


def _best_source(board) -> str:
    if not board:
        return "## Best candidate\n\nNone."
    best = board[0][0]
    return f"## Best candidate: `{best.id}`\n\n{_cell(best.summary)}\n\n```python\n{best.source.rstrip()}\n```"


def _config(run: Run) -> str:
    return f"## Resolved config\n\n```yaml\n{yaml.safe_dump(run.config, sort_keys=False).rstrip()}\n```"


def _cell(text: str) -> str:
    """Table-safe text: no pipes or newlines from a reason or a summary can break the table."""
    return text.replace("|", "\\|").replace("\n", " ")[:300]
