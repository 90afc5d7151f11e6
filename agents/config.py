"""Experiment settings owned by the agents (composed into the run config by the shell)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    init_population: int = Field(default=8, ge=1, description="fresh samples before evolution starts")
    tournament_size: int = Field(default=3, ge=1)
    explore_prob: float = Field(default=0.1, ge=0, le=1, description="chance of a fresh sample later on")
    max_attempts: int = Field(default=25, ge=1, description="rejected proposals in a row before giving up")
