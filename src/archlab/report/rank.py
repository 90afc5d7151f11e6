"""Rank fidelity of a run: how well each stage of the cascade ranked candidates as the next stage did.

Computed from the run's stored evaluations (evaluator.rank), written beside the run as
`rank_fidelity.json` when the run ends or is reported, and rendered as a section of the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archlab.evaluator.rank import rank_fidelity, stage_scores
from archlab.report.blocks import Block, Table
from archlab.run.workspace import Workspace
from archlab.store import Evaluation, Run
from archlab.store import records as store
from archlab.store.objective import of_run


def rank_rows(run: Run, evaluations: Sequence[Evaluation]) -> list[dict[str, Any]]:
    objective = of_run(run)  # the run's own record: a stored task's card need not be loadable here
    if not any(objective.value(e.metrics) is not None for e in evaluations):
        return []
    return rank_fidelity(stage_scores(evaluations, objective.key))


def save_rank_fidelity(ws: Workspace, run_id: str) -> Path | None:
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
        evaluations = store.run_evaluations(session=session, run_id=run_id)
    if run is None:
        return None
    path = ws.run_dir(run_id) / "rank_fidelity.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": run_id, "task": run.task, "pairs": rank_rows(run, evaluations)}, indent=2))
    return path


def rank_table(rows: list[dict[str, Any]]) -> Block:
    """The rank-fidelity pairs as a table, under the rank figure."""
    table = Table.of("stage, next stage, candidates:, Kendall:, Spearman:",
                     [(r["from"], r["to"], r["candidates"], _num(r["kendall"]), _num(r["spearman"])) for r in rows])
    return Block("", table, intro="How each stage ranked the candidates it shares with the next stage "
                                  "(Kendall tau, Spearman rho).")


def _num(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.3f}"
