"""/try: a quick evaluation of a draft through the sandbox — build, then a short training at low fidelity.

Stored like `archlab eval`'s: the candidate (origin "chat", in no run) and its evaluations, keyed like every
evaluation, so the same network is never trained twice at the same steps and seed (a run reuses the
result too), a /save can cite it as evidence, and it stays off every run's leaderboard.
"""

from __future__ import annotations

import hashlib

from archlab.agents.chat.models import Draft, TryResult
from archlab.agents.context import RunContext
from archlab.agents.evaluation.stages import run_build, run_train
from archlab.evaluator.candidate import static_check
from archlab.store import Candidate, Evaluation
from archlab.store import records as store


def candidate_id(source: str) -> str:
    """One id per source text: trying the same draft again, from any chat, is the same candidate."""
    return "chat-" + hashlib.sha256(source.encode()).hexdigest()[:10]


def try_draft(ctx: RunContext, draft: Draft, *, steps: int, session_id: str) -> TryResult:
    candidate = Candidate(id=candidate_id(draft.source), origin="chat", source=draft.source,
                          derivation=draft.derivation, derivation_hash=draft.derivation_hash, summary=draft.summary,
                          rationale=f"chat {session_id}: {draft.rationale}")
    problems = static_check(draft.source)
    if problems:  # never sent to the sandbox
        return TryResult(candidate_id=candidate.id, status="candidate_error", stage="static", steps=steps,
                         error="static check: " + "; ".join(problems))
    build = run_build(ctx, candidate)
    reused = build.status == "ok" and _stored(ctx, candidate, steps)
    train = run_train(ctx, candidate, steps=steps) if build.status == "ok" else None
    final = train or build
    candidate.status = "evaluated" if train is not None and train.status == "ok" else "failed"
    candidate.reason = final.error
    with ctx.session() as session:
        store.upsert_candidate(session=session, candidate=candidate)
    return _result(candidate, build, final, steps, reused)


def _stored(ctx: RunContext, candidate: Candidate, steps: int) -> bool:
    with ctx.session() as session:
        return store.get_evaluation(session=session, fingerprint=candidate.fingerprint, task=ctx.task.name,
                                    stage="train", fidelity=steps, seed=ctx.evaluation.seed) is not None


def _result(candidate: Candidate, build: Evaluation, final: Evaluation, steps: int, reused: bool) -> TryResult:
    m = final.metrics
    wall = build.wall_s + (final.wall_s if final is not build else 0.0)
    return TryResult(candidate_id=candidate.id, status=final.status, stage=final.stage, steps=steps,
                     params=candidate.params, flops=candidate.flops, val_acc=m.get("val_acc"), val_bpb=m.get("val_bpb"),
                     wall_s=round(wall, 2), evaluation_id=final.id, reused=reused, error=final.error)
