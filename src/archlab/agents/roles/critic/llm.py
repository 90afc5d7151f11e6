"""Critic, LLM form: the offline checks first (an identical source, static rules, the derivation, a build
with its fingerprint against everything already evaluated), then an LLM review of what passed them —
all before any training is spent.

A build that fails, a static problem, or a review that asks for changes sends the proposal back to the
coder with the traceback or the notes (`revise`), a bounded number of times; a duplicate is rejected.
The reason of every verdict is stored on the candidate.
"""

from __future__ import annotations

import ast
import hashlib
import logging

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.llm.answers import ReviewAnswer
from archlab.agents.llm.calls import LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import ERROR, concept_claims, fault, note, population, site, task_view
from archlab.agents.recall import recall
from archlab.agents.roles.critic.offline import DECIDED, candidate_id, review
from archlab.agents.state import DiscoveryState, Plan, Proposal, Verdict
from archlab.store import Candidate
from archlab.store import records as store

log = logging.getLogger(__name__)
NEAREST = 3  # past candidates shown to the reviewer


def llm_critique(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    cid = candidate_id(ctx.run_id, state.get("step", 0), state.get("attempt", 0))
    with ctx.session() as session:
        known = store.get_candidate(session=session, candidate_id=cid)
    if known is not None and known.status in DECIDED:  # decided before a crash: don't build or ask again
        return _update(state, known, "accept" if known.status in ("accepted", "evaluated") else "reject", [])
    proposal = Proposal.model_validate(state["proposal"])
    candidate = _candidate(ctx, state, cid, proposal)
    twin = source_twin(ctx, candidate)
    if twin is not None:
        candidate.status, candidate.reason = "rejected", f"duplicate of {twin} (same source)"
    else:
        candidate.status, candidate.reason = review(ctx, candidate)
    concepts = recall(ctx, state, agent="critic", query=f"pitfalls and failure modes of {proposal.summary}")
    decision, by = _offline_decision(ctx, state, candidate), "checks"
    if decision == "review":
        decision, by = _llm_review(ctx, state, candidate, concepts), "llm review"
    with ctx.session() as session:
        candidate = store.upsert_candidate(session=session, candidate=candidate)
    note(ctx, state, "critic", "verdict", {"candidate": cid, "decision": decision, "by": by,
                                           "reason": (candidate.reason or "")[:ERROR]})
    log.info("candidate %s %s%s", cid, decision, f": {candidate.reason}" if candidate.reason else "")
    return _update(state, candidate, decision, concepts)


def _offline_decision(ctx: RunContext, state: DiscoveryState, candidate: Candidate) -> str:
    """accept is only provisional ("review"); a fixable problem is revised while revisions are left."""
    if candidate.status == "accepted":
        return "review"
    fixable = not (candidate.reason or "").startswith("duplicate of")
    return "revise" if fixable and state.get("revisions", 0) < ctx.llm.cfg.max_revisions else "reject"


def _llm_review(ctx: RunContext, state: DiscoveryState, candidate: Candidate, concepts: list[int]) -> str:
    plan = Plan.model_validate(state["plan"])
    prompt = render("critic.j2", task=task_view(ctx), plan=plan.model_dump(), source=candidate.source,
                    summary=candidate.summary, params=candidate.params, flops=candidate.flops,
                    nearest=nearest(ctx, candidate), concepts=concept_claims(ctx, concepts),
                    failures=population(ctx)["failures"])
    try:
        answer = ctx.llm.structured(site(state, "critic"), ReviewAnswer, prompt,
                                    system=render("system.j2", role="critic", objective=ctx.objective.label),
                                    convert=lambda a: a)
    except LLMError as exc:
        fault(ctx, state, "critic", exc.status, str(exc), "offline verdict (accept)")
        return "accept"
    if answer.decision == "revise" and state.get("revisions", 0) >= ctx.llm.cfg.max_revisions:
        answer = ReviewAnswer(decision="reject", reason=f"{answer.reason} (no revisions left)")
    if answer.decision != "accept":
        candidate.status, candidate.reason = "rejected", f"critic {answer.decision}: {answer.reason}"
    else:
        candidate.reason = None
    return answer.decision


def source_key(source: str) -> str | None:
    """The module's syntax tree, hashed: comments, blank lines and formatting do not make a source new."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def source_twin(ctx: RunContext, candidate: Candidate) -> str | None:
    """An earlier candidate of this run with the same source tree: caught before anything runs."""
    key = source_key(candidate.source)
    if key is None:
        return None
    with ctx.session() as session:
        others = store.run_candidates(session=session, run_id=ctx.run_id)
    return next((c.id for c in others if c.id != candidate.id and source_key(c.source) == key), None)


def nearest(ctx: RunContext, candidate: Candidate) -> list[dict]:
    """Built candidates of the run closest in parameters (log scale), with how they ended."""
    with ctx.session() as session:
        built = [c for c in store.run_candidates(session=session, run_id=ctx.run_id)
                 if c.params and c.id != candidate.id]
    target = max(candidate.params or 1, 1)
    built.sort(key=lambda c: abs(c.params - target) / target)
    return [{"id": c.id, "summary": c.summary, "params": c.params, "status": c.status,
             "reason": (c.reason or "")[:ERROR // 2], "delta": c.parent_delta} for c in built[:NEAREST]]


def _candidate(ctx: RunContext, state: DiscoveryState, cid: str, proposal: Proposal) -> Candidate:
    return Candidate(id=cid, run_id=ctx.run_id, step=state.get("step", 0), origin=proposal.origin,
                     parent_ids=proposal.parents, rationale=proposal.rationale, source=proposal.source,
                     derivation=proposal.derivation, derivation_hash=proposal.derivation_hash,
                     summary=proposal.summary)


def _update(state: DiscoveryState, candidate: Candidate, decision: str, concepts: list[int]) -> dict:
    verdict = Verdict(decision=decision, reason=candidate.reason or "", candidate_id=candidate.id,
                      concepts=concepts, by="llm")
    update: dict = {"verdict": verdict, "revisions": 0}
    if decision != "accept":
        update["attempt"] = state.get("attempt", 0) + 1
    if decision == "revise":
        update["revisions"] = state.get("revisions", 0) + 1
    return update
