"""Experiment settings owned by the agents (composed into the run config by the shell)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    init_population: int = Field(default=8, ge=1, description="fresh samples before evolution starts")
    tournament_size: int = Field(default=3, ge=1)
    explore_prob: float = Field(default=0.1, ge=0, le=1, description="chance of a fresh sample later on")
    max_attempts: int = Field(default=25, ge=1, description="rejected proposals in a row before giving up")
    memory_guided: bool = Field(default=True, description="the offline coder picks, among a few mutations of "
                                "the parent, the one whose change the concept memory rates best "
                                "(agents/roles/coder/memory_guided.py)")
    in_flight: int = Field(default=1, ge=1, le=256, description="candidates training while the next are "
                           "proposed (at most sandbox.slots); 1: propose, train, analyse, one at a time")
    # Which strategy chooses the next candidate (agents/strategies/); "tournament" is the planner's own
    # tournament selection above. The settings below are read by the strategies that use them.
    strategy: Literal["tournament", "random", "evolution", "local", "bananas", "pareto"] = "tournament"
    population: int = Field(default=20, ge=2, description="evolution: the aging population's size")
