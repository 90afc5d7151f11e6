"""The discovery graph: only wiring. Routers are pure functions of the state."""

from __future__ import annotations

from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from archlab.agents.analyst import analyse
from archlab.agents.coder import code
from archlab.agents.context import RunContext
from archlab.agents.critic import critique
from archlab.agents.evaluate import evaluate
from archlab.agents.planner import plan
from archlab.agents.state import DiscoveryState


def after_plan(state: DiscoveryState) -> Literal["coder", "__end__"]:
    return END if state.get("done") else "coder"


def after_critic(state: DiscoveryState) -> Literal["evaluate", "planner"]:
    verdict = state.get("verdict") or {}
    return "evaluate" if verdict.get("decision") == "accept" else "planner"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    graph = StateGraph(DiscoveryState, context_schema=RunContext)
    graph.add_node("planner", plan)
    graph.add_node("coder", code)
    graph.add_node("critic", critique)
    graph.add_node("evaluate", evaluate)
    graph.add_node("analyst", analyse)
    graph.add_edge(START, "planner")
    graph.add_conditional_edges("planner", after_plan)
    graph.add_edge("coder", "critic")
    graph.add_conditional_edges("critic", after_critic)
    graph.add_edge("evaluate", "analyst")
    graph.add_edge("analyst", "planner")
    return graph.compile(checkpointer=checkpointer)
