"""Live display of a running search: a progress bar over the budget and a line with the best so far."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from archlab.agents.context import RunContext
from archlab.store import records as store


class RunProgress:
    def __init__(self, console: Console, budget_s: float | None, max_evals: int | None) -> None:
        self.by_time = budget_s is not None
        total = budget_s if self.by_time else max_evals
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[best]}"), console=console, transient=False)
        self.task_id = self.progress.add_task("searching", total=total, best="")

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, ctx: RunContext, node: str) -> None:
        if node not in ("analyst", "critic", "planner"):
            return
        with ctx.session() as session:
            board = store.leaderboard(session=session, run_id=ctx.run_id)
            candidates = store.run_candidates(session=session, run_id=ctx.run_id)
        failed = sum(c.status in ("failed", "rejected") for c in candidates)
        best = (f"best {ctx.objective.short} {ctx.objective.value(board[0][1].metrics):.4f} ({board[0][0].id})" if board
                else "no candidate trained yet")
        done = ctx.elapsed_s() if self.by_time else len(board)
        self.progress.update(self.task_id, completed=done, best=f"{best} | trained {len(board)}, "
                             f"failed/rejected {failed}")
