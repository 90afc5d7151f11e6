"""`archlab eval FILE`: one person's candidate through the same checks, sandbox and stages as a run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archlab.agents.evaluation.stages import run_build, run_train
from archlab.errors import ConfigError
from archlab.evaluator.candidate import static_check
from archlab.run.lifecycle import make_context
from archlab.run.settings import ExperimentConfig
from archlab.run.workspace import Workspace
from archlab.store import Candidate
from archlab.store import records as store


def evaluate_file(ws: Workspace, cfg: ExperimentConfig, path: Path) -> dict[str, Any]:
    try:
        source = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    problems = static_check(source)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    ctx = make_context(ws, None, cfg)
    candidate = Candidate(id="u" + hashlib.sha256(source.encode()).hexdigest()[:10], origin="user",
                          source=source, summary=path.name, rationale=f"evaluated from {path.name}")
    try:
        build = run_build(ctx, candidate)
        train = run_train(ctx, candidate) if build.status == "ok" else None
    finally:
        ctx.sandbox.close()
    final = train or build
    candidate.status = "evaluated" if final.status == "ok" and train else "failed"
    candidate.reason = final.error
    with Session(ws.engine) as session:
        store.upsert_candidate(session=session, candidate=candidate)
    return _result(candidate, final, cfg)


def _result(candidate: Candidate, final, cfg: ExperimentConfig) -> dict[str, Any]:
    m = final.metrics
    return {"candidate_id": candidate.id, "task": cfg.task, "status": final.status, "stage": final.stage,
            "params": candidate.params, "flops": candidate.flops, "steps": final.fidelity or None,
            "val_acc": m.get("val_acc"), "test_acc": m.get("test_acc"),
            **{k: m[k] for k in ("val_bpb", "test_bpb") if k in m},  # language-model tasks
            "wall_s": round(final.wall_s, 2), "error": final.error}
