"""Structure features from the traced graph: what the data flows through, and how the predictor uses them."""

import math

import numpy as np
import pytest
import torch
from torch import fx, nn

from archlab.evaluator.cascade import screened_features
from archlab.evaluator.predictors import FeatureRecord, FeatureTable
from archlab.evaluator.predictors.features import ENCODING_WEIGHT
from archlab.evaluator.predictors.models import _Standardiser
from archlab.evaluator.structure import structure_features
from archlab.evaluator.tasks import get_task
from archlab.spaces import load_space
from archlab.spaces.nb201 import from_arch_string


def nb201(arch: str) -> dict[str, float]:
    namespace: dict = {}
    exec(compile(load_space("nb201").compile(from_arch_string(arch)), "candidate.py", "exec"), namespace)
    return structure_features(fx.symbolic_trace(namespace["build_model"](get_task("nb201-cifar10").spec)))


def test_nb201_cells_are_measured_by_what_reaches_the_output():
    # stem conv, 5 cells per stage, two reduction blocks (conv_a, conv_b beside a 1x1 shortcut), the classifier
    two_convs = nb201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    assert two_convs["depth"] == 1 + 15 * 2 + 2 * 2 + 1  # conv3x3 then conv1x1 in every cell
    assert two_convs["shallow"] == 1 + 2 * 1 + 1  # the avg-pool edge and the shortcuts skip every conv
    assert two_convs["op:Conv2d(k3)"] == 1 + 15 + 2 * 2 and two_convs["op:Conv2d(k1)"] == 15 + 2
    assert two_convs["connected"] == 1 and two_convs["dead"] == 0
    # the convolution on edge 0->1 feeds node 1 only through `none` edges: it is dead, not effective
    cut = nb201("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert cut["dead"] == 15 and cut["op:Conv2d(k3)"] == 1 + 2 * 2 and cut["depth"] == 1 + 2 * 2 + 1
    empty = nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert empty["connected"] == 0 and empty["depth"] == 0 and empty["log_paths"] == 0
    assert not any(k.startswith("op:") for k in empty)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.unused = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(torch.relu(self.a(x))) + self.unused(x) * 0.0 + torch.zeros_like(x)


def test_a_residual_path_and_a_zeroed_branch():
    features = structure_features(fx.symbolic_trace(Residual()))
    assert features["depth"] == 2 and features["shallow"] == 0  # the identity path has no weights
    assert features["weighted"] == 2 and features["dead"] == 1  # `unused` is multiplied by zero
    assert features["log_paths"] == pytest.approx(math.log1p(2))
    assert features["op:Linear"] == 2 and features["op:relu"] == 1 and "op:zeros_like" not in features


def test_a_missing_structure_feature_is_zero_for_a_traced_record_and_unknown_otherwise():
    conv = FeatureRecord(structure={"depth": 3.0, "op:Conv1d(k3)": 2.0})
    attn = FeatureRecord(structure={"depth": 2.0, "op:MultiheadAttention": 1.0})
    untraced = FeatureRecord(proxies={"synflow": 1.0})
    table = FeatureTable.fit([conv, attn, untraced])
    m = table.matrix([conv, attn, untraced])
    column = table.names.index("struct:op:MultiheadAttention")
    assert m[0, column] == 0 and m[1, column] == 1 and math.isnan(m[2, column])


def test_the_encoding_weighs_like_a_few_measured_features():
    records = [FeatureRecord(encoding=[float(i % 2)] * 27, proxies={"p": float(i)}) for i in range(6)]
    table = FeatureTable.fit(records)
    weights = table.column_weights()
    assert weights[:27] == pytest.approx(np.full(27, math.sqrt(ENCODING_WEIGHT / 27))) and weights[27] == 1
    x = table.matrix(records)
    z = _Standardiser().fit(x, weights).transform(x)
    # each standardised encoding column now spreads 1/3 as far, the proxy column as before
    assert z[:, 0].std() == pytest.approx(1 / 3) and z[:, 27].std() == pytest.approx(1)
    few = FeatureTable.fit([FeatureRecord(encoding=[1.0, 0.0])]).column_weights()
    assert few == pytest.approx([1.0, 1.0])  # an encoding of no more columns than the weight stays as it is


def test_screen_metrics_become_the_cascades_features():
    record = screened_features([1.0, 0.0], {"params": 10, "flops": None, "proxies": {"synflow": 2.0},
                                            "structure": {"depth": 3.0}})
    assert record.cost == {"params": 10.0} and record.proxies == {"synflow": 2.0}
    assert record.structure == {"depth": 3.0} and record.encoding == [1.0, 0.0]
    assert screened_features([1.0], None) == FeatureRecord(encoding=[1.0])


class Products(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x @ self.w  # a weight layer
        return torch.softmax(h @ h.transpose(-1, -2), dim=-1) @ h  # two products of activations: not weights


def test_only_a_product_with_a_parameter_is_a_weight_layer():
    features = structure_features(fx.symbolic_trace(Products()))
    assert features["weighted"] == 1 and features["depth"] == 1 and features["shallow"] == 1
