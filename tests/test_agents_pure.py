import random

import pytest
from langgraph.graph import END

from archlab.agents.config import SearchConfig
from archlab.agents.graph import after_critic, after_plan
from archlab.agents.roles.analyst.offline import compare
from archlab.agents.roles.planner.offline import choose_plan, expected_step_s
from archlab.agents.state import Verdict
from archlab.store.objective import Objective


def test_explores_while_population_is_small():
    cfg = SearchConfig(init_population=3, explore_prob=0.0)
    plan = choose_plan([("a", 0.5), ("b", 0.6)], cfg, random.Random(0), "seq1d")
    assert plan.move == "explore" and plan.parents == []


def test_tournament_picks_the_best_entrant():
    population = [(f"c{i}", i / 10) for i in range(10)]
    cfg = SearchConfig(init_population=3, tournament_size=10, explore_prob=0.0)
    plan = choose_plan(population, cfg, random.Random(1), "seq1d")
    assert plan.move == "refine" and plan.parents == ["c9"]


def test_tournament_is_not_always_the_global_best():
    population = [(f"c{i}", i / 10) for i in range(10)]
    cfg = SearchConfig(init_population=3, tournament_size=2, explore_prob=0.0)
    parents = {choose_plan(population, cfg, random.Random(s), "seq1d").parents[0] for s in range(50)}
    assert len(parents) > 3 and "c0" not in parents  # c0 can never win a tournament of two


def test_routers():
    assert after_plan({"done": True}) == END
    assert after_plan({"done": False}) == "coder"
    for decision, route in (("accept", "evaluate"), ("reject", "planner"), ("revise", "coder")):
        assert after_critic({"verdict": Verdict(decision=decision, candidate_id="c1")}) == route


def test_analyst_compares_with_the_best_parent():
    insight = compare("child", ["p1", "p2"], {"child": 0.9, "p1": 0.8, "p2": 0.85})
    assert insight.parent_id == "p2" and abs(insight.delta - 0.05) < 1e-9
    assert "improved on p2" in insight.claim
    assert compare("child", [], {"child": 0.9}).delta is None
    assert compare("child", ["p1"], {"p1": 0.8}).delta is None  # child failed to train
    # bits per byte: lower is better; the best parent is the lowest, an improvement is a drop
    bpb = Objective("val_bpb", minimize=True)
    insight = compare("child", ["p1", "p2"], {"child": 3.5, "p1": 3.6, "p2": 3.55}, bpb)
    assert insight.parent_id == "p2" and insight.delta == pytest.approx(0.05)
    assert "improved on p2" in insight.claim
    assert compare("child", ["p1"], {"child": 3.7, "p1": 3.6}, bpb).delta == pytest.approx(-0.1)


class Ev:
    def __init__(self, wall_s):
        self.wall_s = wall_s


def test_expected_step_time_is_a_robust_median():
    assert expected_step_s([]) == 0.0
    assert abs(expected_step_s([Ev(10), Ev(12), Ev(500)]) - 13.2) < 1e-9
