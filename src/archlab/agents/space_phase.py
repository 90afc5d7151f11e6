"""A run that mixes both modes: when the LLM proposes a new search space, offline evolution explores it
for `llm.space_steps` steps (planner and coder in their offline forms, in that space), then the LLM
roles take over again and the analyst's report of the phase is in the run's notes for them to read.

The phase lives in the graph state (`space_phase`: space, first step, step it ends before), so a
resumed run continues it.
"""

from __future__ import annotations

import dataclasses

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.grammar_intake import load_workspace_space
from archlab.agents.llm.views import note
from archlab.agents.state import DiscoveryState, Proposal
from archlab.store import records as store
from archlab.store.objective import Objective

OFFLINE_ROLES = ("planner", "coder")


def start(ctx: RunContext, state: DiscoveryState, proposal: Proposal) -> dict:
    """The state update that opens a phase after a grammar proposal, when the run asks for one."""
    steps = ctx.llm.cfg.space_steps if ctx.llm is not None else 0
    if proposal.origin != "grammar" or not proposal.space or steps <= 0:
        return {}
    step = state.get("step", 0)
    return {"space_phase": {"space": proposal.space, "start": step, "until": step + 1 + steps}}


def active(state: DiscoveryState) -> dict | None:
    phase = state.get("space_phase")
    return phase if phase and state.get("step", 0) < phase["until"] else None


def offline_runtime(runtime: Runtime[RunContext], phase: dict) -> Runtime[RunContext]:
    """The runtime the offline planner and coder see during the phase: the run's, in the phase's space."""
    ctx = runtime.context
    with ctx.session() as session:
        space = load_workspace_space(session, phase["space"])
    return runtime.override(context=dataclasses.replace(ctx, space=space))


def finish(ctx: RunContext, state: DiscoveryState) -> dict:
    """Close a phase that has run its steps: the analyst's report of it, as an insight note."""
    phase = state.get("space_phase")
    if not phase or active(state):
        return {}
    with ctx.session() as session:
        board = store.leaderboard(session=session, run_id=ctx.run_id)
    inside = [(c, e) for c, e in board if c.step is not None and phase["start"] <= c.step < phase["until"]]
    outside = [(c, e) for c, e in board if (c, e) not in inside]
    note(ctx, state, "analyst", "insight", {
        "claim": _claim(phase, inside, outside, ctx.objective), "evidence": [c.id for c, _ in inside[:5]],
        "relation": "new", "confidence": None, "concepts": [], "phase": phase})
    return {"space_phase": None}


def _claim(phase: dict, inside, outside, objective: Objective) -> str:
    steps = phase["until"] - phase["start"] - 1  # the steps after the grammar's own candidate
    head = f"offline evolution explored the new space {phase['space']} for {steps} steps"
    if not inside:
        return f"{head}: no candidate of it trained"
    best, ev = inside[0]
    value = objective.value(ev.metrics)
    claim = f"{head}: {len(inside)} trained, best {best.id} at {objective.metric} {value:.4f}"
    if outside:
        other, oev = outside[0]
        delta = objective.improvement(value, objective.value(oev.metrics))
        claim += (f", {delta:+.4f} (positive: better) against the best outside it ({other.id}, "
                  f"{objective.value(oev.metrics):.4f})")
    return claim
