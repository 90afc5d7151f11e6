"""The LLM planner as a contestant of the NAS-Bench-201 bench (GENIUS-style: the model sees the cells
evaluated so far with their validation accuracy and names the next cell).

Each query is one structured call (`CellAnswer`); an unknown operation, or a cell isomorphic to one
already evaluated, is re-asked with the reason, like every role's answer. A query whose answers never
validate falls back to a random cell and is counted, so a flaky endpoint shows in the figures instead
of stopping the bench; an endpoint that fails call after call (LLMEndpointError) ends the contestant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from archlab.agents.llm.calls import CallSite, LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.strategies.base import Observation, Suggestion
from archlab.bench.nb201 import CellDomain, cell_index
from archlab.spaces.nb201 import EDGES, OPS

SHOWN_BEST, SHOWN_RECENT = 30, 10  # history rows in the prompt: the best, then the latest not among them
SYSTEM = ("You are the planner of a neural architecture search on NAS-Bench-201. You reason from the results "
          "so far and answer with JSON only.")


class CellAnswer(BaseModel):
    cell: list[str] = Field(description=f"the operation of each of the six edges, in edge order; one of {OPS}")
    rationale: str = Field(default="", description="one sentence: why this cell")


@dataclass
class LLMCellPlanner:
    client: object  # an LLMClient
    budget: int
    epochs: int = 200
    name: str = "llm"
    fallbacks: int = 0
    calls: int = 0

    def suggest(self, history: Sequence[Observation], domain: CellDomain, rng: random.Random) -> Suggestion:
        seen = {o.key for o in history}
        table = domain.table

        def convert(answer: CellAnswer) -> int:
            if len(answer.cell) != len(EDGES):
                raise ValueError(f"a cell has {len(EDGES)} operations, one per edge; got {len(answer.cell)}")
            unknown = [op for op in answer.cell if op not in OPS]
            if unknown:
                raise ValueError(f"unknown operation(s) {', '.join(map(repr, unknown))}; use {', '.join(OPS)}")
            x = cell_index(answer.cell)
            if domain.key(x) in seen:
                raise ValueError(f"{', '.join(answer.cell)} is (equivalent to) a cell already evaluated: "
                                 "choose one not evaluated yet")
            return x

        self.calls += 1
        prompt = render("bench_nb201.j2", dataset=table.dataset, epochs=self.epochs, budget=self.budget,
                        left=self.budget - len(history), edges=EDGES, ops=OPS, evaluated=len(history),
                        **_history_rows(history, table))
        try:
            x = self.client.structured(CallSite(role="planner", step=len(history)), CellAnswer, prompt,
                                       system=SYSTEM, convert=convert)
        except LLMError as exc:
            self.fallbacks += 1
            return Suggestion(x=domain.sample(rng), parents=(), how=f"llm answer invalid ({exc}); a random cell")
        return Suggestion(x=x, parents=(), how="llm")


def _history_rows(history: Sequence[Observation], table) -> dict[str, list[dict]]:
    rows = [{"ops": [OPS[i] for i in table.ops[int(o.x)]], "val": float(o.score), "at": n}
            for n, o in enumerate(history) if o.score is not None]
    order = np.argsort([-r["val"] for r in rows], kind="stable")
    best = [rows[i] for i in order[:SHOWN_BEST]]
    shown = {r["at"] for r in best}
    recent = [r for r in rows[::-1] if r["at"] not in shown][:SHOWN_RECENT][::-1]
    return {"best": best, "recent": recent}
