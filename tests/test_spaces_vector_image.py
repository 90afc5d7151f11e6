"""The feature-vector space (vector) and the image space (image2d): every derivation builds for any input of
its kind and trains a step; mutation and crossover stay in the space; the type check keeps residual bodies'
sizes; `space: auto` picks the space that fits a task and a run refuses one that does not."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archlab.errors import ConfigError, GrammarError
from archlab.evaluator.task import TaskSpec
from archlab.evaluator.tasks import get_task
from archlab.evaluator.tasks.base import Task
from archlab.run.space_choice import space_for, space_for_shape
from archlab.spaces import load_space, parse_grammar
from archlab.spaces.library_image import image_blocks
from archlab.spaces.library_vector import vector_blocks

SHAPES = {"vector": ((20,), (3,), (300,)), "image2d": ((1, 8, 8), (3, 32, 32), (2, 5, 23))}
PROPERTY = settings(max_examples=40, deadline=None, database=None)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def build(source: str, spec: TaskSpec) -> torch.nn.Module:
    namespace: dict = {}
    exec(compile(source, "<candidate>", "exec"), namespace)
    return namespace["build_model"](spec)


@pytest.mark.parametrize("name", sorted(SHAPES))
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 2))
def test_every_sample_builds_for_any_input_of_its_kind_and_trains_a_step(name, seed, which):
    space, shape = load_space(name), SHAPES[name][which]
    tree = space.sample(random.Random(seed))
    assert space.check(tree) == []
    model = build(space.compile(tree), TaskSpec(name="t", input_shape=shape, num_outputs=5))
    x, y = torch.randn(4, *shape), torch.randint(0, 5, (4,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()  # every parameter the output depends on gets a gradient
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_mutation_and_crossover_stay_in_the_space(name):
    space, rng = load_space(name), random.Random(3)
    trees = [space.sample(rng) for _ in range(20)]
    for a, b in zip(trees, trees[1:], strict=False):
        for child in (space.mutate(a, rng), space.crossover(a, b, rng)):
            assert space.check(child) == []
            build(space.compile(child), TaskSpec(name="t", input_shape=SHAPES[name][0], num_outputs=3))


def test_shape_comments_name_the_inputs_dimensions():
    image = load_space("image2d")
    source = next(s for s in (image.compile(image.sample(random.Random(i))) for i in range(50)) if "// 2 + 1" in s)
    assert "channels, height, width = task.input_shape" in source and "H/2, W/2)" in source
    vector = load_space("vector")
    assert "(features,) = task.input_shape" in vector.compile(vector.sample(random.Random(0)))


def test_a_residual_body_that_shrinks_the_image_is_refused():
    text = """grammar bad
network : image -> logits = residual(body: body) gap_head
body : image -> image = conv(channels: 16, kernel: 3, stride: {1, 2}) relu
"""
    with pytest.raises(GrammarError, match="stride is 2"):
        parse_grammar(text, blocks=image_blocks())
    ok = text.replace("stride: {1, 2}", "stride: 1")
    assert parse_grammar(ok, blocks=image_blocks()).name == "bad"


def test_a_vector_residual_projects_when_its_body_changes_the_width():
    grammar = parse_grammar("grammar v\nnetwork : vec -> logits = residual(body: b) linear_head\n"
                            "b = linear(width: 64) relu\n", blocks=vector_blocks())
    space = load_space("vector").__class__(grammar)
    model = build(space.compile(space.sample(random.Random(0))), TaskSpec(name="t", input_shape=(7,), num_outputs=2))
    assert isinstance(model[0].shortcut, torch.nn.Linear) and model(torch.randn(2, 7)).shape == (2, 2)


def _task(shape: tuple[int, ...], kind: str = "classify") -> Task:
    return Task(spec=TaskSpec(name="t", kind=kind, input_shape=shape, num_outputs=4), generate=lambda: None,
                version="v")


def test_auto_picks_the_space_that_fits_the_inputs():
    assert [space_for(_task(s)) for s in ((12,), (3, 40), (1, 8, 8))] == ["vector", "seq1d", "image2d"]
    assert space_for(get_task("mnist1d")) == "seq1d" and space_for(get_task("bytes-lm")) == "lmblocks"
    assert space_for(get_task("nb201-cifar10")) == "nb201"
    with pytest.raises(ConfigError, match=r"no built-in space takes inputs shaped \(2, 3, 4, 5\)"):
        space_for_shape((2, 3, 4, 5))
