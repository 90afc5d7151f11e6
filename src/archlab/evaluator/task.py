"""TaskSpec: what a candidate model must fit. The only object a candidate's build_model sees."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # torch is imported where tensors are made: reading a config needs no torch
    import torch


class TaskSpec(BaseModel):
    """Shapes and budget hints of a task.

    kind "classify": float inputs shaped (B, *input_shape), channels first (MNIST-1D is (1, 40));
    outputs (B, num_outputs).
    kind "lm": causal language modelling; int64 token ids shaped (B, T) with input_shape = (T,), and
    next-token logits (B, T, num_outputs) out, num_outputs being the vocabulary. The logits at position
    t may depend on tokens 0..t only (the build stage probes it).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["classify", "lm"] = "classify"
    input_shape: tuple[int, ...]
    num_outputs: int = Field(gt=0)
    max_params: int = Field(default=2_000_000, gt=0, description="candidates above this are rejected")
    default_steps: int = Field(default=2000, gt=0, description="training steps at full fidelity")
    batch_size: int = Field(default=128, gt=0)

    @property
    def input_dtype(self) -> torch.dtype:
        import torch

        return torch.int64 if self.kind == "lm" else torch.float32

    def output_shape(self, batch: int) -> tuple[int, ...]:
        """The shape a model's output must have for a batch of this size."""
        if self.kind == "lm":
            return (batch, *self.input_shape, self.num_outputs)
        return (batch, self.num_outputs)

    def example(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Random inputs of the task's shape and type: Gaussian floats, or uniformly drawn token ids."""
        import torch

        shape = (batch, *self.input_shape)
        if self.kind == "lm":
            return torch.randint(0, self.num_outputs, shape, generator=generator)
        return torch.randn(shape, generator=generator)

    def random_targets(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        import torch

        shape = (batch, *self.input_shape) if self.kind == "lm" else (batch,)
        return torch.randint(0, self.num_outputs, shape, generator=generator)

    def with_length(self, length: int) -> TaskSpec:
        """The same language-modelling task for sequences of another length (cost at two lengths)."""
        if self.kind != "lm":
            raise ValueError(f"task {self.name!r} is not a sequence task")
        return self.model_copy(update={"input_shape": (length,)})

