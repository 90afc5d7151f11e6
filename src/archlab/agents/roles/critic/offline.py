"""Critic, offline form: static checks, build and fingerprint, novelty — all before training is spent."""

from __future__ import annotations

import hashlib
import logging

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.evaluation.stages import run_build
from archlab.agents.recall import recall
from archlab.agents.state import DiscoveryState, Proposal, Verdict
from archlab.evaluator.candidate import static_check
from archlab.store import Candidate, steering
from archlab.store import records as store

log = logging.getLogger(__name__)
DECIDED = ("accepted", "rejected", "failed", "evaluated")


def candidate_id(run_id: str, step: int, attempt: int) -> str:
    """Deterministic, so a step re-run after a crash records the same candidate, not a new one."""
    return "c" + hashlib.sha256(f"{run_id}/{step}/{attempt}".encode()).hexdigest()[:10]


def critique(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    cid = candidate_id(ctx.run_id, state.get("step", 0), state.get("attempt", 0))
    with ctx.session() as session:
        known = store.get_candidate(session=session, candidate_id=cid)
    if known is not None and known.status in DECIDED:  # decided before a crash: don't build again
        return _verdict_update(state, known)
    proposal = Proposal.model_validate(state["proposal"])
    candidate = _candidate(ctx, state, cid, proposal)
    candidate.status, candidate.reason = review(ctx, candidate)
    concepts = recall(ctx, state, agent="critic", query=f"pitfalls and failure modes of {proposal.summary}")
    with ctx.session() as session:
        candidate = store.upsert_candidate(session=session, candidate=candidate)
    log.info("candidate %s %s%s", cid, candidate.status, f": {candidate.reason}" if candidate.reason else "")
    return _verdict_update(state, candidate, concepts)


def review(ctx: RunContext, candidate: Candidate) -> tuple[str, str | None]:
    """(status, reason): accepted, or rejected / failed with the reason the coder will read."""
    problems = static_check(candidate.source)
    if problems:
        return "rejected", "static check: " + "; ".join(problems)
    vetoed = vetoed_direction(ctx, candidate)
    if vetoed:
        return "rejected", f"a person vetoed this direction: {vetoed!r}"
    with ctx.session() as session:
        twin = candidate.derivation_hash and store.find_by_derivation(
            session=session, run_id=ctx.run_id, derivation_hash=candidate.derivation_hash, exclude_id=candidate.id)
    if twin:
        return "rejected", f"duplicate of {twin.id} (same derivation)"
    build = run_build(ctx, candidate)
    if build.status != "ok":
        return "failed", f"build {build.status}: {build.error}"
    if candidate.params > ctx.task.spec.max_params:
        return "rejected", f"{candidate.params:,} parameters, above the task's {ctx.task.spec.max_params:,}"
    with ctx.session() as session:
        twin = store.find_duplicate(session=session, run_id=ctx.run_id, graph_hash=candidate.graph_hash,
                                    probe_hash=candidate.probe_hash, params=candidate.params,
                                    flops=candidate.flops, exclude_id=candidate.id)
    if twin:
        return "rejected", f"duplicate of {twin.id} (same graph or same cost and probe outputs)"
    return "accepted", None


def vetoed_direction(ctx: RunContext, candidate: Candidate) -> str | None:
    """The first vetoed direction (text) the proposal's summary or rationale mentions, ignoring case."""
    with ctx.session() as session:
        directions = steering.vetoed_directions(session=session, run_id=ctx.run_id)
    described = f"{candidate.summary} {candidate.rationale}".lower()
    return next((d for d in directions if d.lower() in described), None)


def _candidate(ctx: RunContext, state: DiscoveryState, cid: str, proposal: Proposal) -> Candidate:
    return Candidate(id=cid, run_id=ctx.run_id, step=state.get("step", 0), origin=proposal.origin,
                     parent_ids=proposal.parents, rationale=proposal.rationale, source=proposal.source,
                     derivation=proposal.derivation, derivation_hash=proposal.derivation_hash,
                     summary=proposal.summary)


def _verdict_update(state: DiscoveryState, candidate: Candidate, concepts: list[int] | None = None) -> dict:
    accepted = candidate.status in ("accepted", "evaluated")
    verdict = Verdict(decision="accept" if accepted else "reject", reason=candidate.reason or "",
                      candidate_id=candidate.id, concepts=concepts or [])
    update: dict = {"verdict": verdict}
    if not accepted:
        update["attempt"] = state.get("attempt", 0) + 1
    return update
