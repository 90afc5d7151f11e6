"""Hand-designed reference models: what a person would try first on the task's kind of input, trained with
the same recipe, fidelity and seeds as the best candidate a search found, so the report can say how the
found architecture compares (agents/evaluation/references.py trains them; report/baselines.py compares).

    sequences (C, L)     fcn, resnet1d (Wang et al. 2017), gru
    feature vectors (F,) mlp (Wang et al. 2017), resmlp (Gorishniy et al. 2021)
    images (C, H, W)     cnn (VGG-style), resnet8 (He et al. 2016), mlp

Each is a candidate module (`build_model(task)`) under models/, read as text and run in the sandbox like any
candidate; the host never imports it. Each shrinks its width until it fits the task's parameter cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from archlab.errors import ConfigError

SHRUNK = "; halved until it fits the parameter cap"
SUMMARIES = {
    "fcn": "FCN: conv 128-256-128 (k 8/5/3), batch norm, ReLU, global average pooling (Wang et al. 2017)" + SHRUNK,
    "resnet1d": "ResNet: 3 residual blocks 64-128-128 (k 8/5/3), global average pooling (Wang et al. 2017)" + SHRUNK,
    "gru": "GRU: 2 layers, hidden 128, last and mean state into a linear classifier" + SHRUNK,
    "mlp": "MLP: 3 hidden layers of 500, ReLU, dropout (Wang et al. 2017)" + SHRUNK,
    "resmlp": "ResNet-MLP: width 128, 2 residual blocks (BN, 256 hidden, dropout 0.1) (Gorishniy et al. 2021)"
              + SHRUNK,
    "cnn": "CNN: 2 stages of two 3x3 convs (32, 64), batch norm, ReLU, max pool, global average pooling" + SHRUNK,
    "resnet8": "ResNet-8: 3x3 stem 16, basic blocks 16-32-64 (stride 2), global average pooling (He et al. 2016)"
               + SHRUNK,
}
BY_LAYOUT = {"sequence": ("fcn", "resnet1d", "gru"), "features": ("mlp", "resmlp"), "image": ("cnn", "resnet8", "mlp")}


@dataclass(frozen=True)
class Reference:
    name: str
    summary: str
    source: str


def reference(name: str) -> Reference:
    if name not in SUMMARIES:
        raise ConfigError(f"unknown reference model {name!r}; known: {', '.join(SUMMARIES)}")
    source = resources.files("archlab.evaluator.references.models").joinpath(f"{name}.py").read_text()
    return Reference(name=name, summary=SUMMARIES[name], source=source)


def for_layout(layout: str) -> tuple[str, ...]:
    """The references that fit a task's inputs: sequences, feature vectors, images; none for other inputs."""
    return BY_LAYOUT.get(layout, ())
