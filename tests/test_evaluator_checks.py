"""Build-stage checks: forward/backward on the task's shapes, and the causality probe for language models."""

import pytest
import torch
from torch import nn

from archlab.errors import CandidateBuildError
from archlab.evaluator.checks import causal_cuts, check_causal, check_forward_backward
from archlab.evaluator.task import TaskSpec

LM = TaskSpec(name="tiny-lm", kind="lm", input_shape=(24,), num_outputs=32)
CPU = torch.device("cpu")


class ConvLM(nn.Module):
    """Embedding, one conv over positions, head. `left` and `right` are the conv's padding."""

    def __init__(self, left: int = 2, right: int = 0, norm: nn.Module | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(LM.num_outputs, 8)
        self.conv = nn.Conv1d(8, 8, left + right + 1)
        self.pad = (left, right)
        self.norm = norm or nn.Identity()
        self.head = nn.Linear(8, LM.num_outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens).transpose(1, 2)  # (B, D, T)
        h = self.norm(torch.relu(self.conv(nn.functional.pad(h, self.pad))))
        return self.head(h.transpose(1, 2))  # (B, T, V)


class AttentionLM(nn.Module):
    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.embed, self.head, self.causal = nn.Embedding(LM.num_outputs, 8), nn.Linear(8, LM.num_outputs), causal

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        return self.head(nn.functional.scaled_dot_product_attention(h, h, h, is_causal=self.causal))


def test_a_causal_model_passes():
    torch.manual_seed(0)
    check_causal(ConvLM(), LM, CPU)
    check_causal(AttentionLM(causal=True), LM, CPU)
    check_forward_backward(ConvLM(), LM, CPU)


@pytest.mark.parametrize("model", [ConvLM(left=1, right=1), AttentionLM(causal=False)], ids=["centred-conv", "attn"])
def test_a_model_that_reads_the_future_is_rejected(model):
    with pytest.raises(CandidateBuildError, match="not causal: changing tokens from position 1 on"):
        check_causal(model, LM, CPU)


def test_a_leak_only_in_training_mode_is_caught():
    # Batch norm over (batch, positions) mixes every position's statistics while training.
    # In eval mode it normalises with fixed running statistics, which is causal; the probe runs both modes.
    model = ConvLM(norm=nn.BatchNorm1d(8))
    with pytest.raises(CandidateBuildError, match=r"\(training mode\)"):
        check_causal(model, LM, CPU)


def test_cuts_cover_the_start_middle_and_end():
    assert causal_cuts(24) == [1, 8, 13, 23]
    assert causal_cuts(2) == [1]


def test_forward_backward_checks_shapes_and_types():
    class Pooled(ConvLM):
        def forward(self, tokens):
            return super().forward(tokens).mean(dim=1)  # (B, V): one prediction per sequence

    with pytest.raises(CandidateBuildError, match=r"output shape \(16, 32\), expected \(16, 24, 32\)"):
        check_forward_backward(Pooled(), LM, CPU)
    classify = TaskSpec(name="c", input_shape=(1, 40), num_outputs=10)
    check_forward_backward(nn.Sequential(nn.Flatten(), nn.Linear(40, 10)), classify, CPU)
    with pytest.raises(CandidateBuildError, match="expected floating-point logits"):
        check_forward_backward(_IntegerOut(), classify, CPU)


class _IntegerOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(40, 10)

    def forward(self, x):
        return self.linear(x.flatten(1)).argmax(dim=1, keepdim=True).expand(-1, 10)
