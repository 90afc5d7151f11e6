"""What every search strategy works with: the history it learns from, the domain it searches, and the
suggestion it returns.

A strategy is a pure function of the history (plus a seeded rng): it keeps no state between calls that
the history does not hold, so a resumed run, or a benchmark replay, makes the same choices. The domain
hides the representation: a derivation tree of a grammar in a run (`GrammarDomain`), six op indices of
a NAS-Bench-201 cell in the tabular benchmark (`archlab.bench.nb201.CellDomain`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Observation:
    ident: str  # the candidate's id in a run; the architecture key in a benchmark
    key: str  # the architecture, canonical: equal for derivations that build the same network
    x: Any  # the architecture itself, in the domain's representation
    score: float | None  # higher is better; None when the candidate failed
    parents: tuple[str, ...] = ()  # idents of the parents it was derived from
    cost: float | None = None  # a cost to minimise beside the score (params, FLOPs, latency)


@dataclass(frozen=True)
class Suggestion:
    x: Any
    parents: tuple[str, ...]  # idents of the observations it was derived from; () for a fresh sample
    how: str  # one line saying why this one: the move, and what the predictor expected


class Domain(Protocol):
    """The search space as a strategy sees it."""

    def sample(self, rng: random.Random) -> Any: ...

    def mutate(self, x: Any, rng: random.Random) -> Any: ...

    def neighbours(self, x: Any) -> list[Any]:
        """The architectures one small change away, the same list on every call (local search walks it)."""
        ...

    def key(self, x: Any) -> str: ...

    def features(self, xs: Sequence[Any]) -> np.ndarray:
        """One row per architecture, the same columns for every call (the predictor's inputs)."""
        ...

    def prior(self, xs: Sequence[Any]) -> np.ndarray | None:
        """A zero-cost score per architecture (higher looks better), or None when the domain has none."""
        ...


class Strategy(Protocol):
    name: str

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        """The next architecture to evaluate: never one whose key is in the history, when it can help it."""
        ...


def scored(history: Sequence[Observation]) -> list[Observation]:
    """The observations with a score, in the order they were made."""
    return [o for o in history if o.score is not None]


def children_count(history: Sequence[Observation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for obs in history:
        for parent in obs.parents:
            counts[parent] = counts.get(parent, 0) + 1
    return counts


def fresh(domain: Domain, rng: random.Random, seen: set[str], tries: int = 64) -> Any:
    """A sample whose key is not in `seen` (the last one drawn if every try was seen: the space is small)."""
    x = domain.sample(rng)
    for _ in range(tries):
        if domain.key(x) not in seen:
            return x
        x = domain.sample(rng)
    return x


def new_child(domain: Domain, parent: Any, rng: random.Random, seen: set[str], tries: int = 32) -> Any | None:
    """A mutation of `parent` whose key is not in `seen`, or None when `tries` mutations found none."""
    for _ in range(tries):
        child = domain.mutate(parent, rng)
        if domain.key(child) not in seen:
            return child
    return None


def sample_pool(domain: Domain, rng: random.Random, seen: set[str], size: int) -> list[Any]:
    """Up to `size` distinct fresh samples not in `seen` (fewer when the space runs out)."""
    pool: dict[str, Any] = {}
    for _ in range(size * 3):
        x = domain.sample(rng)
        key = domain.key(x)
        if key not in seen:
            pool.setdefault(key, x)
            if len(pool) >= size:
                break
    return list(pool.values())


def best_by_prior(domain: Domain, pool: list[Any], rng: random.Random) -> tuple[Any, str]:
    """The pool member the zero-cost prior likes most; a random one when the domain has no prior."""
    values = domain.prior(pool)
    if values is None:
        return pool[rng.randrange(len(pool))], "fresh sample"
    best = int(np.argmax(values))
    return pool[best], f"fresh sample, best zero-cost prior of {len(pool)} ({values[best]:.2f})"
