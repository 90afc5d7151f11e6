"""The workspace: one store and one folder per run, under .archlab/ by default."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine

from archlab.run.settings import Environment
from archlab.store import open_store, sqlite_url


@dataclass
class Workspace:
    root: Path
    database_url: str | None = None
    # The environment half of the settings, read once when the workspace is opened; everything a run needs
    # from it (data folder, API key, embedder, vector index) is read here, never in the middle of a run.
    env: Environment = field(default_factory=Environment, repr=False)

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Workspace:
        env = env or Environment()
        return cls(root=env.workspace, database_url=env.database_url, env=env)

    @property
    def url(self) -> str:
        return self.database_url or sqlite_url(self.root / "archlab.db")

    @cached_property
    def engine(self) -> Engine:
        return open_store(self.url)

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def checkpoints_path(self) -> Path:
        return self.root / "checkpoints.db"

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def write_config(self, run_id: str, resolved: dict) -> Path:
        path = self.run_dir(run_id) / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(resolved, sort_keys=False))
        return path

    def config_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "config.yaml"
