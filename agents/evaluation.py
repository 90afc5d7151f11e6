"""Running a candidate's stages through the sandbox and recording them: used by the critic (build),
the evaluate node (train) and `archlab eval`. An evaluation already stored is never run again."""

from __future__ import annotations

import hashlib
import logging

from archlab.agents.context import RunContext
from archlab.errors import SandboxError
from archlab.knowledge import Candidate, Evaluation, store
from archlab.sandbox.base import Job, JobResult, JobStatus

log = logging.getLogger(__name__)


def source_key(source: str) -> str:
    return "src-" + hashlib.sha256(source.encode()).hexdigest()[:16]


def run_build(ctx: RunContext, candidate: Candidate) -> Evaluation:
    """Build and fingerprint in the sandbox; fills the candidate's fingerprint and cost on success."""
    job = Job(stage="build", source=candidate.source, task=ctx.task.spec.model_dump(),
              params={"seed": ctx.evaluation.seed, "device": ctx.evaluation.device}, limits=ctx.limits)
    result = _checked(ctx.sandbox.run(job))
    if result.status == JobStatus.OK:
        m = result.metrics
        candidate.graph_hash, candidate.probe_hash = m["graph_hash"], m["probe_hash"]
        candidate.params, candidate.flops = int(m["params"]), int(m["flops"])
        candidate.fingerprint = f"{m['graph_hash']}-{m['probe_hash']}"
    fingerprint = candidate.fingerprint or source_key(candidate.source)
    return _record(ctx, candidate, result, stage="build", fidelity=0, fingerprint=fingerprint)


def run_train(ctx: RunContext, candidate: Candidate) -> Evaluation:
    """Train at the run's fidelity, or return the stored evaluation with the same key."""
    assert candidate.fingerprint, "only a built candidate is trained"
    key = {"fingerprint": candidate.fingerprint, "task": ctx.task.name, "stage": "train",
           "fidelity": ctx.steps, "seed": ctx.evaluation.seed}
    with ctx.session() as session:
        stored = store.get_evaluation(session=session, **key)
    if stored is not None:
        log.info("candidate %s: reusing stored evaluation %s", candidate.id, stored.id)
        return stored
    job = Job(stage="train", source=candidate.source, task=ctx.task.spec.model_dump(),
              params={"steps": ctx.steps, "batch_size": ctx.batch_size, "lr": ctx.evaluation.lr,
                      "seed": ctx.evaluation.seed, "device": ctx.evaluation.device, "data": "data.npz"},
              files={"data.npz": ctx.task.job_inputs(ctx.cache_dir)}, limits=ctx.limits)
    result = _score(ctx, _checked(ctx.sandbox.run(job)))
    return _record(ctx, candidate, result, stage="train", fidelity=ctx.steps,
                   fingerprint=candidate.fingerprint)


def _checked(result: JobResult) -> JobResult:
    """An infra_error is the sandbox's fault, not the candidate's: it stops the run, loudly."""
    if result.status == JobStatus.INFRA_ERROR:
        raise SandboxError(f"the sandbox worker could not run: {result.error}")
    return result


def _score(ctx: RunContext, result: JobResult) -> JobResult:
    """Accuracy is computed here, on the host: test labels never enter the candidate's process."""
    if result.status != JobStatus.OK:
        return result
    try:
        scores = ctx.task.score(ctx.data, result.outputs)
    except ValueError as exc:
        return result.model_copy(update={"status": JobStatus.CANDIDATE_ERROR,
                                         "error": f"bad predictions: {exc}"})
    return result.model_copy(update={"metrics": {**result.metrics, **scores}})


def _record(ctx: RunContext, candidate: Candidate, result: JobResult, *, stage: str, fidelity: int,
            fingerprint: str) -> Evaluation:
    evaluation = Evaluation(
        candidate_id=candidate.id, run_id=candidate.run_id, fingerprint=fingerprint, task=ctx.task.name,
        stage=stage, fidelity=fidelity, seed=ctx.evaluation.seed, status=str(result.status),
        metrics=result.metrics, artifacts=result.artifacts, error=result.error, wall_s=result.wall_s,
        peak_memory_mb=result.peak_memory_mb)
    with ctx.session() as session:
        return store.add_evaluation(session=session, evaluation=evaluation)
