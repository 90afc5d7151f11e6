"""ResNet for tabular data (Gorishniy, Rubachev, Khrulkov & Babenko, "Revisiting Deep Learning Models for
Tabular Data", 2021): a linear map to 128 units, two residual blocks (batch norm, linear to 256, ReLU, dropout
0.1, linear back to 128, dropout 0.1, added to the block's input), then batch norm, ReLU and a linear
classifier, on the flattened inputs. The widths shrink by halves until the model fits the task's parameter cap."""

import math

import torch
from torch import nn

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625)


class Block(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm1d(width), nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(hidden, width), nn.Dropout(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def resmlp(features: int, classes: int, scale: float) -> nn.Module:
    width, hidden = max(8, int(128 * scale)), max(16, int(256 * scale))
    return nn.Sequential(nn.Flatten(), nn.Linear(features, width), Block(width, hidden), Block(width, hidden),
                         nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, classes))


def build_model(task) -> nn.Module:
    features = math.prod(task.input_shape)
    for scale in SCALES:
        model = resmlp(features, task.num_outputs, scale)
        if sum(p.numel() for p in model.parameters()) <= task.max_params:
            break
    return model
