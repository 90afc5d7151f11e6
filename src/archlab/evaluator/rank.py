"""Rank fidelity: how well each stage of the cascade ranks candidates the way the next stage does.

For a run, the stages are: every zero-cost proxy (`proxy:<name>`), the predictor (`predicted`), training
at each fidelity (`train@<steps>`, first seed) and the multi-seed confirmation (`confirmed`, the mean
over seeds). Each proxy and the predictor are compared with the lowest training fidelity (what they
stand in for), each fidelity with the next, the highest with the confirmation: Kendall's tau and
Spearman's rho over the candidates both stages measured (scipy.stats), reported for pairs with at
least MIN_PAIRS candidates.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from scipy.stats import kendalltau, spearmanr

MIN_PAIRS = 3


class EvaluationLike(Protocol):
    candidate_id: str
    stage: str
    fidelity: int
    seed: int
    status: str
    metrics: dict[str, Any]


def correlation(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(Kendall tau, Spearman rho); NaN when either side is constant."""
    if len(a) < 2 or len(set(a)) < 2 or len(set(b)) < 2:
        return math.nan, math.nan
    return float(kendalltau(a, b).statistic), float(spearmanr(a, b).statistic)


def stage_scores(evaluations: Iterable[EvaluationLike], score: Callable[[dict[str, Any]], float]
                 ) -> dict[str, dict[str, float]]:
    """{stage label: {candidate id: score}}; `score` turns a scored train result into higher-is-better."""
    stages: dict[str, dict[str, float]] = defaultdict(dict)
    seeds: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    for ev in evaluations:
        if ev.status != "ok":
            continue
        if ev.stage == "screen":
            for name, value in (ev.metrics.get("proxies") or {}).items():
                if value is not None and math.isfinite(value):
                    stages[f"proxy:{name}"][ev.candidate_id] = float(value)
        elif ev.stage == "predict" and ev.metrics.get("score") is not None:
            stages["predicted"][ev.candidate_id] = float(ev.metrics["score"])
        elif ev.stage == "train":
            try:
                seeds[(ev.candidate_id, ev.fidelity)][ev.seed] = score(ev.metrics)
            except (KeyError, TypeError, ValueError):
                continue
    fidelities = sorted({fid for _, fid in seeds})
    for (cid, fid), by_seed in seeds.items():
        stages[f"train@{fid}"][cid] = by_seed[min(by_seed)]
        if fid == fidelities[-1] and len(by_seed) > 1:
            stages["confirmed"][cid] = sum(by_seed.values()) / len(by_seed)
    return dict(stages)


def stage_pairs(labels: Iterable[str]) -> list[tuple[str, str]]:
    labels = set(labels)
    trains = sorted((label for label in labels if label.startswith("train@")), key=lambda s: int(s.split("@")[1]))
    if not trains:
        return []
    pairs = [(label, trains[0]) for label in sorted(labels) if label.startswith("proxy:")]
    if "predicted" in labels:
        pairs.append(("predicted", trains[0]))
    pairs += list(zip(trains, trains[1:], strict=False))
    if "confirmed" in labels:
        pairs.append((trains[-1], "confirmed"))
    return pairs


def rank_fidelity(stages: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per compared pair of stages with enough candidates in common."""
    rows = []
    for first, second in stage_pairs(stages):
        common = sorted(stages[first].keys() & stages[second].keys())
        if len(common) < MIN_PAIRS:
            continue
        tau, rho = correlation([stages[first][c] for c in common], [stages[second][c] for c in common])
        rows.append({"from": first, "to": second, "candidates": len(common), "kendall": tau, "spearman": rho})
    return rows
