"""The report's morning summary, computed from a RunView: what was tried, what worked, what was learned,
what it cost, and what the system would try next (next_steps)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from archlab.memory.concept_store import RunChange
from archlab.report.next_steps import NextStep, next_steps
from archlab.report.run_view import RunView, move_of
from archlab.store import Candidate

STATUSES = ("evaluated", "rejected", "failed", "accepted", "proposed")


@dataclass(frozen=True)
class MoveRow:
    """Candidates made one way (origin and move) and what became of them."""

    origin: str
    move: str
    proposed: int
    trained: int
    rejected: int
    failed: int
    best: float | None


@dataclass(frozen=True)
class Outcome:
    best: Candidate
    best_score: float
    best_test: float | None
    first: Candidate  # the first candidate that trained
    first_score: float
    median: float  # over every trained candidate
    trained: int
    metric: str = "validation accuracy"  # the objective the scores are of
    over_first: float = 0.0  # how much better the best is than the first (positive: better, the metric's units)
    over_median: float = 0.0


@dataclass(frozen=True)
class StageCost:
    stage: str
    runs: int
    ok: int
    seconds: float


@dataclass(frozen=True)
class Cost:
    used_s: float
    budget_s: float | None
    max_evals: int | None
    stages: list[StageCost]
    sandbox_s: float
    llm_calls: int
    tokens: int
    usd: float
    llm_s: float


@dataclass(frozen=True)
class Summary:
    statuses: dict[str, int]
    moves: list[MoveRow]
    outcome: Outcome | None
    learned: list[RunChange]
    cost: Cost
    next_steps: list[NextStep]


def summarise(view: RunView) -> Summary:
    counts = Counter(c.status for c in view.candidates)
    statuses = {s: counts.pop(s) for s in STATUSES if s in counts} | dict(sorted(counts.items()))
    return Summary(statuses=statuses, moves=move_rows(view), outcome=outcome(view), learned=view.changes,
                   cost=cost(view), next_steps=next_steps(view))


def move_rows(view: RunView) -> list[MoveRow]:
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for cand in view.candidates:
        groups.setdefault((cand.origin, move_of(cand)), []).append(cand)
    rows = []
    for (origin, move), cands in sorted(groups.items()):
        scores = [view.scores[c.id] for c in cands if c.id in view.scores]
        rows.append(MoveRow(origin=origin, move=move, proposed=len(cands),
                            trained=sum(c.id in view.scores for c in cands),
                            rejected=sum(c.status == "rejected" for c in cands),
                            failed=sum(c.status == "failed" for c in cands),
                            best=view.objective.best(scores)))
    return rows


def outcome(view: RunView) -> Outcome | None:
    if not view.leaderboard:
        return None
    best, best_eval = view.leaderboard[0]
    first = next(c for c in view.candidates if c.id in view.scores)
    objective, scores = view.objective, view.scores
    median = statistics.median(scores.values())
    return Outcome(best=best, best_score=scores[best.id], best_test=objective.value(best_eval.metrics, "test"),
                   first=first, first_score=scores[first.id], median=median, trained=len(scores),
                   metric=f"{objective.label} ({objective.direction})",
                   over_first=objective.improvement(scores[best.id], scores[first.id]),
                   over_median=objective.improvement(scores[best.id], median))


def cost(view: RunView) -> Cost:
    stages: dict[str, list] = {}
    for ev in view.evaluations:
        stages.setdefault(ev.stage, []).append(ev)
    rows = [StageCost(stage=s, runs=len(evs), ok=sum(e.status == "ok" for e in evs), seconds=sum(e.wall_s for e in evs))
            for s, evs in stages.items()]
    tokens, usd, llm_s = view.usage
    return Cost(used_s=view.run.used_s, budget_s=view.run.budget_s, max_evals=view.run.max_evals, stages=rows,
                sandbox_s=sum(r.seconds for r in rows), llm_calls=len(view.calls), tokens=tokens, usd=usd,
                llm_s=llm_s)
