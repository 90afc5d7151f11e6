"""ResNet for time series (Wang, Yan & Oates, 2017): three residual blocks (64, 128, 128 channels), each three
convolutions (kernels 8, 5, 3) with batch norm, a 1x1 shortcut, then global average pooling and a linear
classifier. The widths shrink by halves until the model fits the task's parameter cap."""

import torch
from torch import nn

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625)


class Block(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        layers, previous = [], cin
        for i, kernel in enumerate((8, 5, 3)):
            layers += [nn.Conv1d(previous, cout, kernel, padding="same"), nn.BatchNorm1d(cout)]
            if i < 2:
                layers.append(nn.ReLU())
            previous = cout
        self.body = nn.Sequential(*layers)
        self.shortcut = nn.Sequential(nn.Conv1d(cin, cout, 1), nn.BatchNorm1d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet1d(nn.Module):
    def __init__(self, channels: int, classes: int, scale: float):
        super().__init__()
        widths = [max(4, int(w * scale)) for w in (64, 128, 128)]
        blocks, previous = [], channels
        for width in widths:
            blocks.append(Block(previous, width))
            previous = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(previous, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, L) -> (B, classes)
        return self.head(self.features(x).mean(dim=2))


def build_model(task) -> nn.Module:
    channels = task.input_shape[0]
    for scale in SCALES:
        model = ResNet1d(channels, task.num_outputs, scale)
        if sum(p.numel() for p in model.parameters()) <= task.max_params:
            break
    return model
