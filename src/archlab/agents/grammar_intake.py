"""A new grammar (from an agent or a person) becomes a searchable space, or a located error.

The path: parse and validate the text with its terminal code (GrammarError, located); read the code
for forbidden constructs (located in the code); sample derivations, compile them, and build each in
ONE sandbox job with a forward and backward pass on the task's shapes; compute the statistics. Only a
grammar that passes all of it is stored, with who proposed it, in which run, and from which parent.
The host never executes the grammar's code.
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from archlab.errors import ConfigError, GrammarError, SandboxError
from archlab.evaluator.candidate import static_check
from archlab.evaluator.tasks import Task
from archlab.sandbox.base import Job, JobStatus, Limits, Sandbox
from archlab.spaces import Grammar, Space, list_spaces, parse_grammar
from archlab.spaces.count import count_derivations
from archlab.spaces.space import builtin_grammar
from archlab.spaces.terminals import CODE_SOURCE, code_line
from archlab.store import grammars as grammar_store
from archlab.store.grammars import GrammarRecord

DEFAULT_SAMPLES = 16


@dataclass
class GrammarCheck:
    """A grammar that passed every check, with what was measured on the way."""

    grammar: Grammar
    stats: dict[str, Any]
    summaries: list[str] = field(default_factory=list)


def check_grammar(
    text: str,
    *,
    code: str = "",
    task: Task,
    sandbox: Sandbox,
    loader: Callable[[str], Grammar] | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    limits: Limits | None = None,
    min_build_share: float = 1.0,
) -> GrammarCheck:
    """Every check a new grammar must pass; GrammarError (located) for the first kind that fails."""
    started = time.monotonic()
    grammar = parse_grammar(text, code=code, source="proposed.grammar", loader=loader)
    _static_check_code(code)
    space = Space(grammar)
    rng = random.Random(seed)
    trees = [space.sample(rng) for _ in range(samples)]
    sources = [space.compile(tree) for tree in trees]
    results = _build_in_sandbox(sources, task, sandbox, seed, limits or Limits(wall_s=120 + 10 * samples))
    built = [r for r in results if r["ok"]]
    share = len(built) / len(results)
    if share < min_build_share:
        raise _build_failure(results, sources, [space.summary(t) for t in trees], share)
    params = sorted(r["params"] for r in built)
    count = count_derivations(grammar)
    stats = {
        "derivations": count, "derivations_log10": round(_log10(count), 2), "samples": len(results),
        "built": len(built), "build_share": share, "params_min": params[0], "params_median": statistics.median(params),
        "params_max": params[-1], "check_seconds": round(time.monotonic() - started, 2),
    }
    return GrammarCheck(grammar, stats, [space.summary(t) for t in trees])


def accept_grammar(
    check: GrammarCheck, *, session: Session, proposed_by: str, task: str, run_id: str | None = None,
    rationale: str = "",
) -> GrammarRecord:
    """Store a checked grammar with its provenance; StoreError when its name is taken by another."""
    grammar = check.grammar
    if grammar.name in list_spaces():
        raise ConfigError(f"{grammar.name!r} is a built-in space; give the grammar another name")
    if grammar.name == "auto":  # `space: auto` picks a built-in space; a grammar of that name could never be run
        raise ConfigError("'auto' names the built-in space chosen for a task's inputs; give the grammar another name")
    parent = grammar_store.get_grammar(session=session, name=grammar.parent) if grammar.parent else None
    digest = hashlib.sha256((grammar.text + "\0" + grammar.code).encode()).hexdigest()[:12]
    record = GrammarRecord(
        id=f"g-{digest}", name=grammar.name, text=grammar.text, code=grammar.code, parent=grammar.parent,
        parent_id=parent.id if parent else None, imports=list(grammar.imports), proposed_by=proposed_by,
        run_id=run_id, task=task, rationale=rationale, stats=check.stats,
    )
    return grammar_store.add_grammar(session=session, record=record)


def store_loader(session: Session) -> Callable[[str], Grammar]:
    """Finds a grammar by name: built-in first, then the workspace's stored grammars."""
    loading: list[str] = []

    def load(name: str) -> Grammar:
        if name in list_spaces():
            return builtin_grammar(name)
        if name in loading:
            raise ConfigError(f"grammars extend or import each other in a cycle: {' -> '.join([*loading, name])}")
        record = grammar_store.get_grammar(session=session, name=name)
        if record is None:
            stored = [r.name for r in grammar_store.list_grammars(session=session)]
            raise ConfigError(f"unknown grammar {name!r}; built-in: {', '.join(list_spaces())}; "
                              f"stored: {', '.join(stored) or 'none'}")
        loading.append(name)
        try:
            return parse_grammar(record.text, code=record.code, source=f"{name}.grammar", loader=load)
        finally:
            loading.pop()

    return load


def load_workspace_space(session: Session, name: str) -> Space:
    """A built-in or stored space by name, for `archlab run --space`."""
    return Space(store_loader(session)(name))


# -- the checks ----------------------------------------------------------------------------------------


def _static_check_code(code: str) -> None:
    if not code.strip():
        return
    problems = [p for p in static_check(code) if not p.startswith("no top-level function")]
    if problems:
        first = problems[0]
        line = int(first.split(":")[0].removeprefix("line ")) if first.startswith("line ") else None
        raise GrammarError("; ".join(problems), line=line, column=1 if line else None, source=CODE_SOURCE)


def _build_in_sandbox(sources: list[str], task: Task, sandbox: Sandbox, seed: int, limits: Limits) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="archlab-grammar-") as tmp:
        files = {}
        for index, source in enumerate(sources):
            path = Path(tmp) / f"sample_{index}.py"
            path.write_text(source)
            files[path.name] = path
        job = Job(stage="grammar_check", source=sources[0], task=task.spec.model_dump(),
                  params={"samples": list(files), "seed": seed, "device": "auto"}, files=files, limits=limits)
        result = sandbox.run(job)
    if result.status == JobStatus.INFRA_ERROR:
        raise SandboxError(f"the sandbox could not run the grammar check: {result.error}")
    if result.status != JobStatus.OK:
        raise GrammarError(f"the sandbox check of its samples ended with {result.status}: {result.error}",
                           source=CODE_SOURCE)
    return result.outputs["results"]


def _build_failure(results: list[dict], sources: list[str], summaries: list[str], share: float) -> GrammarError:
    index, first = next((i, r) for i, r in enumerate(results) if not r["ok"])
    line = code_line(sources[index], first["line"]) if first.get("line") else None
    failed = sum(not r["ok"] for r in results)
    message = (f"{failed} of {len(results)} sampled derivations do not build ({share:.0%} do); the first, "
               f"{summaries[index]}, fails with {first['error']}")
    if line is not None:
        return GrammarError(message, line=line, column=1, source=CODE_SOURCE)
    return GrammarError(message + f" (at line {first.get('line')} of the compiled candidate)", source="sandbox check")


def _log10(count: float) -> float:
    if count <= 0:
        return 0.0
    return math.log10(count) if math.isfinite(count) else math.inf
