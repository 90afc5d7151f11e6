"""TaskSpec: what a candidate model must fit. The only object a candidate's build_model sees."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TaskSpec(BaseModel):
    """Shapes and budget hints of a task.

    input_shape excludes the batch dimension: MNIST-1D is (1, 40), channels first.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["classify"] = "classify"
    input_shape: tuple[int, ...]
    num_outputs: int = Field(gt=0)
    max_params: int = Field(default=2_000_000, gt=0, description="candidates above this are rejected")
    default_steps: int = Field(default=2000, gt=0, description="training steps at full fidelity")
    batch_size: int = Field(default=128, gt=0)
