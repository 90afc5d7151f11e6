"""FCN for time series (Wang, Yan & Oates, 2017): three convolution blocks (128, 256, 128 channels, kernels 8,
5 and 3), each with batch norm and ReLU, then global average pooling and a linear classifier. The widths shrink
by halves until the model fits the task's parameter cap."""

import torch
from torch import nn

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625)


class FCN(nn.Module):
    def __init__(self, channels: int, classes: int, scale: float):
        super().__init__()
        widths = [max(4, int(w * scale)) for w in (128, 256, 128)]
        layers, previous = [], channels
        for width, kernel in zip(widths, (8, 5, 3), strict=True):
            layers += [nn.Conv1d(previous, width, kernel, padding="same"), nn.BatchNorm1d(width), nn.ReLU()]
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, L) -> (B, classes)
        return self.head(self.features(x).mean(dim=2))


def build_model(task) -> nn.Module:
    channels = task.input_shape[0]
    for scale in SCALES:
        model = FCN(channels, task.num_outputs, scale)
        if sum(p.numel() for p in model.parameters()) <= task.max_params:
            break
    return model
