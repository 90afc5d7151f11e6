"""Reference models: each builds for the inputs it fits (one in the sandbox's build stage) and shrinks to the task's
parameter cap; the run's config picks them; the report's verdict compares like for like."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from archlab.agents.evaluation.references import _more, reference_names
from archlab.errors import ConfigError
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.references import BY_LAYOUT, SUMMARIES, for_layout, reference
from archlab.evaluator.stages import run_stage
from archlab.evaluator.task import TaskSpec
from archlab.report.baselines import Scores, verdict
from archlab.store import Candidate

SHAPES = {"sequence": ((3, 32), (1, 20)), "features": ((20,), (5,)), "image": ((3, 32, 32), (1, 8, 8))}
FITS = sorted({(name, shape) for layout, names in BY_LAYOUT.items() for name in names for shape in SHAPES[layout]})


@pytest.mark.parametrize(("name", "shape"), FITS)
@pytest.mark.parametrize("cap", [2_000_000, 20_000])
def test_every_reference_builds_and_fits_the_cap(name, shape, cap):
    namespace: dict = {}
    exec(compile(reference(name).source, f"{name}.py", "exec"), namespace)  # the sandbox's build, in-process
    task = TaskSpec(name="t", input_shape=shape, num_outputs=4, max_params=cap, batch_size=8)
    model = namespace["build_model"](task).eval()
    assert 0 < sum(p.numel() for p in model.parameters()) <= cap
    assert model(torch.randn(3, *shape)).shape == (3, 4)


def test_a_reference_builds_in_the_sandbox_like_a_candidate(tmp_path):
    (tmp_path / "candidate.py").write_text(reference("resnet8").source)
    task = TaskSpec(name="t", input_shape=(1, 8, 8), num_outputs=4, max_params=20_000, batch_size=8)
    done = run_stage("build", tmp_path / "candidate.py", task.model_dump(), {"seed": 0, "device": "cpu"}, tmp_path)
    assert 0 < done["metrics"]["params"] <= 20_000


def test_references_by_layout_and_by_config():
    assert for_layout("sequence") == ("fcn", "resnet1d", "gru") and for_layout("features") == ("mlp", "resmlp")
    assert for_layout("image") == ("cnn", "resnet8", "mlp") and for_layout("other") == ()
    assert {name for names in BY_LAYOUT.values() for name in names} == set(SUMMARIES)
    task = SimpleNamespace(references=("fcn", "gru"))
    for chosen, names in (("auto", ("fcn", "gru")), ("none", ()), (["mlp"], ("mlp",))):
        ctx = SimpleNamespace(evaluation=EvaluationConfig(references=chosen), task=task)
        assert reference_names(ctx) == names
    with pytest.raises(ValueError, match="unknown reference model 'vgg'"):
        EvaluationConfig(references=["vgg"])
    with pytest.raises(ConfigError, match="unknown reference model 'vgg'"):
        reference("vgg")
    assert _more([0], 0, 3) == [0, 1, 2] and _more([0, 5, 9], 0, 2) == [0, 5, 9] and _more([1], 0, 2) == [0, 1]


def _scores(cid: str, test: list[float], val: float = 0.8, params: int = 1000, summary: str = "") -> Scores:
    cand = Candidate(id=cid, origin="reference", source="", summary=summary or cid, params=params)
    return Scores(candidate=cand, seeds=list(range(len(test))), val=[val] * len(test), test=test)


def test_the_verdict_picks_the_reference_by_validation_and_weighs_the_seed_spread():
    found = _scores("found", [0.90, 0.92, 0.91], params=500)
    by_val = _scores("fcn", [0.80, 0.81, 0.79], val=0.9, summary="FCN: convs")
    by_test = _scores("gru", [0.95, 0.95, 0.95], val=0.7, summary="GRU: rnn")  # better on test, worse on val
    text = verdict(found, [by_val, by_test])
    assert text.startswith("The found architecture is 0.1100 test accuracy above the best reference by validation "
                           "(FCN: 0.8000), with 0.5× its parameters; same recipe, 3 seeds: more than the seeds' spread")
    close = verdict(_scores("found", [0.80, 0.84]), [_scores("fcn", [0.81, 0.82], summary="FCN: c")])
    assert "0.0050 test accuracy above" in close and "within the seeds' spread" in close
    below = verdict(_scores("found", [0.5]), [_scores("mlp", [0.7], summary="MLP: m")])
    assert "0.2000 test accuracy below" in below and "1 seed:" in below
    assert verdict(None, [by_val]) is None and verdict(found, [_scores("x", [])]) is None
