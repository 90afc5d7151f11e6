"""The NAS-Bench-201 search benchmark, simulated on the table: a query is a lookup, so a strategy's 300
queries take milliseconds and a fair comparison can afford many seeds.

Protocol (Dong and Yang 2020; "NAS evaluation is frustratingly hard", Yang et al. 2020): a strategy
sees only the validation accuracy (`<dataset>_val200`, or `<dataset>_val12` as the low fidelity); after
k queries the selected cell is the one with the best validation accuracy so far, and what is reported is
its `<dataset>_test200`. A query of a cell isomorphic to one already queried is refused without counting,
as the critic of a run refuses a duplicate before spending anything on it; every strategy gets that.

The cells here are the same space as the `nb201` grammar (its six edge parameters), held as indices
0..15624 (op k on edge e contributes k·5^(5-e), ops in the order of `archlab.spaces.nb201.OPS`) so
that neighbours and features are array lookups. The zero-cost prior is the network's parameter count,
which the build stage of a run measures before any training: NAS-Bench-201's network (C=16, N=5) has
72,656 + 65·classes + 243,040·(3x3 convs) + 28,000·(1x1 convs) parameters.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from archlab.agents.strategies.base import Observation, Strategy
from archlab.errors import InfraError
from archlab.evaluator.tasks.nb201 import load_table
from archlab.spaces.nb201 import OPS, parse_arch_string

DATASETS = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
CELLS = 5**6
POWERS = 5 ** np.arange(5, -1, -1)  # edge e's op index weighs 5^(5-e)
CONV3, CONV1 = OPS.index("nor_conv_3x3"), OPS.index("nor_conv_1x1")


@dataclass(frozen=True)
class Nb201Table:
    """One dataset's columns of nb201.csv, indexed by cell index."""

    dataset: str
    ops: np.ndarray  # (15625, 6) op index per edge
    keys: tuple[str, ...]  # canonical form per cell (isomorphic cells share it)
    val: dict[int, np.ndarray]  # epochs -> validation accuracy (%)
    test: np.ndarray  # 200-epoch test accuracy (%)
    latency: np.ndarray  # ms on the FPGA of the table, for the cost axis of the Pareto figures

    @classmethod
    def load(cls, path: Path, dataset: str) -> Nb201Table:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
        rows = load_table(path)
        index = np.empty(CELLS, dtype=np.int64)
        ops = np.empty((CELLS, 6), dtype=np.int64)
        by_index = sorted(rows.values(), key=lambda r: cell_index(parse_arch_string(r["arch"])))
        for i, row in enumerate(by_index):
            cell = [OPS.index(op) for op in parse_arch_string(row["arch"])]
            ops[i], index[i] = cell, int((np.array(cell) * POWERS).sum())
        if not np.array_equal(index, np.arange(CELLS)):
            raise ValueError(f"{path} does not hold each of the {CELLS} cells exactly once")

        def column(name: str) -> np.ndarray:
            return np.array([float(r[name]) for r in by_index])

        return cls(dataset=dataset, ops=ops, keys=tuple(r["canonical"] for r in by_index),
                   val={200: column(f"{dataset}_val200"), 12: column(f"{dataset}_val12")},
                   test=column(f"{dataset}_test200"), latency=column("latency_fpga_ms"))

    @cached_property
    def params(self) -> np.ndarray:
        n3, n1 = (self.ops == CONV3).sum(axis=1), (self.ops == CONV1).sum(axis=1)
        return 72_656 + 65 * DATASETS[self.dataset] + 243_040 * n3 + 28_000 * n1

    @cached_property
    def neighbour_table(self) -> np.ndarray:
        """(15625, 24): every cell one edge change away, in (edge, op) order."""
        cols = []
        for edge in range(6):
            digit = self.ops[:, edge]
            for step in range(1, 5):
                cols.append(np.arange(CELLS) + ((digit + step) % 5 - digit) * POWERS[edge])
        return np.stack(cols, axis=1)

    @cached_property
    def one_hot(self) -> np.ndarray:
        return np.eye(5)[self.ops].reshape(CELLS, 30)


def cell_index(cell: Sequence[str]) -> int:
    return int(sum(OPS.index(op) * int(p) for op, p in zip(cell, POWERS, strict=True)))


@dataclass
class CellDomain:
    """The nb201 space over cell indices (see the module docstring)."""

    table: Nb201Table

    def sample(self, rng: random.Random) -> int:
        return rng.randrange(CELLS)

    def mutate(self, x: int, rng: random.Random) -> int:
        return int(self.table.neighbour_table[x, rng.randrange(24)])

    def neighbours(self, x: int) -> list[int]:
        return self.table.neighbour_table[x].tolist()

    def key(self, x: int) -> str:
        return self.table.keys[x]

    def features(self, xs: Sequence[int]) -> np.ndarray:
        idx = np.asarray(xs, dtype=np.int64)
        return np.hstack([self.table.one_hot[idx], np.log(self.table.params[idx])[:, None]])

    def prior(self, xs: Sequence[int]) -> np.ndarray:
        return np.log(self.table.params[np.asarray(xs, dtype=np.int64)])


@dataclass(frozen=True)
class Trace:
    """One search: the cells queried, in order, and what the protocol reports after each query."""

    strategy: str
    seed: int
    queried: list[int]
    selected_test: list[float]  # test200 of the best-validation cell after 1, 2, ... queries
    selected_val: list[float]

    def at(self, budget: int) -> float:
        return self.selected_test[min(budget, len(self.selected_test)) - 1]


