"""The cascade: which candidate earns more compute.

One candidate at a time, as a search proposes them:

1. screen — cost and zero-cost proxies in one sandbox job (cheap, seconds);
2. predict — the online predictor (cold start: the proxy prior) gives a mean and an uncertainty, an
   acquisition rule (UCB, EI) turns them into a value, and the candidate is trained only if that value
   ranks within the best `predictor.keep` of all candidates screened so far;
3. train at rising fidelities (rungs) — after each, the result goes on only if it ranks within the best
   `keep` of that rung's results so far (asynchronous successive halving), and never when it is within
   `hopeless_margin` of chance: a hopeless run stops at the cheapest fidelity;
4. confirm — a result that ranks within the `confirm.top` best of the last rung is trained again with
   `confirm.seeds` more seeds, so the winners' scores are means, not lucky draws.

The cascade decides; a `StageRunner` (the agents' sandbox adapter, or a benchmark's in-process one)
runs and records the stages, and a `History` holds the earlier candidates of the run. Nothing here
keeps state between candidates: a resumed run rebuilds its history from the stored evaluations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from archlab.evaluator.cascade.acquisition import acquire
from archlab.evaluator.cascade.rules import Decision, promote_on_arrival, successive_halving
from archlab.evaluator.config import CascadeConfig, RungConfig, SurrogateConfig
from archlab.evaluator.predictors import FeatureRecord, OnlinePredictor

log = logging.getLogger(__name__)

__all__ = ["Cascade", "CascadeOutcome", "Decision", "HistoryEntry", "StageResult", "StageRunner", "default_rungs",
           "promote_on_arrival", "screened_features", "successive_halving"]


@dataclass(frozen=True)
class StageResult:
    ok: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    score: float | None = None  # train: the task's objective, higher is better
    error: str | None = None


class StageRunner(Protocol):
    def screen(self) -> StageResult: ...

    def train(self, steps: int, seed: int) -> StageResult: ...

    def record_prediction(self, metrics: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class HistoryEntry:
    """An earlier candidate of the run, as the cascade needs it."""

    features: FeatureRecord
    rung_scores: dict[int, float] = field(default_factory=dict)  # steps -> score at the run's base seed


@dataclass
class CascadeOutcome:
    stages: list[str] = field(default_factory=list)
    trained: bool = False
    scores: dict[int, float] = field(default_factory=dict)
    confirmed: list[float] = field(default_factory=list)
    stopped: str = ""  # why the candidate went no further
    failed: str | None = None  # a stage failed: its error


def default_rungs(steps: int, tabular_fidelities: Sequence[int] | None = None) -> list[RungConfig]:
    """A fifth of the budget, then the budget; a tabular task's own fidelities."""
    if tabular_fidelities:
        return [RungConfig(steps=f) for f in tabular_fidelities]
    low = max(1, steps // 5)
    return [RungConfig(steps=low), RungConfig(steps=steps)] if low < steps else [RungConfig(steps=steps)]


class Cascade:
    def __init__(self, cfg: CascadeConfig, rungs: Sequence[RungConfig], *, chance: float, seed: int = 0,
                 surrogate: SurrogateConfig | None = None) -> None:
        self.cfg, self.rungs, self.chance, self.seed = cfg, list(rungs), chance, seed
        self.surrogate = surrogate or SurrogateConfig()
        p = cfg.predictor
        self.predictor = OnlinePredictor(self.surrogate.members, p.min_points, p.prior_proxies, seed=seed)

    def run(self, runner: StageRunner, features: FeatureRecord, history: Sequence[HistoryEntry]) -> CascadeOutcome:
        out = CascadeOutcome()
        if self.cfg.screen:
            screened = runner.screen()
            out.stages.append("screen")
            if not screened.ok:
                out.failed = f"screen: {screened.error}"
                return out
            features = screened_features(features.encoding, screened.metrics)
        if not self._gate(runner, features, history, out):
            return out
        self._train_rungs(runner, history, out)
        return out

    # -- predict -----------------------------------------------------------------------------------

    def _gate(self, runner: StageRunner, features: FeatureRecord, history: Sequence[HistoryEntry],
              out: CascadeOutcome) -> bool:
        """Train only what ranks within the best `keep` of every candidate screened so far, all of them
        scored by the current predictor (so that every value compared comes from the same model)."""
        first = self.rungs[0].steps
        labelled = [h for h in history if first in h.rung_scores]
        forecast = self.predictor.predict([h.features for h in labelled], [h.rung_scores[first] for h in labelled],
                                          [features, *(h.features for h in history)],
                                          pool=[h.features for h in history])
        p = self.cfg.predictor
        best = max((h.rung_scores[first] for h in labelled), default=None)
        s = self.surrogate
        rule = s.acquisition if forecast.source == "model" else "mean"  # prior z-scores carry no uncertainty
        values = acquire(rule, forecast.mean, forecast.std, best=best, kappa=s.kappa, xi=s.xi)
        value = float(values[0])
        decision = promote_on_arrival(value, [float(v) for v in values[1:]], p.keep, self.cfg.min_history)
        runner.record_prediction({"score": float(forecast.mean[0]), "mean": float(forecast.mean[0]),
                                  "std": float(forecast.std[0]), "source": forecast.source,
                                  "n_train": forecast.n_train, "acquisition": value, "rule": rule,
                                  "promoted": decision.promote, "rank": decision.rank, "of": decision.of})
        out.stages.append("predict")
        if not decision.promote:
            out.stopped = f"predicted {rule} {value:.4g} ({forecast.source}): {decision.reason}"
        return decision.promote

    # -- train at rising fidelities ---------------------------------------------------------------

    def _train_rungs(self, runner: StageRunner, history: Sequence[HistoryEntry], out: CascadeOutcome) -> None:
        for i, rung in enumerate(self.rungs):
            result = runner.train(rung.steps, self.seed)
            out.stages.append(f"train@{rung.steps}")
            if not result.ok or result.score is None:
                out.failed = f"train@{rung.steps}: {result.error}"
                return
            out.trained = True
            out.scores[rung.steps] = result.score
            if result.score <= self.chance + self.cfg.hopeless_margin:
                out.stopped = (f"hopeless at {rung.steps} steps: {result.score:.4g} is within "
                               f"{self.cfg.hopeless_margin} of chance ({self.chance:.4g})")
                return
            earlier = [h.rung_scores[rung.steps] for h in history if rung.steps in h.rung_scores]
            if i == len(self.rungs) - 1:
                self._confirm(runner, rung.steps, result.score, earlier, out)
                return
            decision = promote_on_arrival(result.score, earlier, rung.keep, self.cfg.min_history)
            if not decision.promote:
                out.stopped = f"stopped after {rung.steps} steps: {decision.reason}"
                return

    def _confirm(self, runner: StageRunner, steps: int, score: float, earlier: list[float],
                 out: CascadeOutcome) -> None:
        top = self.cfg.confirm.top
        rank = 1 + sum(other > score for other in earlier)
        if top == 0 or self.cfg.confirm.seeds == 0 or rank > top:
            out.stopped = f"full fidelity reached (rank {rank} of {len(earlier) + 1})"
            return
        scores = [score]
        for extra in range(1, self.cfg.confirm.seeds + 1):
            result = runner.train(steps, self.seed + extra)
            out.stages.append(f"confirm@{steps}/seed{self.seed + extra}")
            if not result.ok or result.score is None:
                out.failed = f"confirmation seed {self.seed + extra}: {result.error}"
                return
            scores.append(result.score)
        out.confirmed = scores
        out.stopped = f"confirmed over {len(scores)} seeds: mean {np.mean(scores):.4g}, std {np.std(scores):.2g}"


def screened_features(encoding: Sequence[float], metrics: dict[str, Any] | None) -> FeatureRecord:
    """A candidate's features from its screen job's metrics (None: not screened, the encoding alone)."""
    metrics = metrics or {}
    return FeatureRecord(encoding=encoding,
                         cost={k: float(metrics[k]) for k in ("params", "flops") if metrics.get(k) is not None},
                         proxies=metrics.get("proxies") or {}, structure=metrics.get("structure") or {})

