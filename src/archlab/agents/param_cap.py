"""Cap-aware drawing for the offline coder and the search strategies: skip draws almost surely above the
parameter cap.

The critic enforces a run's parameter cap exactly, but only after a sandbox build (seconds each), and
under a tight cap most fresh samples of a space are too big (five in six `seq1d` samples exceed the
5,209 parameters of `bench mnist1d`'s CNN). So once the run has built MIN_BUILT candidates of its space
and at least one of them was above the cap, the coder learns from them how a derivation's encoding maps
to log(params) — the evaluator's predictor ensemble (GP + boosted trees + ridge: a mean and a spread;
on seq1d fitted on 40 samples its log-params residual is 0.99, a ridge's alone 2.2) — and redraws (up to
`DRAWS` times: the coder from its own random stream, a search strategy told the skipped ones as if
they had been rejected) while the draw's estimated chance of fitting is below `LIKELY`. The first draw
that may fit is proposed; when none may, the one estimated smallest. Before that, and in a run without
a cap or without an oversize candidate, exactly what would be proposed without this module is. The
estimate only saves builds: it never accepts or rejects anything itself.

benchmarks/param_cap_seq1d.py: under the CNN's cap, 6.0 builds per accepted fresh sample without it,
1.8 with it after 40 to 80 builds (skipping 6-10% of the draws that would have fitted).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy.stats import norm

from archlab.agents.context import RunContext
from archlab.errors import ConfigError
from archlab.evaluator.predictors import Ensemble
from archlab.spaces import Node, Space
from archlab.store import records as store

MIN_BUILT = 30  # built candidates of the space before the estimate is trusted (at 20, a quarter of the
#               draws that fit were skipped; at 40, a tenth: benchmarks/param_cap_seq1d.py)
MAX_ROWS = 300  # the latest built candidates it is fitted on (a GP's fit grows with the cube of its rows)
DRAWS = 20  # draws in all, the usual one included
LIKELY = 0.2  # a draw whose estimated chance of fitting under the cap is below this is drawn again

T = TypeVar("T")


@dataclass
class ParamEstimate:
    space: Space
    model: Ensemble

    def chance_under(self, tree: Node, cap: int) -> float:
        """P(params <= cap), taking log(params) as normal with the ensemble's mean and spread."""
        mean, std = self.model.predict(np.array([self.space.encode(tree)], dtype=np.float64))
        return float(norm.cdf((math.log(cap) - mean[0]) / max(float(std[0]), 1e-6)))

    def params(self, tree: Node) -> float:
        return float(math.exp(self.model.predict(np.array([self.space.encode(tree)], dtype=np.float64))[0][0]))


def estimate(ctx: RunContext) -> ParamEstimate | None:
    """Fitted on the run's built candidates of its space; None while the cap has never been exceeded (nothing
    to save) or fewer than MIN_BUILT are built."""
    cap = ctx.task.spec.max_params
    with ctx.session() as session:  # one aggregate first: a run that never exceeded its cap loads nothing
        largest = store.run_max_params(session=session, run_id=ctx.run_id)
        if largest is None or largest <= cap:
            return None
        built = [c for c in store.run_candidates(session=session, run_id=ctx.run_id)
                 if c.params is not None and c.derivation is not None]
    if len(built) < MIN_BUILT:
        return None
    rows, targets = [], []
    for candidate in built[-MAX_ROWS:]:
        try:
            rows.append(ctx.space.encode(ctx.space.load_tree(candidate.derivation)))
        except (ConfigError, ValueError):  # another space's derivation
            continue
        targets.append(math.log(max(candidate.params, 1)))
    if len(rows) < MIN_BUILT:
        return None
    return ParamEstimate(ctx.space, Ensemble(seed=0).fit(np.array(rows, dtype=np.float64), np.array(targets)))


def capped_draw(ctx: RunContext, draw: Callable[[list[T]], T], tree_of: Callable[[T], Node]) -> tuple[T, str | None]:
    """(the draw to propose, a note for the rationale or None). `draw(skipped)` makes the next draw knowing the
    ones skipped so far: the first call (skipped empty) must be exactly the draw made without a cap."""
    first = draw([])
    model = estimate(ctx)
    if model is None:
        return first, None
    cap = ctx.task.spec.max_params
    options = [first]
    while model.chance_under(tree_of(options[-1]), cap) < LIKELY:
        if len(options) == DRAWS:
            smallest = min(options, key=lambda o: model.params(tree_of(o)))
            return smallest, (f"all {DRAWS} draws estimated above the {cap:,}-parameter cap; "
                              f"proposing the smallest (about {model.params(tree_of(smallest)):,.0f})")
        options.append(draw(list(options)))
    skipped = len(options) - 1
    if not skipped:
        return first, None
    return options[-1], (f"{skipped} draw{'s' if skipped > 1 else ''} skipped as likely above the "
                         f"{cap:,}-parameter cap")