def simulate(strategy: Strategy, table: Nb201Table, *, budget: int, seed: int, epochs: int = 200) -> Trace:
    """Run `strategy` for `budget` queries of the table, selecting on the validation accuracy at `epochs`."""
    domain, rng, val = CellDomain(table), random.Random(seed), table.val[epochs]
    history: list[Observation] = []
    seen: set[str] = set()
    refused = 0
    while len(history) < budget and refused < 1000:
        suggestion = strategy.suggest(history, domain, rng)
        x = int(suggestion.x)
        key = domain.key(x)
        if key in seen:  # the critic would refuse it: nothing spent
            refused += 1
            continue
        seen.add(key)
        history.append(Observation(ident=str(x), key=key, x=x, score=float(val[x]), parents=suggestion.parents,
                                   cost=float(table.params[x])))
    queried = [o.x for o in history]
    best = np.maximum.accumulate(val[queried])
    chosen = [queried[int(np.argmax(val[queried[:k + 1]]))] for k in range(len(queried))]
    return Trace(strategy=strategy.name, seed=seed, queried=queried,
                 selected_test=[float(table.test[c]) for c in chosen], selected_val=[float(v) for v in best])


def run_seeds(make: Callable[[int], Strategy], table: Nb201Table, *, budget: int, seeds: Sequence[int],
              epochs: int = 200, on_trace: Callable[[Trace], None] | None = None) -> list[Trace]:
    traces = []
    for seed in seeds:
        trace = simulate(make(seed), table, budget=budget, seed=seed, epochs=epochs)
        traces.append(trace)
        if on_trace:
            on_trace(trace)
    return traces


def optimum(table: Nb201Table, epochs: int = 200) -> tuple[float, float]:
    """(test200 of the best-validation cell, best test200 of any cell)."""
    return float(table.test[int(np.argmax(table.val[epochs]))]), float(table.test.max())


def standard_error(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def hypervolume_curve(trace: Trace, table: Nb201Table, budgets: Sequence[int], epochs: int = 200) -> list[float]:
    """Hypervolume of (validation accuracy, params) of the cells queried after each budget: accuracy as a
    fraction, params as a fraction of the largest network's, reference point (0, 1.05)."""
    from archlab.agents.strategies.pareto import hypervolume

    score = table.val[epochs] / 100
    cost = table.params / table.params.max()
    out = []
    for b in budgets:
        cells = trace.queried[:b]
        out.append(hypervolume([(float(score[c]), float(cost[c])) for c in cells], 0.0, 1.05))
    return out


@dataclass(frozen=True)
class BenchSettings:
    budget: int = 300
    seeds: int = 20
    epochs: int = 200
    strategies: tuple[str, ...] = ("random", "evolution", "local", "bananas", "pareto")
    init: int = 10  # cold-start results before the predictor is fitted
    population: int = 20
    tournament: int = 5
    members: tuple[str, ...] = ("ridge",)
    acquisition: str = "ucb"
    kappa: float = 0.5
    refit_fraction: float = 0.1
    llm_seeds: int = 3  # the LLM planner's searches (one call per query): fewer than the offline strategies'


def strategy_factory(name: str, cfg: BenchSettings) -> Callable[[int], Strategy]:
    from archlab.agents.strategies import make_strategy

    def make(seed: int) -> Strategy:
        return make_strategy(name, init=cfg.init, population=cfg.population, tournament=cfg.tournament,
                             members=cfg.members, acquisition=cfg.acquisition, kappa=cfg.kappa,
                             refit_fraction=cfg.refit_fraction, seed=seed)

    return make


def bench_dataset(table: Nb201Table, cfg: BenchSettings, on_trace: Callable[[Trace], None] | None = None,
                  llm: Callable[[int], Strategy] | None = None) -> dict:
    """Every strategy on seeds 0..seeds-1, and the LLM planner (`llm`, a factory of seed) on seeds
    0..llm_seeds-1 where given: raw traces and the summary per budget, as plain JSON data."""
    from archlab.bench.summary import budgets_upto

    budgets = budgets_upto(cfg.budget)
    selected, best_possible = optimum(table, cfg.epochs)
    out: dict = {"dataset": table.dataset, "epochs": cfg.epochs, "budgets": budgets,
                 "optimum": {"test_of_best_val": selected, "best_test": best_possible}, "strategies": {}}
    contestants = [(name, strategy_factory(name, cfg), range(cfg.seeds)) for name in cfg.strategies]
    if llm is not None:
        contestants.append(("llm", llm, range(min(cfg.llm_seeds, cfg.seeds))))
    for name, make, seeds in contestants:
        made: list[Strategy] = []

        def tracked(seed: int, make=make, made=made) -> Strategy:
            made.append(make(seed))
            return made[-1]

        try:
            traces = run_seeds(tracked, table, budget=cfg.budget, seeds=seeds, epochs=cfg.epochs, on_trace=on_trace)
        except InfraError as exc:  # e.g. the LLM endpoint went away: the other contestants' figures stand
            out.setdefault("failed", {})[name] = str(exc)
            continue
        out["strategies"][name] = _contestant(traces, table, budgets, cfg.epochs)
        if name == "llm":
            out["strategies"][name]["llm"] = {"calls": sum(s.calls for s in made),
                                              "fallbacks": sum(s.fallbacks for s in made)}
    return out


def _contestant(traces: list[Trace], table: Nb201Table, budgets: list[int], epochs: int) -> dict:
    from archlab.bench.summary import curve_summary

    hv = [hypervolume_curve(t, table, budgets, epochs) for t in traces]
    return {"summary": curve_summary([t.selected_test for t in traces], budgets),
            "hypervolume": {str(b): float(np.mean([h[i] for h in hv])) for i, b in enumerate(budgets)},
            "seeds": [t.seed for t in traces],
            "selected_test": [t.selected_test for t in traces],
            "queried": [t.queried for t in traces]}
