"""Hostile: a model whose output is NaN. Expect a candidate_error."""
from torch import nn


class NaNNet(nn.Module):
    def __init__(self, task):
        super().__init__()
        self.head = nn.Linear(task.input_shape[-1], task.num_outputs)

    def forward(self, x):
        return self.head(x.flatten(1)) * float("nan")


def build_model(task):
    return NaNNet(task)
