"""Experiment settings owned by the evaluator (composed into the run config by the shell)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvaluationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(default=None, gt=0, description="training steps; the task's default if unset")
    batch_size: int | None = Field(default=None, gt=0, description="the task's default if unset")
    lr: float = Field(default=1e-2, gt=0)
    seed: int = Field(default=0, ge=0)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
