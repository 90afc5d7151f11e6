"""MLP baseline (Wang, Yan & Oates, 2017): three hidden layers of 500 units with ReLU and dropout 0.1, 0.2, 0.2
(0.1 on the inputs), on the flattened inputs. The width shrinks by halves until the model fits the task's
parameter cap."""

import math

from torch import nn

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125)


def mlp(features: int, classes: int, scale: float) -> nn.Module:
    width = max(4, int(500 * scale))
    return nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(features, width), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(width, width), nn.ReLU(), nn.Dropout(0.2), nn.Linear(width, width), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(width, classes))


def build_model(task) -> nn.Module:
    features = math.prod(task.input_shape)
    for scale in SCALES:
        model = mlp(features, task.num_outputs, scale)
        if sum(p.numel() for p in model.parameters()) <= task.max_params:
            break
    return model
