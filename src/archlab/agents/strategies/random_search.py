"""Random search: a fresh sample every time, never one already evaluated (Li and Talwalkar 2019: the
baseline a NAS method has to beat under the same protocol)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from archlab.agents.strategies.base import Domain, Observation, Suggestion, fresh


@dataclass
class RandomSearch:
    name: str = "random"

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        return Suggestion(fresh(domain, rng, {o.key for o in history}), (), "fresh sample")
