"""ResNet-8 for small images (He et al., 2016, the CIFAR family with one basic block per stage): a 3x3 stem
of 16 channels, three stages of one basic block each (16, 32, 64 channels; the second and third halve the
height and width with stride 2, a 1x1 projection shortcut where the shape changes), global average pooling
and a linear classifier. The widths shrink by halves until the model fits the task's parameter cap."""

import torch
from torch import nn

SCALES = (1.0, 0.5, 0.25, 0.125)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet8(nn.Module):
    def __init__(self, channels: int, classes: int, scale: float):
        super().__init__()
        widths = [max(4, int(w * scale)) for w in (16, 32, 64)]
        layers = [nn.Conv2d(channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
        previous = widths[0]
        for i, width in enumerate(widths):
            layers.append(BasicBlock(previous, width, 1 if i == 0 else 2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        return self.head(self.features(x).mean(dim=(2, 3)))


def build_model(task) -> nn.Module:
    channels = task.input_shape[0]
    for scale in SCALES:
        model = ResNet8(channels, task.num_outputs, scale)
        if sum(p.numel() for p in model.parameters()) <= task.max_params:
            break
    return model
