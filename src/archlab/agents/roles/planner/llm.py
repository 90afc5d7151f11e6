"""Planner, LLM form: reads the population, the memory and the queued user ideas; decides the next move.

A call that yields no valid plan falls back to the offline planner for this step (counted as a fault).
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.llm.answers import PlanAnswer
from archlab.agents.llm.calls import LLMBudgetExceeded, LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import concept_claims, fault, note, population, site, task_view
from archlab.agents.recall import recall
from archlab.agents.roles.planner.offline import plan as offline_plan
from archlab.agents.roles.planner.offline import stop_reason
from archlab.agents.state import DiscoveryState, Plan
from archlab.store import agent_log

PARENTS = {"explore": (0, 0), "new_space": (0, 1), "refine": (1, 1), "combine": (2, 2)}


def llm_plan(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    reason = stop_reason(ctx, state) or ctx.llm.exhausted()
    if reason:
        return {"done": True, "stop_reason": reason}
    view = population(ctx)
    best = view["board"][0]["summary"] if view["board"] else "a first network"
    concepts = recall(ctx, state, agent="planner",
                      query=f"what improves validation accuracy of {best} on {ctx.task.name}")
    with ctx.session() as session:
        ideas = list(agent_log.queued_ideas(session=session, run_id=ctx.run_id))
    prompt = render("planner.j2", task=task_view(ctx), space=ctx.space.name, grammar=ctx.space.grammar.text,
                    concepts=concept_claims(ctx, concepts), ideas=[i.text for i in ideas], **view)
    known = {row["id"] for row in view["board"]} | {row["id"] for row in view["pareto"]}
    try:
        chosen = ctx.llm.structured(site(state, "planner"), PlanAnswer, prompt,
                                    system=render("system.j2", role="planner", objective=ctx.objective.label),
                                    convert=lambda a: to_plan(a, known, ctx.space.name))
    except LLMBudgetExceeded as exc:
        return {"done": True, "stop_reason": str(exc)}
    except LLMError as exc:
        fault(ctx, state, "planner", exc.status, str(exc), "offline planner")
        return offline_plan(state, runtime)
    chosen.concepts, chosen.ideas = concepts, [i.id for i in ideas]
    if ideas:
        with ctx.session() as session:
            agent_log.mark_seen(session=session, idea_ids=chosen.ideas, step=state.get("step", 0))
    note(ctx, state, "planner", "plan", chosen.model_dump())
    return {"plan": chosen, "proposal": None, "verdict": None, "done": False, "revisions": 0}


def to_plan(answer: PlanAnswer, known: set[str], space: str) -> Plan:
    """The answer as a Plan; ValueError (shown to the model) when its parents do not fit its move."""
    low, high = PARENTS[answer.move]
    if not low <= len(answer.parents) <= high:
        raise ValueError(f"move {answer.move} takes {low}..{high} parents, got {len(answer.parents)}")
    unknown = [p for p in answer.parents if p not in known]
    if unknown:
        raise ValueError(f"unknown parent ids {unknown}; choose among the evaluated candidates {sorted(known)}")
    return Plan(move=answer.move, parents=answer.parents, hypothesis=answer.hypothesis, space=space,
                expected_effect=answer.expected_effect, by="llm")
