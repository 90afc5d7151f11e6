"""The discovery graph: only wiring. Routers are pure functions of the state."""

from __future__ import annotations

from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from archlab.agents.context import RunContext
from archlab.agents.dispatch import by_mode
from archlab.agents.evaluation.inflight import each_finished
from archlab.agents.evaluation.node import evaluate
from archlab.agents.roles.analyst.llm import llm_analyse
from archlab.agents.roles.analyst.offline import analyse
from archlab.agents.roles.coder.llm import llm_code
from archlab.agents.roles.coder.offline import code
from archlab.agents.roles.critic.llm import llm_critique
from archlab.agents.roles.critic.offline import critique
from archlab.agents.roles.planner.llm import llm_plan
from archlab.agents.roles.planner.offline import plan
from archlab.agents.state import DiscoveryState, plan_of, verdict_of
from archlab.agents.steer import steer


def after_plan(state: DiscoveryState) -> Literal["coder", "evaluate", "__end__"]:
    if state.get("done"):
        return "evaluate" if state.get("pending") else END  # candidates still in flight finish first
    return "coder"


def after_steer(state: DiscoveryState) -> Literal["planner", "critic", "evaluate", "__end__"]:
    if state.get("done"):
        return "evaluate" if state.get("pending") else END
    plan = plan_of(state)
    drafted = plan is not None and plan.move == "draft" and state.get("verdict") is None
    return "critic" if drafted else "planner"


def after_critic(state: DiscoveryState) -> Literal["evaluate", "coder", "planner"]:
    verdict, plan = verdict_of(state), plan_of(state)
    decision = verdict.decision if verdict else None
    if decision == "revise" and plan is not None and plan.move == "draft":
        return "planner"  # a person's draft is theirs to revise; the critic's reason is in its history
    return {"accept": "evaluate", "revise": "coder"}.get(decision, "planner")


def after_evaluate(state: DiscoveryState) -> Literal["analyst", "steer"]:
    """To the analyst, unless candidates are in flight and none has finished yet."""
    return "steer" if state.get("finished") == [] else "analyst"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    graph = StateGraph(DiscoveryState, context_schema=RunContext)
    graph.add_node("steer", steer)
    graph.add_node("planner", by_mode("planner", plan, llm_plan))
    graph.add_node("coder", by_mode("coder", code, llm_code))
    graph.add_node("critic", by_mode("critic", critique, llm_critique))
    graph.add_node("evaluate", evaluate)
    graph.add_node("analyst", each_finished(by_mode("analyst", analyse, llm_analyse)))
    graph.add_edge(START, "steer")
    graph.add_conditional_edges("steer", after_steer)
    graph.add_conditional_edges("planner", after_plan)
    graph.add_edge("coder", "critic")
    graph.add_conditional_edges("critic", after_critic)
    graph.add_conditional_edges("evaluate", after_evaluate)
    graph.add_edge("analyst", "steer")
    return graph.compile(checkpointer=checkpointer)
