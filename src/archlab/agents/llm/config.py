"""Experiment settings of the LLM roles (composed into the run config as `llm:`).

The endpoint and key are not here: the base URL comes from `--llm-base-url` / `llm.base_url`, else
OPENAI_BASE_URL; the key only from OPENAI_API_KEY (a secret never lands in a run's config.yaml).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from archlab.errors import ConfigError

ROLES = ("planner", "coder", "critic", "analyst")


class RoleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="model name; default llm.model")
    models: list[str] = Field(default_factory=list, description="several models: a bandit picks one per "
                              "call, learning which yields accepted, improving candidates per unit cost")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=16, description="completion tokens per call")
    offline: bool = Field(default=False, description="this role uses its offline form even with an endpoint")
    price_in: float | None = Field(default=None, ge=0, description="dollars per million prompt tokens")
    price_out: float | None = Field(default=None, ge=0, description="dollars per million completion tokens")


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_in: float = Field(ge=0, description="dollars per million prompt tokens")
    price_out: float = Field(ge=0, description="dollars per million completion tokens")


class LLMBudget(BaseModel):
    """Hard limits over the whole run (resumes included); reaching one stops the run with its reason."""

    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(default=None, gt=0)
    usd: float | None = Field(default=None, gt=0)
    wall_s: float | None = Field(default=None, gt=0, description="seconds spent waiting for the LLM")


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="an OpenAI-compatible endpoint, e.g. .../v1")
    enabled: bool | None = Field(default=None, description="None: on when an endpoint is configured")
    model: str | None = Field(default=None, description="default model of every role; ARCHLAB_LLM__MODEL")
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=16)
    output: Literal["json_schema", "json_object", "tools"] = Field(
        default="json_schema", description="how structured output is asked for: response_format json_schema, "
        "JSON mode with the schema in the prompt, or a forced tool call")
    timeout_s: float = Field(default=120.0, gt=0, description="per HTTP request")
    max_retries: int = Field(default=3, ge=0, description="the client's own transport retries (the only layer)")
    validation_retries: int = Field(default=2, ge=0, description="re-asks of an answer that does not validate")
    max_revisions: int = Field(default=2, ge=0, description="repairs / revisions of one proposal")
    max_failures: int = Field(default=8, ge=1, description="LLM calls failing in a row before the run stops")
    space_steps: int = Field(default=0, ge=0, description="after the LLM proposes a new space, offline evolution "
                             "explores it for this many steps before the LLM planner and coder act again")
    price_in: float = Field(default=0.0, ge=0, description="dollars per million prompt tokens (all roles)")
    price_out: float = Field(default=0.0, ge=0, description="dollars per million completion tokens (all roles)")
    budget: LLMBudget = Field(default_factory=LLMBudget)
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description="per model, over the role's and "
                                          "the global prices (a role's bandit compares models by cost)")
    planner: RoleModel = Field(default_factory=RoleModel)
    coder: RoleModel = Field(default_factory=RoleModel)
    critic: RoleModel = Field(default_factory=RoleModel)
    analyst: RoleModel = Field(default_factory=RoleModel)

    @property
    def active(self) -> bool:
        return bool(self.base_url) and self.enabled is not False

    def role(self, name: str) -> RoleModel:
        return getattr(self, name)

    def model_of(self, role: str) -> str:
        model = self.role(role).model or self.model
        if model is None:  # the run's config check names the setting first; this guards direct users
            raise ConfigError(f"llm.{role}.model: no model for the {role}; set llm.model or llm.{role}.model")
        return model

    def roles_without_model(self) -> list[str]:
        """The LLM roles (not set offline) that have no model to call: an LLM run refuses to start with any."""
        if self.model:
            return []
        return [r for r in ROLES if not self.role(r).offline and not self.role(r).model and not self.role(r).models]

    def models_of(self, role: str) -> list[str]:
        """The models a role may use: its bandit's arms, or the one model."""
        return list(dict.fromkeys(self.role(role).models)) or [self.model_of(role)]

    def temperature_of(self, role: str) -> float:
        value = self.role(role).temperature
        return self.temperature if value is None else value

    def cost(self, role: str, prompt_tokens: int, completion_tokens: int, model: str | None = None) -> float:
        r, priced = self.role(role), self.prices.get(model or self.model_of(role))
        price_in = self.price_in if r.price_in is None else r.price_in
        price_out = self.price_out if r.price_out is None else r.price_out
        if priced is not None:
            price_in, price_out = priced.price_in, priced.price_out
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6
