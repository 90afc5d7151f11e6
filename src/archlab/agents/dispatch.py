"""Which form of a role runs: the offline one without an LLM endpoint (or when the role is set offline),
the LLM one otherwise. A run can mix them, role by role (`llm.<role>.offline: true`)."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.runtime import Runtime

from archlab.agents import space_phase
from archlab.agents.context import RunContext
from archlab.agents.roles.coder.llm import offline_fallback
from archlab.agents.state import DiscoveryState, Plan
from archlab.store import records as store

Node = Callable[[DiscoveryState, Runtime[RunContext]], dict]


def uses_llm(ctx: RunContext, role: str) -> bool:
    return ctx.llm is not None and not ctx.llm.cfg.role(role).offline


def by_mode(role: str, offline: Node, llm: Node) -> Node:
    def node(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
        ctx = runtime.context
        phase = space_phase.active(state)
        if phase and role in space_phase.OFFLINE_ROLES:
            return offline(state, space_phase.offline_runtime(runtime, phase))
        if role == "planner" and state.get("space_phase"):  # a phase just ended: its report, then the LLM
            return {**space_phase.finish(ctx, state), **_either(role, offline, llm, state, runtime)}
        return _either(role, offline, llm, state, runtime)

    node.__name__ = role
    return node


def _either(role: str, offline: Node, llm: Node, state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    if uses_llm(ctx, role):
        return llm(state, runtime)
    if ctx.llm is not None and role == "coder":  # an LLM plan (combine, new space) the offline coder can follow
        chosen = Plan.model_validate(state["plan"])
        with ctx.session() as session:
            parents = [p for p in (store.get_candidate(session=session, candidate_id=i) for i in chosen.parents)
                       if p is not None]
        return offline_fallback(state, runtime, chosen, parents)
    return offline(state, runtime)
