"""Several models for one role: a Thompson-sampling bandit learns which yields accepted, improving
candidates per unit cost, from what the run's store already holds (so a resumed run keeps learning).

A trial is one (step, attempt) a model worked on for a role, its cost every call it made there. Success:
- planner and coder: the candidate of that step and attempt was trained and did not fall behind its
  parent (a fresh exploration that trains counts); rejected, failed and worse-than-parent do not;
  a candidate not decided yet is no trial yet.
- critic and analyst: the call gave a valid answer.
The choice samples each model's success rate from Beta(1 + successes, 1 + failures) and divides it by
the model's mean cost per trial (dollars when prices are set, else tokens); a model never tried goes
first. The draw is seeded by (run, role, step, attempt): a resumed step makes the same choice.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from archlab.agents.llm.calls import CallSite
from archlab.agents.llm.config import LLMConfig
from archlab.agents.roles.critic.offline import candidate_id
from archlab.store import agent_log
from archlab.store import records as store
from archlab.store.models import Candidate

JUDGED_BY_CANDIDATE = ("planner", "coder")


@dataclass
class Arm:
    model: str
    trials: int = 0
    successes: int = 0
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def unit_cost(self, in_dollars: bool) -> float:
        spent = self.cost_usd if in_dollars else float(self.tokens)
        return spent / max(self.trials, 1)


class ModelBandit:
    def __init__(self, engine: Engine, run_id: str, cfg: LLMConfig) -> None:
        self.engine, self.run_id, self.cfg = engine, run_id, cfg

    def choose(self, site: CallSite) -> str:
        arms = arm_stats(self.engine, self.run_id, site.role, self.cfg.models_of(site.role))
        untried = [a for a in arms if a.trials == 0]
        if untried:
            return untried[0].model
        rng = random.Random(f"{self.run_id}:{site.role}:{site.step}:{site.attempt}:model")
        in_dollars = any(a.cost_usd > 0 for a in arms)
        cheapest = min(a.unit_cost(in_dollars) for a in arms) or 1.0

        def value(arm: Arm) -> float:
            rate = rng.betavariate(1 + arm.successes, 1 + arm.trials - arm.successes)
            return rate / max(arm.unit_cost(in_dollars) / cheapest, 1e-9)

        return max(arms, key=value).model


def arm_stats(engine: Engine, run_id: str, role: str, models: list[str]) -> list[Arm]:
    """Each model's trials, successes and spending for the role in this run (only the models listed)."""
    arms = {m: Arm(model=m) for m in models}
    with Session(engine) as session:
        calls = [c for c in agent_log.run_calls(session=session, run_id=run_id) if c.role == role and c.model in arms]
        outcomes = _candidate_outcomes(session, run_id, calls) if role in JUDGED_BY_CANDIDATE else None
    trials: dict[tuple[str, int, int], list[bool]] = defaultdict(list)
    for call in calls:
        arm = arms[call.model]
        arm.calls += 1
        arm.tokens += call.prompt_tokens + call.completion_tokens
        arm.cost_usd += call.cost_usd
        key = (call.model, call.step, call.attempt) if outcomes is not None else (call.model, call.id, 0)
        trials[key].append(outcomes.get((call.step, call.attempt)) if outcomes is not None else call.status == "ok")
    for (model, *_), results in trials.items():
        if results[-1] is None:  # the candidate is not decided yet: not a trial so far
            continue
        arms[model].trials += 1
        arms[model].successes += bool(results[-1])
    return list(arms.values())


def _candidate_outcomes(session: Session, run_id: str, calls) -> dict[tuple[int, int], bool | None]:
    outcomes: dict[tuple[int, int], bool | None] = {}
    for step, attempt in {(c.step, c.attempt) for c in calls}:
        cand = store.get_candidate(session=session, candidate_id=candidate_id(run_id, step, attempt))
        outcomes[(step, attempt)] = _success(cand)
    return outcomes


def _success(cand: Candidate | None) -> bool | None:
    if cand is None or cand.status in ("proposed", "accepted"):
        return None
    if cand.status != "evaluated":
        return False
    return cand.parent_delta is None or cand.parent_delta >= 0
