"""The steering node: before each step, apply what a person asked of the running search.

Requests (store/steering.py) come from the CLI, the web app or a chat. Each is settled on its row
(applied or refused, with a note and the step), so the table is the run's steering history. A pause
holds the run here, between steps, until a resume or a stop; its time does not count against the budget.
"""

from __future__ import annotations

import logging
import time

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.state import DiscoveryState, Plan, Proposal
from archlab.errors import ArchlabError
from archlab.store import records as store
from archlab.store.steering import SteerAction, pending, settle

log = logging.getLogger(__name__)
POLL_S = 1.0  # how often a paused run looks for a resume or a stop


def steer(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    step = state.get("step", 0)
    update: dict = {}
    paused_at: float | None = None
    while True:
        with ctx.session() as session:
            actions = list(pending(session=session, run_id=ctx.run_id))
        for action in actions:
            if action.kind == "draft" and ("proposal" in update or update.get("done")):
                continue  # one draft per step; the next waits for the next step
            paused_at = _apply(ctx, action, step, update, paused_at)
        if paused_at is None or update.get("done"):
            break
        time.sleep(POLL_S)
    if paused_at is not None:  # stopped while paused
        _unpause(ctx, paused_at)
    return update


def _apply(ctx: RunContext, action: SteerAction, step: int, update: dict, paused_at: float | None) -> float | None:
    """Apply one action; returns when the current pause began (None: not paused)."""
    handler = HANDLERS[action.kind]
    try:
        status, note, paused_at = handler(ctx, action, update, paused_at)
    except ArchlabError as exc:  # e.g. a draft that does not load in the run's space
        status, note = "refused", str(exc)
    with ctx.session() as session:
        settle(session=session, action_id=action.id, status=status, note=note, step=step)
    log.info("steering #%s %s %s: %s", action.id, action.kind, status, note)
    return paused_at


def _pause(ctx, action, update, paused_at):
    if paused_at is not None:
        return "refused", "already paused", paused_at
    with ctx.session() as session:
        store.update_run(session=session, run_id=ctx.run_id, status="paused")
    return "applied", "paused between steps", time.monotonic()


def _resume(ctx, action, update, paused_at):
    if paused_at is None:
        return "refused", "the run is not paused", None
    return "applied", f"resumed after {_unpause(ctx, paused_at):.0f}s paused", None


def _unpause(ctx: RunContext, paused_at: float) -> float:
    held = time.monotonic() - paused_at
    ctx.paused_s += held
    with ctx.session() as session:
        store.update_run(session=session, run_id=ctx.run_id, status="running")
    return held


def _stop(ctx, action, update, paused_at):
    update.update(done=True, stopped=True, stop_reason=f"stopped by a person ({action.origin})")
    return "applied", "the run stops before its next step", paused_at


def _budget(ctx, action, update, paused_at):
    before = ctx.budget_s
    if "seconds" in action.payload:
        ctx.budget_s = action.payload["seconds"]
    else:  # a run without a budget gets one: from now, plus the delta
        ctx.budget_s = max(0.0, (before if before is not None else ctx.elapsed_s()) + action.payload["delta_s"])
    with ctx.session() as session:
        store.update_run(session=session, run_id=ctx.run_id, budget_s=ctx.budget_s)
    was = f"{before:.0f}s" if before is not None else "none"
    return "applied", f"time budget {was} -> {ctx.budget_s:.0f}s (used {ctx.elapsed_s():.0f}s)", paused_at


def _veto_candidate(ctx, action, update, paused_at):
    reason = action.payload.get("reason") or "no reason given"
    with ctx.session() as session:
        cand = store.get_candidate(session=session, candidate_id=action.payload["candidate_id"])
        cand.status, cand.reason = "vetoed", f"vetoed by a person: {reason}"
        store.upsert_candidate(session=session, candidate=cand)
    return "applied", f"{cand.id} is off the leaderboard and never a parent again", paused_at


def _veto_direction(ctx, action, update, paused_at):
    return "applied", f"the critic rejects proposals matching {action.payload['text']!r}", paused_at


def _idea(ctx, action, update, paused_at):
    return "applied", f"queued for the planner as idea #{action.payload['idea_id']}", paused_at


def _draft(ctx, action, update, paused_at):
    proposal = draft_proposal(ctx, action.payload)
    update.update(plan=Plan(move="draft", space=ctx.space.name, hypothesis=proposal.rationale),
                  proposal=proposal, verdict=None)
    return "applied", f"proposed to the critic as a {action.origin} draft", paused_at


def draft_proposal(ctx: RunContext, payload: dict) -> Proposal:
    """A person's draft as a proposal: from its derivation in the run's space when it has one."""
    rationale = payload.get("rationale") or "a person's draft"
    if payload.get("derivation") and payload.get("space") == ctx.space.name:
        tree = ctx.space.load_tree(payload["derivation"])
        return Proposal(origin="user", rationale=rationale, source=ctx.space.compile(tree),
                        derivation=tree.to_dict(), derivation_hash=ctx.space.canonical(tree),
                        summary=ctx.space.summary(tree))
    return Proposal(origin="user", rationale=rationale, source=payload["source"],
                    summary=payload.get("summary") or "a person's draft (free-form source)")


HANDLERS = {"pause": _pause, "resume": _resume, "stop": _stop, "budget": _budget, "idea": _idea,
            "draft": _draft, "veto_candidate": _veto_candidate, "veto_direction": _veto_direction}
