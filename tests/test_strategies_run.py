"""A strategy inside a run: the store's candidates become its history, its choice the planner's Plan, and
the coder compiles exactly that derivation. Real SQLite; no sandbox job is needed for these steps."""

from __future__ import annotations

import random
import types

import pytest

from archlab.agents.config import SearchConfig
from archlab.agents.context import RunContext
from archlab.agents.roles.coder.offline import code
from archlab.agents.strategies.step import run_history, strategy_plan
from archlab.errors import ConfigError
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.tasks import get_task
from archlab.run.settings import load_config
from archlab.run.space_choice import space_for
from archlab.sandbox.base import Limits
from archlab.spaces import load_space
from archlab.spaces.nb201 import from_arch_string, tree_to_cell
from archlab.store import Candidate, Evaluation, Run, open_store, sqlite_url
from archlab.store import records as store

CELLS = {  # (cell, validation accuracy)
    "c1": ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", 0.91),
    "c2": ("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|", 0.40),
    "c3": ("|skip_connect~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|", 0.85),
}


@pytest.fixture()
def ctx(tmp_path):
    engine = open_store(sqlite_url(tmp_path / "archlab.db"))
    space = load_space("nb201")
    with store_session(engine) as session:
        store.add_run(session=session, run=Run(id="r1", task="nb201-cifar10", space="nb201", config={},
                                               budget_s=None, max_evals=10))
        for cid, (arch, val) in CELLS.items():
            tree = from_arch_string(arch)
            store.upsert_candidate(session=session, candidate=Candidate(
                id=cid, run_id="r1", step=0, origin="sample", source=space.compile(tree), derivation=tree.to_dict(),
                derivation_hash=space.canonical(tree), summary=space.summary(tree), fingerprint=f"f-{cid}",
                params=100_000, status="evaluated"))
            store.add_evaluation(session=session, evaluation=Evaluation(
                candidate_id=cid, run_id="r1", fingerprint=f"f-{cid}", task="nb201-cifar10", stage="train",
                fidelity=200, seed=0, status="ok", metrics={"val_acc": val, "test_acc": val}))
    search = SearchConfig(strategy="local", init_population=3)
    return RunContext(run_id="r1", engine=engine, sandbox=None, task=get_task("nb201-cifar10"), space=space,
                      search=search, evaluation=EvaluationConfig(predictor={"members": ["ridge"]}), limits=Limits(),
                      cache_dir=tmp_path)


def store_session(engine):
    from sqlmodel import Session

    return Session(engine)


def test_history_holds_every_candidate_with_its_score(ctx):
    history = run_history(ctx)
    assert [(o.ident, o.score) for o in history] == [(cid, val) for cid, (_, val) in CELLS.items()]


def test_local_search_plans_a_neighbour_of_the_incumbent_and_the_coder_compiles_it(ctx):
    plan = strategy_plan(ctx, random.Random(0))
    assert plan.move == "refine" and plan.parents == ["c1"] and plan.hypothesis.startswith("local: neighbour")
    best = tree_to_cell(from_arch_string(CELLS["c1"][0]))
    chosen = tree_to_cell(ctx.space.load_tree(plan.derivation))
    assert sum(a != b for a, b in zip(best, chosen, strict=True)) == 1
    update = code({"plan": plan.model_dump(), "step": 1, "attempt": 0}, types.SimpleNamespace(context=ctx))
    proposal = update["proposal"]
    assert proposal.derivation == plan.derivation and proposal.origin == "mutate"
    assert proposal.parents == ["c1"] and "strategy local" in proposal.rationale


@pytest.mark.parametrize("name", ["random", "evolution", "bananas", "pareto"])
def test_every_strategy_plans_a_new_derivation(ctx, name):
    ctx.search = SearchConfig(strategy=name, init_population=2, population=2)
    plan = strategy_plan(ctx, random.Random(1))
    assert ctx.space.canonical(ctx.space.load_tree(plan.derivation)) not in {o.key for o in run_history(ctx)}


def test_the_strategy_setting_is_checked():
    assert load_config(None, {"max_evals": 3, "search": {"strategy": "bananas"}}).search.strategy == "bananas"
    assert load_config(None, {"max_evals": 3, "task": "nb201-cifar10"}).space == "auto"
    assert space_for(get_task("nb201-cifar10")) == "nb201"  # what auto picks: the only space it fits
    with pytest.raises(ConfigError, match="search.strategy"):
        load_config(None, {"max_evals": 3, "search": {"strategy": "annealing"}})
