"""The Python API: your own task and a discovery on it, from a notebook or a script.

    import archlab
    task = archlab.Task.from_arrays("signals", x_train, y_train, x_test=x_test, y_test=y_test)
    result = archlab.discover(task, budget="30m")
    result.best.source, result.best.metrics, result.report_path

The same run as `archlab run --task signals`: the same checks, sandbox, store, report and workspace
(ARCHLAB_WORKSPACE, default .archlab). Arrays given here are written once into the workspace
(`tasks/<name>.data/`) so that runs, resumes and reproductions read the same files; a card's files stay where
they are. Nothing here prints: logging goes where the caller sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archlab.errors import ConfigError  # noqa: F401 (archlab.api.ConfigError: what bad input raises)
from archlab.report.baselines import Scores, compare, verdict
from archlab.report.build import write_report
from archlab.report.rank import save_rank_fidelity
from archlab.report.run_view import load_run_view
from archlab.run import lifecycle
from archlab.run.settings import load_config
from archlab.run.tasks import StoredTask, add_arrays, add_task, read_card
from archlab.run.workspace import Workspace
from archlab.store import records
from archlab.store.objective import Objective


@dataclass(frozen=True)
class Task:
    """A task stored in a workspace, ready for `discover`; `info` is what `archlab task show` prints from."""

    name: str
    info: dict[str, Any]
    workspace: Path

    @classmethod
    def from_arrays(cls, name: str, x_train: Any, y_train: Any, *, x_val: Any = None, y_val: Any = None,
                    x_test: Any = None, y_test: Any = None, metric: str = "accuracy",
                    report_metrics: tuple[str, ...] = ("balanced_accuracy", "macro_f1"),
                    input_shape: tuple[int, ...] | None = None, steps: int = 1000, batch_size: int = 64,
                    recipe: dict[str, Any] | None = None, max_params: int = 2_000_000, split_seed: int = 0,
                    workspace: Path | None = None) -> Task:
        """Arrays (numpy or anything np.asarray takes): inputs shaped (N, ...), labels (N,) of any values.
        Splits left out are drawn stratified from train with `split_seed`. `recipe` holds the card's other
        training fields (epochs, optimizer, lr, schedule, weight_decay, label_smoothing, class_weights).
        ConfigError on bad input, and then nothing is written."""
        ws = _workspace(workspace)
        arrays = {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
        given = {split: pair for split, pair in arrays.items() if pair[0] is not None or pair[1] is not None}
        fields = {"batch_size": batch_size, **(recipe or {})}
        if "epochs" not in fields:
            fields["steps"] = steps
        card = {"metric": metric, "report_metrics": list(report_metrics), "input_shape": input_shape,
                "split": {"seed": split_seed}, "recipe": fields, "max_params": max_params}
        return cls._stored(ws, add_arrays(ws, name, given, card))

    @classmethod
    def from_card(cls, path: Path | str, *, replace: bool = False, workspace: Path | None = None) -> Task:
        """A YAML task card (see `archlab task add`), checked and stored."""
        ws = _workspace(workspace)
        return cls._stored(ws, add_task(ws, read_card(Path(path)), replace=replace))

    @classmethod
    def _stored(cls, ws: Workspace, stored: StoredTask) -> Task:
        return cls(name=stored.name, info=stored.record, workspace=ws.root)


@dataclass(frozen=True)
class Best:
    candidate_id: str
    source: str
    summary: str
    params: int | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Result:
    run_id: str
    status: str
    stop_reason: str | None
    best: Best | None  # None when no candidate trained
    leaderboard: list[Best]
    report_path: Path  # report.md; report.html lies beside it
    # The reference models trained like for like (metrics: the objective's val / test means and the test s.d.
    # over `seeds`, e.g. val_acc, test_acc, test_acc_sd)
    # and the report's one-line verdict on the best against them; empty / None when the run trained none.
    references: list[Best] = field(default_factory=list)
    comparison: str | None = None
    space: str = ""  # the space searched (`space="auto"`: the built-in one that fits the task's inputs)


def discover(task: Task | str, *, budget: str | float | None = "30m", max_evals: int | None = None,
             space: str = "auto", seed: int | None = None, config: dict[str, Any] | None = None,
             workspace: Path | None = None) -> Result:
    """A discovery run on the task (a Task, or any task name `archlab task list` shows), then its report."""
    ws = _workspace(workspace if workspace is not None else getattr(task, "workspace", None))
    name = task.name if isinstance(task, Task) else task
    cfg = load_config(None, {**(config or {}), "task": name, "space": space, "budget": budget,
                             "max_evals": max_evals, "seed": seed})
    run_id = lifecycle.start_run(ws, cfg)
    try:
        run = lifecycle.execute(ws, run_id, cfg)
    finally:
        save_rank_fidelity(ws, run_id)
    with Session(ws.engine) as session:
        board = [_best(c, e) for c, e in records.leaderboard(session=session, run_id=run_id)]
    view = load_run_view(ws.engine, run_id)
    _, found, refs = compare(view)
    return Result(run_id=run_id, status=run.status, stop_reason=run.stop_reason, best=board[0] if board else None,
                  leaderboard=board, report_path=write_report(ws, run_id),
                  references=[_reference(s, view.objective) for s in refs if s.seeds],
                  comparison=verdict(found, refs, view.objective),
                  space=cfg.space)


def _reference(scores: Scores, objective: Objective) -> Best:
    c = scores.candidate
    metrics = {objective.metric: scores.val_mean, objective.test: scores.test_mean,
               f"{objective.test}_sd": scores.test_sd, "seeds": len(scores.seeds)}
    return Best(candidate_id=c.id, source=c.source, summary=c.summary or "", params=c.params, metrics=metrics)


def _best(candidate, evaluation) -> Best:
    return Best(candidate_id=candidate.id, source=candidate.source, summary=candidate.summary or "",
                params=candidate.params, metrics=dict(evaluation.metrics))


def _workspace(root: Path | None) -> Workspace:
    ws = Workspace.from_env()
    return ws if root is None else Workspace(root=Path(root), env=ws.env)
