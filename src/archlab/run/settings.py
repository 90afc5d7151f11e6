"""Settings in two halves.

- `Environment`: where things live and secrets/endpoints, from the environment only (ARCHLAB_*,
  OPENAI_API_KEY, OPENAI_BASE_URL).
- `ExperimentConfig`: what a run does, from YAML, with every cross-field check in one place.
  Precedence: CLI flags > YAML file > ARCHLAB_* environment variables > defaults.
"""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from archlab.agents.config import SearchConfig
from archlab.agents.llm.config import LLMConfig
from archlab.errors import ConfigError
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.tasks import TASKS
from archlab.sandbox.base import DockerOptions, Limits, RayOptions
from archlab.spaces import list_spaces


class Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHLAB_", extra="ignore")

    workspace: Path = Path(".archlab")
    database_url: str | None = None  # default: SQLite at <workspace>/archlab.db
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    # Read only to refuse it: llm.model comes from ARCHLAB_LLM__MODEL, like every nested setting.
    llm_model: str | None = None
    embedder: str = "auto"  # concept memory: auto | minilm | hashing | a sentence-transformers model folder
    # The concept memory's vector search: auto (pgvector inside a PostgreSQL store that has the extension,
    # faiss otherwise), faiss, or pgvector (an error where the server lacks it).
    vector_index: Literal["auto", "faiss", "pgvector"] = "auto"
    data_dir: Path | None = None  # shipped data for tasks (nb201/nb201.csv); default ../shared/data beside the repo


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["process", "docker", "ray"] = "process"
    # Jobs the sandbox runs at once; bounds search.in_flight. Unset: this machine's CPU count (for a Ray
    # cluster, set it to what the cluster can run).
    slots: int | None = Field(default=None, ge=1, le=1024)
    limits: Limits = Field(default_factory=Limits)
    docker: DockerOptions = Field(default_factory=DockerOptions)
    ray: RayOptions = Field(default_factory=RayOptions)


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(value: Any) -> float | None:
    """'5m', '90s', '1h30m', '300' or a number (seconds) -> seconds."""
    if value is None or isinstance(value, int | float):
        return value
    text = str(value).strip()
    match = _DURATION.match(text) if text and not text.startswith("-") else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration such as 5m, 90s, 1h30m or 300 (seconds)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


_GRAMMAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TASK_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")  # a task card's name (evaluator/tasks/card.py)


class ExperimentConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHLAB_", env_nested_delimiter="__", extra="forbid")

    task: str = "mnist1d"
    space: str = Field(default="auto", description="a built-in or stored space; auto: the built-in one that fits the "
                       "task's inputs (vector, seq1d, image2d, lmblocks, nb201), chosen when the run starts")
    budget: float | None = Field(default=300.0, description="wall-clock seconds; '5m' etc. accepted")
    max_evals: int | None = Field(default=None, description="stop after this many trained candidates")
    seed: int | None = Field(default=None, description="search seed; drawn and recorded if unset")
    max_params: int | None = Field(default=None, gt=0, description="a cap on a candidate's parameters below the "
                                   "task's own; the critic rejects a candidate above it before any training")
    search: SearchConfig = Field(default_factory=SearchConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)

    _parse_budget = field_validator("budget", mode="before")(parse_duration)

    @model_validator(mode="after")
    def _check(self) -> ExperimentConfig:
        if self.task not in TASKS and not _TASK_NAME.fullmatch(self.task):
            # A stored task (archlab task add) is looked up in the workspace when the run starts.
            raise ValueError(f"task: unknown task {self.task!r}; built-in tasks: {', '.join(sorted(TASKS))}, or "
                             "a task stored with `archlab task add`")
        if self.space != "auto" and self.space not in list_spaces() and not _GRAMMAR_NAME.fullmatch(self.space):
            # Stored grammars are looked up in the workspace when the run starts; the name must fit one.
            raise ValueError(f"space: {self.space!r} is neither a built-in space ({', '.join(list_spaces())}) "
                             "nor a grammar name")
        if self.budget is not None and self.budget <= 0:
            raise ValueError(f"budget: must be positive, got {self.budget:g}s")
        if self.max_evals is not None and self.max_evals <= 0:
            raise ValueError(f"max_evals: must be positive, got {self.max_evals}")
        if self.budget is None and self.max_evals is None:
            raise ValueError("budget: set a time budget or max_evals, or the run never stops")
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2**31)
        self._llm_defaults()
        return self

    def _llm_defaults(self) -> None:
        """OPENAI_BASE_URL fills an unset llm.base_url, never overrides it; an LLM run must name its models."""
        env = Environment()
        if env.llm_model is not None:
            raise ValueError("ARCHLAB_LLM_MODEL is not read: set ARCHLAB_LLM__MODEL (nested settings use __) "
                             "or llm.model in the YAML")
        if self.llm.base_url is None and self.llm.enabled is not False and env.openai_base_url:
            self.llm.base_url = env.openai_base_url
        if self.llm.enabled and not self.llm.base_url:
            raise ValueError("llm.enabled: set llm.base_url (or --llm-base-url, or OPENAI_BASE_URL)")
        missing = self.llm.roles_without_model() if self.llm.active else []
        if missing:
            raise ValueError(f"llm.model: an LLM run needs a model name and {', '.join(missing)} "
                             f"{'has' if len(missing) == 1 else 'have'} none; set llm.model (or --llm-model, or "
                             "ARCHLAB_LLM__MODEL), or llm.<role>.model")

    def resolved(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None, *,
                stored: bool = False) -> ExperimentConfig:
    """The experiment config from YAML (if any) and CLI overrides; ConfigError names the bad field. `stored`:
    the YAML is a run's own resolved config, written by an earlier version perhaps (see `upgrade_stored`)."""
    data = read_yaml(path) if path else {}
    if stored:
        data = upgrade_stored(data)
    data = deep_merge(data, {k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return ExperimentConfig(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, path)) from None


def upgrade_stored(data: dict[str, Any]) -> dict[str, Any]:
    """A run's resolved config from before `evaluation.predictor` held the ensemble for both of its users:
    `search.{predictor,acquisition,kappa}` (the strategies') and `evaluation.cascade.predictor.{members,
    acquisition,kappa,xi}` (the gate's) move there, the cascade's where it was enabled. A person's own YAML
    is not upgraded: its old keys are refused by name."""
    data = copy.deepcopy(data)
    search = data.get("search") or {}
    evaluation = data.setdefault("evaluation", {}) if isinstance(data.get("evaluation", {}), dict) else {}
    cascade = evaluation.get("cascade") or {}
    gate = cascade.get("predictor") or {}
    old_search = {new: search.pop(old) for old, new in (("predictor", "members"), ("acquisition", "acquisition"),
                                                         ("kappa", "kappa")) if old in search}
    old_gate = {key: gate.pop(key) for key in ("members", "acquisition", "kappa", "xi") if key in gate}
    chosen = old_gate if cascade.get("enabled") else old_search
    if chosen and "predictor" not in evaluation:
        evaluation["predictor"] = chosen
    return data


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: malformed YAML: {where}{getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(data).__name__}")
    return data


def describe_validation(exc: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else "config: "
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return where + "; ".join(parts)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
