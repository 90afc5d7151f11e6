"""Running a candidate's stages through the sandbox and recording them: used by the critic (build),
the evaluate node (train) and `archlab eval`. An evaluation already stored is never run again;
`archlab reproduce` re-runs stages through build_result / train_result, which record nothing."""

from __future__ import annotations

import hashlib
import logging

from archlab.agents.context import RunContext
from archlab.errors import ConfigError, SandboxError
from archlab.sandbox.base import Job, JobResult, JobStatus
from archlab.sandbox.integrity import suspected_leakage
from archlab.spaces import Node
from archlab.spaces.nb201 import to_arch_string
from archlab.store import Candidate, Evaluation
from archlab.store import records as store

log = logging.getLogger(__name__)


def source_key(source: str) -> str:
    return "src-" + hashlib.sha256(source.encode()).hexdigest()[:16]


def run_build(ctx: RunContext, candidate: Candidate) -> Evaluation:
    """Build and fingerprint in the sandbox; fills the candidate's fingerprint and cost on success."""
    result = build_result(ctx, candidate)
    if result.status == JobStatus.OK:
        m = result.metrics
        candidate.graph_hash, candidate.probe_hash = m["graph_hash"], m["probe_hash"]
        candidate.params, candidate.flops = int(m["params"]), int(m["flops"])
        candidate.fingerprint = f"{m['graph_hash']}-{m['probe_hash']}"
    fingerprint = candidate.fingerprint or source_key(candidate.source)
    graph = result.outputs.get("graph")  # the model's drawing (evaluator.graph), kept for the report
    return _record(ctx, candidate, result, stage="build", fidelity=0, fingerprint=fingerprint,
                   artifacts={"graph": graph} if graph else None)


def build_result(ctx: RunContext, candidate: Candidate) -> JobResult:
    """The build stage's sandbox result, not recorded (run_build records it; `archlab reproduce` compares)."""
    job = Job(stage="build", source=candidate.source, task=ctx.task.spec.model_dump(),
              params={"seed": ctx.evaluation.seed, "device": ctx.evaluation.device}, limits=ctx.limits)
    return _checked(ctx.sandbox.run(job))


def run_train(ctx: RunContext, candidate: Candidate, *, steps: int | None = None,
              seed: int | None = None) -> Evaluation:
    """Train at `steps` (the run's fidelity by default), or return the stored evaluation with the same key.

    A tabular task (nb201-*) trains nothing: the candidate's cell is looked up at that many epochs.
    """
    assert candidate.fingerprint, "only a built candidate is trained"
    steps = steps or ctx.steps
    seed = ctx.evaluation.seed if seed is None else seed
    key = {"fingerprint": candidate.fingerprint, "task": ctx.task.name, "stage": "train",
           "fidelity": steps, "seed": seed}
    with ctx.session() as session:
        stored = store.get_evaluation(session=session, **key)
    if stored is not None:
        log.info("candidate %s: reusing stored evaluation %s", candidate.id, stored.id)
        return stored
    result = train_result(ctx, candidate, steps=steps, seed=seed)
    return _record(ctx, candidate, result, stage="train", fidelity=steps, fingerprint=candidate.fingerprint,
                   seed=seed)


def train_result(ctx: RunContext, candidate: Candidate, *, steps: int, seed: int) -> JobResult:
    """The train stage's scored result (a table lookup for a tabular task), not recorded."""
    if ctx.task.tabular:
        return tabular_lookup(ctx.task, candidate, steps)
    job = Job(stage="train", source=candidate.source, task=ctx.task.spec.model_dump(),
              params={"steps": steps, "batch_size": ctx.batch_size, "lr": ctx.evaluation.lr,
                      "seed": seed, "device": ctx.evaluation.device, "data": "data.npz",
                      **ctx.task.train_params(ctx.data)},  # the task's recipe (a card's optimiser, ...)
              files={"data.npz": ctx.task.job_inputs(ctx.cache_dir)}, limits=ctx.limits)
    return _score(ctx, _checked(ctx.sandbox.run(job)), steps)


