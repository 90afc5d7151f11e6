"""Hostile: monkeypatches torch's loss to return 0, so the harness reports a perfect training run.
The job runs; the host must reject the result as suspected leakage or tampering."""
import torch
from torch import nn


def _zero_loss(output, target, *args, **kwargs):
    return (output * 0).sum()


nn.functional.cross_entropy = _zero_loss
torch.nn.functional.cross_entropy = _zero_loss


def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[1], task.num_outputs))
