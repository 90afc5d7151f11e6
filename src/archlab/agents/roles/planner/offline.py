"""Planner, offline form: decide whether to stop, explore the space, or refine a tournament winner."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable

from langgraph.runtime import Runtime

from archlab.agents.config import SearchConfig
from archlab.agents.context import RunContext
from archlab.agents.recall import recall
from archlab.agents.state import DiscoveryState, Plan
from archlab.agents.strategies.step import strategy_plan
from archlab.errors import ConfigError
from archlab.spaces import Space
from archlab.store import Candidate, agent_log
from archlab.store import records as store


def step_rng(ctx: RunContext, state: DiscoveryState, purpose: str) -> random.Random:
    """Deterministic per (run seed, step, attempt, role): a resumed step makes the same choices."""
    return random.Random(f"{ctx.seed}:{state.get('step', 0)}:{state.get('attempt', 0)}:{purpose}")


def plan(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    reason = stop_reason(ctx, state)
    if reason:
        return {"done": True, "stop_reason": reason}
    with ctx.session() as session:
        board = store.leaderboard(session=session, run_id=ctx.run_id)
    # (id, the objective with higher better): bits per byte enter as their negatives
    population = [(c.id, ctx.objective.key(e.metrics)) for c, e in board if in_space(ctx.space, c)]
    if ctx.search.strategy == "tournament":
        chosen = choose_plan(population, ctx.search, step_rng(ctx, state, "plan"), ctx.space.name,
                             shown=lambda key: f"{ctx.objective.short} {ctx.objective.oriented(key):.3f}")
    else:  # a search strategy (agents/strategies/) picks the exact derivation
        chosen = strategy_plan(ctx, step_rng(ctx, state, "plan"))
    chosen.ideas = see_ideas(ctx, state)
    if chosen.move == "refine":  # a fresh sample has no hypothesis for the memory to inform
        summary = next(c.summary for c, _ in board if c.id == chosen.parents[0])
        chosen.concepts = recall(ctx, state, agent="planner",
                                 query=f"what improves {ctx.objective.label} of {summary} on {ctx.task.name}")
    return {"plan": chosen, "proposal": None, "verdict": None, "done": False}


def in_space(space: Space, candidate: Candidate) -> bool:
    """Whether the offline coder can mutate the candidate: its derivation loads in this space."""
    if candidate.derivation is None:
        return False
    try:
        space.load_tree(candidate.derivation)
    except ConfigError:
        return False
    return True


def see_ideas(ctx: RunContext, state: DiscoveryState) -> list[int]:
    """The offline planner cannot read free text: it records the queued ideas as seen at this step (so
    the person knows the run got them) and its plan lists them; queue a draft for it to act on."""
    with ctx.session() as session:
        ids = [i.id for i in agent_log.queued_ideas(session=session, run_id=ctx.run_id)]
        if ids:
            agent_log.mark_seen(session=session, idea_ids=ids, step=state.get("step", 0))
    return ids


def choose_plan(population: list[tuple[str, float]], cfg: SearchConfig, rng: random.Random,
                space: str, shown: Callable[[float], str] = lambda score: f"val {score:.3f}") -> Plan:
    """Explore while the population is small (and now and then); else refine a tournament winner (the highest
    score: the objective oriented so that higher is better)."""
    if len(population) < cfg.init_population or rng.random() < cfg.explore_prob:
        return Plan(move="explore", space=space,
                    hypothesis=f"a fresh sample widens the population ({len(population)} evaluated)")
    entrants = rng.sample(population, min(cfg.tournament_size, len(population)))
    parent, score = max(entrants, key=lambda e: e[1])
    return Plan(move="refine", parents=[parent], space=space,
                hypothesis=f"a small change to {parent} ({shown(score)}) can improve it")


def stop_reason(ctx: RunContext, state: DiscoveryState) -> str | None:
    if state.get("attempt", 0) >= ctx.search.max_attempts:
        return f"no acceptable proposal in {ctx.search.max_attempts} attempts"
    with ctx.session() as session:
        trained = store.run_evaluations(session=session, run_id=ctx.run_id, stage="train")
    training = set(state.get("pending") or []) - {e.candidate_id for e in trained}  # in flight, counted ahead
    if ctx.max_evals is not None and len(trained) + len(training) >= ctx.max_evals:
        still = f", {len(training)} training" if training else ""
        return f"evaluation budget reached ({len(trained)} evaluations{still})"
    if ctx.budget_s is not None:
        remaining = ctx.budget_s - ctx.elapsed_s()
        if remaining <= 0 or remaining < expected_step_s(trained):
            return f"time budget reached ({ctx.elapsed_s():.0f}s of {ctx.budget_s:.0f}s)"
    return None


def expected_step_s(trained) -> float:
    """A step costs about a build plus a training job; don't start one that cannot finish in time."""
    walls = [e.wall_s for e in trained[-10:]]
    return statistics.median(walls) * 1.1 if walls else 0.0
