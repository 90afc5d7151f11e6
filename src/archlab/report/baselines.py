"""The found architecture beside the hand-designed reference models (agents/evaluation/references.py): the
same recipe, fidelity and seeds, the run's objective on validation and test as mean ± s.d. over those seeds.

The best reference is the one with the best validation mean (the test split never chooses); the verdict says by
how much the found architecture is better or worse than it on test, and whether that is more than the seeds'
spread.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from archlab.report.blocks import Block, Code, Table
from archlab.report.run_view import RunView
from archlab.store import Candidate, Evaluation
from archlab.store.objective import ACCURACY, Objective

EMPTY = ("No reference models in this run (a built-in task has none by default; the setting evaluation.references "
         "names them, e.g. [fcn, resnet1d, gru]).")


@dataclass(frozen=True)
class Scores:
    candidate: Candidate
    seeds: list[int]
    val: list[float]
    test: list[float]

    @property
    def val_mean(self) -> float:
        return statistics.fmean(self.val)

    @property
    def test_mean(self) -> float:
        return statistics.fmean(self.test)

    @property
    def test_sd(self) -> float:
        return statistics.stdev(self.test) if len(self.test) > 1 else 0.0


def compare(view: RunView) -> tuple[int | None, Scores | None, list[Scores]]:
    """The comparison's fidelity, the search's best and every reference there, on the best's seeds."""
    best = view.leaderboard[0] if view.leaderboard else None
    fidelity = best[1].fidelity if best else None
    found = _scores(view, best[0], fidelity, None) if best else None
    return fidelity, found, [_scores(view, ref, fidelity, found.seeds if found else None)
                             for ref in view.references]


def baselines(view: RunView) -> Block:
    if not view.references:
        return Block("", empty=EMPTY)
    fidelity, found, refs = compare(view)
    rows = ([_row(found, "found (best of the search)")] if found else []) + [
        _row(s, "reference") if s.seeds else (Code(s.candidate.id), "reference", s.candidate.summary,
                                             _count(s.candidate.params), 0, "-",
                                             f"not trained: {s.candidate.reason or '-'}")
        for s in refs]
    table = Table.of(f"candidate, kind, architecture, params:, seeds:, {view.objective.short}:, "
                     f"{view.objective.test_short} (mean ± s.d.):", rows)
    seconds = sum(e.wall_s for e in view.reference_evaluations)
    intro = (f"Each model trained with the task's recipe for {fidelity} steps on the seeds the best candidate was "
             "trained on there, on the same splits." if fidelity else "No candidate of the search trained.")
    return Block("", table, intro=intro, notes=[n for n in (verdict(found, refs, view.objective),) if n]
                 + [f"The references took {seconds:.1f} s of sandbox time after the search, outside its budget."])


def verdict(found: Scores | None, refs: list[Scores], objective: Objective = ACCURACY) -> str | None:
    trained = [s for s in refs if s.seeds]
    if found is None or not trained:
        return None
    # chosen on validation, like the search's best
    ref = objective.best(trained, key=lambda s: s.val_mean)
    delta, spread = objective.improvement(found.test_mean, ref.test_mean), max(found.test_sd, ref.test_sd)
    n = len(found.seeds)
    size = ""
    if found.candidate.params and ref.candidate.params:
        size = f", with {found.candidate.params / ref.candidate.params:.2g}× its parameters"
    name = objective.label.removeprefix("validation ")
    if objective.minimize:
        side = "lower (better) than" if delta > 0 else "higher (worse) than"
    else:
        side = "above" if delta > 0 else "below"
    where = f"{abs(delta):.4f} test {name} {side}" if delta else "level on test with"
    noise = "more than" if abs(delta) > spread else "within"
    return (f"The found architecture is {where} the best reference by validation "
            f"({ref.candidate.summary.split(':')[0]}: {ref.test_mean:.4f}){size}; same recipe, {n} seed"
            f"{'s' if n != 1 else ''}: {noise} the seeds' spread ({spread:.4f}).")


def _scores(view: RunView, candidate: Candidate, fidelity: int | None, seeds: list[int] | None) -> Scores:
    rows = [e for e in _evaluations(view, candidate) if e.stage == "train" and e.status == "ok"
            and e.fidelity == fidelity and (seeds is None or e.seed in seeds)
            and view.objective.value(e.metrics) is not None]
    by_seed = {e.seed: e for e in rows}
    ordered = [by_seed[s] for s in sorted(by_seed)]
    test = [view.objective.value(e.metrics, "test") for e in ordered]
    return Scores(candidate=candidate, seeds=sorted(by_seed), val=[view.objective.value(e.metrics) for e in ordered],
                  test=[float("nan") if t is None else t for t in test])


def _evaluations(view: RunView, candidate: Candidate) -> list[Evaluation]:
    if candidate.origin == "reference":
        return [e for e in view.reference_evaluations if e.fingerprint == candidate.fingerprint]
    return view.evaluations_of(candidate)


def _row(s: Scores, kind: str) -> tuple:
    test = f"{s.test_mean:.4f} ± {s.test_sd:.4f}" if len(s.test) > 1 else f"{s.test_mean:.4f}"
    return (Code(s.candidate.id), kind, s.candidate.summary, _count(s.candidate.params), len(s.seeds),
            f"{s.val_mean:.4f}", test)


def _count(params: int | None) -> str:
    return "-" if params is None else f"{params:,}"
