"""`archlab reproduce CANDIDATE`: run a stored candidate's build and train stages again in the sandbox, at
the fidelities and seeds it was evaluated at, and compare with the stored results.

Nothing is stored: an evaluation is keyed by (fingerprint, task, stage, fidelity, seed) and never run
twice, so the stages go through build_result / train_result, which record nothing.

Tolerance. The build's figures are structural (parameter and FLOP counts, graph and probe hashes): they
must match exactly. Training is seeded (initial weights, batch order) and runs on the device it ran on
(the stored `device`) with the sandbox's thread count, so on the same machine and backend the scores
match exactly. Another machine or library build may sum floats in another order, which can flip a few
borderline predictions: scores (accuracy, bits per byte) may differ by SCORE_TOL = 0.01 absolute (about
3 of digits' 287 validation images), the final training loss by LOSS_REL_TOL = 5 %. A real change of
behaviour moves them by more.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, select

from archlab.agents.evaluation.stages import build_result, train_result
from archlab.errors import ConfigError
from archlab.run.lifecycle import make_context
from archlab.run.settings import ExperimentConfig, deep_merge, load_config, upgrade_stored
from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation
from archlab.store import records as store

EXACT = ("params", "flops", "graph_hash", "probe_hash")
SCORES = ("val_acc", "test_acc", "val_bpb", "test_bpb")
SCORE_TOL = 0.01
LOSS_REL_TOL = 0.05


@dataclass(frozen=True)
class Check:
    stage: str
    fidelity: int
    seed: int
    metric: str
    stored: Any
    reproduced: Any
    agree: bool


def reproduce(ws: Workspace, candidate_id: str, backend: str | None = None) -> dict[str, Any]:
    """Re-run and compare; ConfigError for an unknown candidate or one with nothing stored to compare."""
    cand, rows = stored_rows(ws, candidate_id)
    cfg = config_for(ws, cand, rows, backend)
    ctx = make_context(ws, None, cfg)
    checks: list[Check] = []
    images: set[str] = set()
    try:
        for ev in rows:
            result = (build_result(ctx, cand) if ev.stage == "build"
                      else train_result(ctx, cand, steps=ev.fidelity, seed=ev.seed))
            images |= {result.image} if result.image else set()
            checks += compare(ev, str(result.status), result.metrics)
    finally:
        ctx.sandbox.close()
    return {"candidate_id": cand.id, "task": cfg.task, "sandbox": cfg.sandbox.backend,
            "sandbox_images": {"stored": sorted({e.sandbox_image for e in rows if e.sandbox_image}),
                               "now": sorted(images)},
            "checks": [asdict(c) for c in checks], "agree": all(c.agree for c in checks),
            "tolerance": {"exact": list(EXACT), "scores_abs": SCORE_TOL, "train_loss_rel": LOSS_REL_TOL}}


def stored_rows(ws: Workspace, candidate_id: str) -> tuple[Candidate, list[Evaluation]]:
    """The candidate and its stored build and train rows (train rows it reused, when it trained none)."""
    with Session(ws.engine) as session:
        cand = store.get_candidate(session=session, candidate_id=candidate_id)
        if cand is None:
            raise ConfigError(f"no candidate {candidate_id!r} in {ws.root}; a report's cards name them")
        rows = [e for e in store.candidate_evaluations(session=session, candidate_id=candidate_id)
                if e.stage in ("build", "train")]
        if cand.fingerprint and not any(e.stage == "train" for e in rows):
            rows += [e for e in _by_fingerprint(session, cand.fingerprint) if e.stage == "train"]
    if not rows:
        raise ConfigError(f"candidate {candidate_id} has no stored build or train evaluation to reproduce")
    return cand, rows


def config_for(ws: Workspace, cand: Candidate, rows: list[Evaluation], backend: str | None) -> ExperimentConfig:
    """The run's resolved config, on the recorded task, build seed and device; the sandbox as asked."""
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=cand.run_id) if cand.run_id else None
    base = upgrade_stored(dict(run.config)) if run is not None and run.config else {"max_evals": 1}
    device = next((e.metrics["device"] for e in rows if e.metrics.get("device")), None)
    build_seed = next((e.seed for e in rows if e.stage == "build"), None)
    evaluation = {k: v for k, v in (("seed", build_seed), ("device", device)) if v is not None}
    # The run's task by name (a stored task's evaluations carry its data version: name@version).
    overrides: dict[str, Any] = {"task": run.task if run is not None else rows[0].task.split("@")[0],
                                 "evaluation": evaluation}
    if backend:
        overrides["sandbox"] = {"backend": backend}
    return load_config(None, deep_merge(base, overrides))


def compare(ev: Evaluation, status: str, metrics: dict[str, Any]) -> list[Check]:
    checks = [Check(ev.stage, ev.fidelity, ev.seed, "status", ev.status, status, ev.status == status)]
    if ev.status != "ok" or status != "ok":
        return checks
    names = EXACT if ev.stage == "build" else (*SCORES, "train_loss")
    for name in (n for n in names if n in ev.metrics):
        checks.append(Check(ev.stage, ev.fidelity, ev.seed, name, ev.metrics[name], metrics.get(name),
                            agrees(name, ev.metrics[name], metrics.get(name))))
    return checks


def agrees(name: str, stored: Any, now: Any) -> bool:
    if name in EXACT or not isinstance(stored, int | float) or not isinstance(now, int | float):
        return stored == now
    if name == "train_loss":
        return math.isclose(stored, now, rel_tol=LOSS_REL_TOL, abs_tol=1e-9)
    return abs(stored - now) <= SCORE_TOL


def describe(result: dict[str, Any]) -> list[str]:
    """Plain lines for the terminal: one per check, then the verdict."""
    lines = [f"candidate {result['candidate_id']} on {result['task']}, sandbox {result['sandbox']}"]
    for c in result["checks"]:
        mark = "ok" if c["agree"] else "DIFFERS"
        lines.append(f"  {c['stage']:<5} {c['fidelity']:>5} steps  seed {c['seed']:<3} {c['metric']:<10} "
                     f"stored {_show(c['stored']):>16}  now {_show(c['reproduced']):>16}  {mark}")
    images = result["sandbox_images"]
    if images["stored"] or images["now"]:
        lines.append(f"  sandbox image: stored {', '.join(images['stored']) or '-'}; "
                     f"now {', '.join(images['now']) or '-'}")
    bad = sum(not c["agree"] for c in result["checks"])
    lines.append(f"reproduced: all {len(result['checks'])} checks agree" if not bad
                 else f"NOT reproduced: {bad} of {len(result['checks'])} checks differ")
    return lines


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _by_fingerprint(session: Session, fingerprint: str) -> list[Evaluation]:
    return list(session.exec(select(Evaluation).where(Evaluation.fingerprint == fingerprint)).all())
