"""Cap-aware drawing: under a parameter cap the offline coder skips draws the run's own builds say are too big.

Real store, real seq1d derivations; each "built" candidate's params are counted by building its compiled
source here (the sandbox is not the subject), as the critic's build job would.
"""

import dataclasses
import random

import pytest
from langgraph.runtime import Runtime
from sqlmodel import Session

from archlab.agents.config import SearchConfig
from archlab.agents.context import RunContext
from archlab.agents.param_cap import DRAWS, MIN_BUILT, capped_draw, estimate
from archlab.agents.roles.coder.offline import code
from archlab.agents.roles.planner.offline import plan
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.tasks import get_task
from archlab.run.workspace import Workspace
from archlab.sandbox.base import Limits
from archlab.spaces import load_space
from archlab.store import Candidate, Run
from archlab.store import records as store

SPACE = load_space("seq1d")
TASK = get_task("mnist1d")
CAP = 5209  # bench mnist1d's CNN


def params_of(tree) -> int:
    namespace: dict = {}
    exec(compile(SPACE.compile(tree), "candidate.py", "exec"), namespace)
    return sum(p.numel() for p in namespace["build_model"](TASK.spec).parameters())


@pytest.fixture(scope="module")
def built():
    """40 fresh samples with their real parameter counts."""
    rng = random.Random(7)
    trees = [SPACE.sample(rng) for _ in range(40)]
    return [(tree, params_of(tree)) for tree in trees]


def context(tmp_path, built, cap=CAP, count=None):
    ws = Workspace(root=tmp_path / "ws")
    with Session(ws.engine) as s:
        store.add_run(session=s, run=Run(id="r", task="mnist1d", space="seq1d", max_evals=100))
        for i, (tree, params) in enumerate(built[:count]):
            store.upsert_candidate(session=s, candidate=Candidate(
                id=f"c{i}", run_id="r", origin="sample", source="src", summary=SPACE.summary(tree),
                status="accepted" if params <= cap else "rejected", params=params, derivation=tree.to_dict()))
    task = dataclasses.replace(TASK, spec=TASK.spec.model_copy(update={"max_params": cap}))
    return RunContext(run_id="r", engine=ws.engine, sandbox=None, task=task, space=SPACE,
                      search=SearchConfig(), evaluation=EvaluationConfig(), limits=Limits(),
                      cache_dir=ws.cache_dir, max_evals=100)


def sampler(rng, extra):
    """The coder's draw: the usual stream first, its own stream for redraws."""
    return lambda skipped: SPACE.sample(extra if skipped else rng)


def test_most_fresh_samples_exceed_the_cap(built):
    assert sum(p > CAP for _, p in built) / len(built) > 0.5  # why the estimate is worth having


def test_without_enough_builds_or_an_oversize_one_the_draw_is_the_usual_one(tmp_path, built):
    few = context(tmp_path / "few", built, count=MIN_BUILT - 1)
    roomy = context(tmp_path / "roomy", built, cap=10**9)
    for ctx in (few, roomy):
        assert estimate(ctx) is None
        tree, note = capped_draw(ctx, sampler(random.Random(3), random.Random(4)), lambda t: t)
        assert note is None and SPACE.canonical(tree) == SPACE.canonical(SPACE.sample(random.Random(3)))


def test_capped_draws_fit_the_cap_far_more_often(tmp_path, built):
    ctx = context(tmp_path, built)
    model = estimate(ctx)
    assert model is not None
    plain, capped, notes = [], [], 0
    for seed in range(30):
        plain.append(params_of(SPACE.sample(random.Random(1000 + seed))) <= CAP)
        tree, note = capped_draw(ctx, sampler(random.Random(1000 + seed), random.Random(seed)), lambda t: t)
        capped.append(params_of(tree) <= CAP)
        notes += note is not None
    assert sum(capped) >= sum(plain) + 5, (sum(plain), sum(capped))  # 8 -> 15 of 30 when measured
    assert notes >= 10  # the draws it replaced are said so


def test_when_every_draw_looks_too_big_the_smallest_is_proposed(tmp_path, built):
    ctx = context(tmp_path, built, cap=2)  # nothing fits two parameters
    tree, note = capped_draw(ctx, sampler(random.Random(0), random.Random(1)), lambda t: t)
    assert note is not None and f"all {DRAWS} draws" in note and "smallest" in note
    model = estimate(ctx)
    extra = random.Random(1)
    options = [SPACE.sample(random.Random(0)), *(SPACE.sample(extra) for _ in range(DRAWS - 1))]
    assert model.params(tree) == pytest.approx(min(model.params(t) for t in options))


def test_the_coder_says_what_it_skipped(tmp_path, built):
    ctx = context(tmp_path, built)
    rationales = []
    for step in range(6):
        state = {"step": step, "attempt": 0,
                 "plan": {"move": "explore", "hypothesis": "a fresh sample", "space": "seq1d"}}
        rationales.append(code(state, Runtime(context=ctx))["proposal"].rationale)
    assert any("skipped as likely above the 5,209-parameter cap" in r for r in rationales), rationales


def test_a_strategy_is_asked_again_with_its_oversize_suggestions_told_as_rejected(tmp_path, built):
    ctx = dataclasses.replace(context(tmp_path, built), search=SearchConfig(strategy="random"), seed=5)
    hypotheses, fits = [], []
    for step in range(12):
        chosen = plan({"step": step, "attempt": 0}, Runtime(context=ctx))["plan"]
        hypotheses.append(chosen.hypothesis)
        fits.append(params_of(SPACE.load_tree(chosen.derivation)) <= CAP)
    skipped = [h for h in hypotheses if "skipped as likely above the 5,209-parameter cap" in h]
    assert skipped and sum(fits) >= 6, (sum(fits), hypotheses)  # random draws alone fit one time in five
