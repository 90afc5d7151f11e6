"""A search strategy inside a run: the run's candidates become the strategy's history, its suggestion
becomes the planner's Plan (with the exact derivation, which the coder compiles as it is)."""

from __future__ import annotations

import random

from archlab.agents.context import RunContext
from archlab.agents.param_cap import capped_draw
from archlab.agents.state import Plan
from archlab.agents.strategies import GrammarDomain, Observation, Strategy, Suggestion, make_strategy
from archlab.errors import ConfigError
from archlab.store import records as store

# A tree's neighbourhood is drawn once (a few dozen mutations); kept across the steps of this process.
_DOMAINS: dict[tuple[str | None, int], GrammarDomain] = {}


def _domain(ctx: RunContext) -> GrammarDomain:
    key = (ctx.run_id, id(ctx.space))
    if key not in _DOMAINS:
        _DOMAINS.clear()  # one run per process at a time: drop the last run's
        _DOMAINS[key] = GrammarDomain(ctx.space)
    return _DOMAINS[key]


def run_strategy(ctx: RunContext) -> Strategy:
    cfg, surrogate = ctx.search, ctx.evaluation.predictor  # the ensemble: one setting, shared with the cascade
    return make_strategy(cfg.strategy, init=cfg.init_population, population=cfg.population,
                         tournament=cfg.tournament_size, members=tuple(surrogate.members),
                         acquisition=surrogate.acquisition, kappa=surrogate.kappa, seed=ctx.seed)


def run_history(ctx: RunContext) -> list[Observation]:
    """Every candidate of the run with a derivation of its space, oldest first; a candidate that was
    rejected or failed is there without a score, so the strategy never proposes it again."""
    with ctx.session() as session:
        candidates = store.run_candidates(session=session, run_id=ctx.run_id)
        board = store.leaderboard(session=session, run_id=ctx.run_id)
    scores = {c.id: ctx.task.score_of(e.metrics) for c, e in board}
    history = []
    for cand in candidates:
        if cand.derivation is None:
            continue
        try:
            tree = ctx.space.load_tree(cand.derivation)
        except ConfigError:  # a candidate from another space (a stored grammar changed): nothing to learn
            continue
        history.append(Observation(ident=cand.id, key=cand.derivation_hash or ctx.space.canonical(tree), x=tree,
                                   score=scores.get(cand.id), parents=tuple(cand.parent_ids or ()),
                                   cost=float(cand.params) if cand.params else None))
    return history


def strategy_plan(ctx: RunContext, rng: random.Random) -> Plan:
    """The strategy's suggestion; under a parameter cap, one it made that is likely above the cap is told
    back to it as rejected and it is asked again (agents/param_cap.py)."""
    strategy, history, domain = run_strategy(ctx), run_history(ctx), _domain(ctx)

    def suggest(skipped: list[Suggestion]) -> Suggestion:
        told = [Observation(ident=f"skipped-{i}", key=domain.key(s.x), x=s.x, score=None)
                for i, s in enumerate(skipped)]
        return strategy.suggest([*history, *told], domain, rng)

    suggestion, note = capped_draw(ctx, suggest, lambda s: s.x)
    how = suggestion.how + (f"; {note}" if note else "")
    return Plan(move="refine" if suggestion.parents else "explore", parents=list(suggestion.parents),
                hypothesis=f"{ctx.search.strategy}: {how}", space=ctx.space.name,
                derivation=suggestion.x.to_dict())
