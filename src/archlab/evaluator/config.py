"""Experiment settings owned by the evaluator (composed into the run config by the shell)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from archlab.evaluator.proxies import PROXIES
from archlab.evaluator.references import SUMMARIES


class RungConfig(BaseModel):
    """One training fidelity of the cascade: a step budget (epochs for a tabular task)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(gt=0)
    keep: float = Field(default=1 / 3, gt=0, le=1,
                        description="the best fraction of this rung's results so far that earn the next rung")


class SurrogateConfig(BaseModel):
    """The predictor ensemble and its acquisition rule: one setting for both of its users, the search strategies
    that rank suggestions (local, bananas) and the cascade's gate (`evaluation.predictor`)."""

    model_config = ConfigDict(extra="forbid")

    members: list[Literal["gp", "gbt", "ridge"]] = Field(default_factory=lambda: ["gp", "gbt", "ridge"],
                                                         min_length=1)
    acquisition: Literal["ucb", "ei", "mean"] = "ucb"
    kappa: float = Field(default=1.0, ge=0, description="UCB: mean + kappa * std")
    xi: float = Field(default=0.0, ge=0, description="EI: improvement counted beyond best + xi")


class PredictorConfig(BaseModel):
    """The cascade's own use of the predictor (the ensemble itself: `evaluation.predictor`)."""

    model_config = ConfigDict(extra="forbid")

    min_points: int = Field(default=8, ge=2, description="trained results needed before the predictor is used; "
                            "until then the proxy prior ranks candidates (cold start)")
    prior_proxies: list[str] = Field(default_factory=lambda: ["synflow", "nwot", "zico"],
                                     description="proxies averaged (as z-scores) into the cold-start prior")
    keep: float = Field(default=0.5, gt=0, le=1, description="the best fraction by acquisition that is trained")

    @model_validator(mode="after")
    def _known(self) -> PredictorConfig:
        unknown = [p for p in self.prior_proxies if p not in PROXIES]
        if unknown:
            raise ValueError(f"prior_proxies: unknown {', '.join(unknown)}; known: {', '.join(PROXIES)}")
        return self


class ConfirmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top: int = Field(default=3, ge=0, description="how many of the best at the last rung are retrained")
    seeds: int = Field(default=2, ge=0, description="extra training seeds for each of them")


class CascadeConfig(BaseModel):
    """Which candidate earns more compute: screen (cost + proxies), predict, train at rising fidelities."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    screen: bool = Field(default=True, description="run the cost and proxy job first")
    cost: bool = Field(default=True, description="time latency and training-step memory in the screen job "
                       "(params and FLOPs are always counted)")
    proxies: list[str] | None = Field(default=None, description="proxies to compute; all when unset")
    proxy_batch: int | None = Field(default=None, gt=1, description="the task kind's default when unset")
    predictor: PredictorConfig = Field(default_factory=PredictorConfig)
    rungs: list[RungConfig] | None = Field(default=None, description="training fidelities, lowest first; "
                                           "default: a fifth of the run's steps, then the steps")
    min_history: int = Field(default=3, ge=1, description="a gate passes everything until it has seen this many")
    hopeless_margin: float = Field(default=0.02, ge=0, description="a result within this of chance stops there")
    confirm: ConfirmConfig = Field(default_factory=ConfirmConfig)

    @model_validator(mode="after")
    def _check(self) -> CascadeConfig:
        if self.proxies is not None:
            unknown = [p for p in self.proxies if p not in PROXIES]
            if unknown:
                raise ValueError(f"proxies: unknown {', '.join(unknown)}; known: {', '.join(PROXIES)}")
        if self.rungs is not None:
            steps = [r.steps for r in self.rungs]
            if not steps or steps != sorted(set(steps)):
                raise ValueError(f"rungs: step budgets must rise strictly, got {steps}")
        return self


class EvaluationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(default=None, gt=0, description="training steps; the task's default if unset")
    batch_size: int | None = Field(default=None, gt=0, description="the task's default if unset")
    lr: float = Field(default=1e-2, gt=0)
    seed: int = Field(default=0, ge=0)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    predictor: SurrogateConfig = Field(default_factory=SurrogateConfig)
    cascade: CascadeConfig = Field(default_factory=CascadeConfig)
    references: Literal["auto", "none"] | list[str] = Field(
        default="auto", description="hand-designed models trained after the search with the best candidate's "
        "recipe, fidelity and seeds: auto (a task of your own: the ones that fit its inputs; a built-in task: "
        "none), none, or names (fcn, resnet1d, gru, mlp)")
    reference_seeds: int = Field(default=3, ge=1, le=10, description="seeds of the comparison: the best candidate "
                                 "is trained on more seeds at its fidelity when it has fewer")

    @field_validator("references")
    @classmethod
    def _references(cls, value):
        if isinstance(value, list):
            unknown = [name for name in value if name not in SUMMARIES]
            if unknown:
                raise ValueError(f"unknown reference model {unknown[0]!r}; known: {', '.join(SUMMARIES)}")
        return value
