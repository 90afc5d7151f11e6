"""Coder, offline form: sample a fresh derivation, or mutate the parent's; compile it to source. Under a
parameter cap, draws likely above it are drawn again (agents/param_cap.py)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.param_cap import capped_draw
from archlab.agents.roles.coder.memory_guided import guided_mutation
from archlab.agents.roles.planner.offline import step_rng
from archlab.agents.state import DiscoveryState, Plan, Proposal
from archlab.errors import InfraError
from archlab.spaces import Node, Space
from archlab.store import records as store


def code(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    chosen = Plan.model_validate(state["plan"])
    rng = step_rng(ctx, state, "code")
    if chosen.derivation is not None:  # a search strategy chose the derivation itself
        tree = ctx.space.load_tree(chosen.derivation)
        origin, how = ("mutate" if chosen.parents else "sample"), f"strategy {ctx.search.strategy}"
    elif chosen.move == "explore":
        extra = step_rng(ctx, state, "code-cap")
        tree, note = capped_draw(ctx, lambda skipped: ctx.space.sample(extra if skipped else rng), lambda t: t)
        origin, how = "sample", "fresh sample" + (f"; {note}" if note else "")
    else:
        alternatives = step_rng(ctx, state, "code-alternatives")
        parent = _parent_tree(ctx, chosen.parents[0])
        extra = step_rng(ctx, state, "code-cap")
        (tree, _move, how), note = capped_draw(
            ctx, lambda skipped: guided_mutation(ctx, parent, extra if skipped else rng, alternatives),
            lambda drawn: drawn[0])
        origin, how = "mutate", how + (f"; {note}" if note else "")
    return {"proposal": propose(ctx.space, tree, origin, chosen, how)}


def propose(space: Space, tree: Node, origin: str, chosen: Plan, how: str) -> Proposal:
    return Proposal(origin=origin, parents=chosen.parents, rationale=f"{chosen.hypothesis} ({how})",
                    source=space.compile(tree), derivation=tree.to_dict(),
                    derivation_hash=space.canonical(tree), summary=space.summary(tree))


def _parent_tree(ctx: RunContext, parent_id: str) -> Node:
    with ctx.session() as session:
        parent = store.get_candidate(session=session, candidate_id=parent_id)
    if parent is None or parent.derivation is None:
        raise InfraError(f"parent {parent_id} has no stored derivation; the store is inconsistent")
    return ctx.space.load_tree(parent.derivation)