def run_screen(ctx: RunContext, candidate: Candidate, *, proxies: list[str] | None = None,
               proxy_batch: int | None = None, cost: bool = True) -> Evaluation:
    """Cost and zero-cost proxies in one sandbox job (the cascade's first stage); stored, never run twice.

    Proxies read the task's training data, or synthetic inputs for a tabular task (it has no images).
    """
    assert candidate.fingerprint, "only a built candidate is screened"
    key = {"fingerprint": candidate.fingerprint, "task": ctx.task.name, "stage": "screen", "fidelity": 0,
           "seed": ctx.evaluation.seed}
    with ctx.session() as session:
        stored = store.get_evaluation(session=session, **key)
    if stored is not None:
        return stored
    params: dict = {"seed": ctx.evaluation.seed, "device": ctx.evaluation.device, "proxies": proxies,
                    "cost": cost, "lengths": list(getattr(ctx.task, "cost_lengths", ()))}
    if proxy_batch:
        params["proxy_batch"] = proxy_batch
    files = {}
    if not ctx.task.tabular:
        params["data"], files = "data.npz", {"data.npz": ctx.task.job_inputs(ctx.cache_dir)}
    job = Job(stage="screen", source=candidate.source, task=ctx.task.spec.model_dump(), params=params,
              files=files, limits=ctx.limits)
    return _record(ctx, candidate, _checked(ctx.sandbox.run(job)), stage="screen", fidelity=0,
                   fingerprint=candidate.fingerprint)


def record_prediction(ctx: RunContext, candidate: Candidate, metrics: dict) -> Evaluation:
    """The cascade's prediction and gate decision for a candidate, stored beside its measured stages."""
    result = JobResult(status=JobStatus.OK, metrics=metrics, wall_s=0.0)
    return _record(ctx, candidate, result, stage="predict", fidelity=0, fingerprint=candidate.fingerprint)


def tabular_lookup(task, candidate: Candidate, epochs: int) -> JobResult:
    """A tabular task's result for the candidate's NAS-Bench-201 cell; the candidate's fault if it has none."""
    try:
        arch = to_arch_string(Node.from_dict(candidate.derivation or {}))
        metrics = task.lookup(arch, epochs)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        return JobResult(status=JobStatus.CANDIDATE_ERROR, wall_s=0.0,
                         error=f"task {task.name} looks up nb201 cells: {exc}")
    return JobResult(status=JobStatus.OK, metrics=metrics, wall_s=0.0)


def _checked(result: JobResult) -> JobResult:
    """An infra_error is the sandbox's fault, not the candidate's: it stops the run, loudly."""
    if result.status == JobStatus.INFRA_ERROR:
        raise SandboxError(f"the sandbox worker could not run: {result.error}")
    return result


def _score(ctx: RunContext, result: JobResult, steps: int | None = None) -> JobResult:
    """Accuracy is computed here, on the host: test labels never enter the candidate's process."""
    if result.status != JobStatus.OK:
        return result
    try:
        scores = ctx.task.score(ctx.data, result.outputs)
    except ValueError as exc:
        return result.model_copy(update={"status": JobStatus.CANDIDATE_ERROR,
                                         "error": f"bad predictions: {exc}"})
    leak = suspected_leakage(ctx.task.name, steps or ctx.steps, result.metrics, scores)
    if leak:
        log.warning("suspected leakage: %s", leak)
        return result.model_copy(update={"status": JobStatus.CANDIDATE_ERROR, "error": f"suspected leakage: {leak}",
                                         "metrics": {**result.metrics, **scores}})
    return result.model_copy(update={"metrics": {**result.metrics, **scores}})


def _record(ctx: RunContext, candidate: Candidate, result: JobResult, *, stage: str, fidelity: int,
            fingerprint: str, seed: int | None = None, artifacts: dict | None = None) -> Evaluation:
    evaluation = Evaluation(
        candidate_id=candidate.id, run_id=candidate.run_id, fingerprint=fingerprint, task=ctx.task.name,
        stage=stage, fidelity=fidelity, seed=ctx.evaluation.seed if seed is None else seed,
        status=str(result.status),
        metrics=result.metrics, artifacts={**result.artifacts, **(artifacts or {})}, error=result.error,
        wall_s=result.wall_s,
        peak_memory_mb=result.peak_memory_mb, sandbox_image=result.image)
    with ctx.session() as session:
        return store.add_evaluation(session=session, evaluation=evaluation)
