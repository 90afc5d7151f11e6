"""`archlab memory ...`: search, show, add, export, import and seed the concept memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from archlab.errors import ArchlabError
from archlab.store.concepts import ConceptKind

memory_app = typer.Typer(help="The concept memory: claims from papers and runs, with their evidence.",
                         no_args_is_help=True)
console = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _memory(*, seed: bool = True):
    from archlab.run.lifecycle import open_memory
    from archlab.run.settings import Environment
    from archlab.run.workspace import Workspace

    try:
        memory = open_memory(Workspace.from_env(Environment()), seed=seed)
        memory.prepare()
        return memory
    except ArchlabError as exc:
        raise _fail(str(exc), code=1) from None


@memory_app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many concepts.")] = 5,
    task: Annotated[str | None, typer.Option(help="Only concepts for this task (or for any task).")] = None,
    space: Annotated[str | None, typer.Option(help="Only concepts for this space (or for any space).")] = None,
    kind: Annotated[ConceptKind | None, typer.Option(help="Only this kind.")] = None,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    include_retired: Annotated[bool, typer.Option("--all", help="Include retired concepts.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The concepts closest in meaning to QUERY, diverse, with their confidence."""
    from archlab.memory.retrieve import Filters

    filters = Filters(task=task, space=space, kind=kind, min_confidence=min_confidence,
                      include_retired=include_retired)
    hits = _memory().retrieve(query, k=k, filters=filters)
    if as_json:
        out.print_json(json.dumps([{"similarity": round(h.similarity, 4), **h.concept.model_dump(mode="json")}
                                   for h in hits]))
        return
    table = Table("id", "sim", "conf", "kind", "claim", "source", title=f"memory: {query}")
    for hit in hits:
        c = hit.concept
        table.add_row(str(c.id), f"{hit.similarity:.2f}", f"{c.confidence:.2f}", _kind(c), c.claim,
                      c.source if len(c.source) <= 40 else c.source[:39] + "…")
    out.print(table)


@memory_app.command()
def show(concept_id: Annotated[int, typer.Argument(help="The concept's id (see `memory search`).")],
         as_json: JsonOpt = False) -> None:
    """A concept: its claim, confidence, status, links and evidence table."""
    detail = _memory().get(concept_id)
    if detail is None:
        raise _fail(f"no concept {concept_id}; `archlab memory search` finds them", code=1)
    c = detail.concept
    if as_json:
        out.print_json(json.dumps({**c.model_dump(mode="json"),
                                   "evidence": [e.model_dump(mode="json") for e in detail.evidence],
                                   "links": [x.model_dump(mode="json") for x in detail.links]}))
        return
    lines = [f"[bold]concept {c.id}[/] ({c.kind}, {c.status})", f"claim: {c.claim}",
             f"scope: task {c.task or 'any'}, space {c.space or 'any'}" + (f", scale {c.scale}" if c.scale else ""),
             f"source: {c.source or '-'}",
             f"confidence: {c.confidence:.2f} (prior {c.prior:.2f}; {c.supports} supporting, "
             f"{c.contradicts} contradicting results)"]
    if c.retired_reason:
        lines.append(f"[red]retired[/]: {c.retired_reason}")
    lines += [f"also phrased: {alias}" for alias in c.aliases]
    lines += [f"link: {x.source_id} {x.kind} {x.target_id}" + (f" ({x.note})" if x.note else "") for x in detail.links]
    out.print("\n".join(lines), highlight=False)
    table = Table("candidate", "evaluation", "run", "direction", "effect", "fidelity", "seeds", "note",
                  title="evidence")
    for e in detail.evidence:
        table.add_row(e.candidate_id, str(e.evaluation_id or "-"), e.run_id or "-", e.direction,
                      "-" if e.effect_size is None else f"{e.effect_size:+.4f}", str(e.fidelity), str(e.seeds), e.note)
    out.print(table if detail.evidence else "evidence: none yet")


@memory_app.command()
def add(
    claim: Annotated[str, typer.Argument(help="The claim, with its numbers where it has them.")],
    kind: Annotated[ConceptKind, typer.Option(help="What sort of claim it is.")] = ConceptKind.hypothesis,
    task: Annotated[str | None, typer.Option(help="The task it holds for (default: any).")] = None,
    space: Annotated[str | None, typer.Option(help="The search space it holds for (default: any).")] = None,
    scale: Annotated[str | None, typer.Option(help="The scale it holds at, e.g. '<100k params'.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat for several.")] = None,
    source: Annotated[str, typer.Option(help="Where it comes from: a paper's title, a person.")] = "",
) -> None:
    """Add a concept; a paraphrase of a stored one merges into it instead."""
    from archlab.store.concepts import ConceptCreate

    try:
        concept_in = ConceptCreate(claim=claim, kind=kind, task=task, space=space, scale=scale, tags=tag or [],
                                   source=source)
    except ValidationError as exc:
        raise _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                              for e in exc.errors())) from None
    result = _memory().add(concept_in)
    c = result.concept
    if result.action == "merged":
        status = f" ({c.status}: {c.retired_reason})" if c.retired_reason else ""
        out.print(f"merged into concept {c.id}{status} (similarity {result.similarity:.2f}): {c.claim}",
                  highlight=False)
        return
    out.print(f"added concept {c.id}", highlight=False)
    if result.link is not None:
        out.print(f"linked: it {result.link} concept {result.similar_id} (similarity {result.similarity:.2f})",
                  highlight=False)


@memory_app.command("export")
def export(path: Annotated[Path | None, typer.Argument(help="File to write (standard output if omitted).")] = None
           ) -> None:
    """Every concept with its evidence and links, as JSON Lines."""
    from archlab.memory.transfer import export_lines

    lines = list(export_lines(_memory()))
    if path is None:
        sys.stdout.write("".join(line + "\n" for line in lines))
        return
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    console.print(f"exported {len(lines)} concepts to {path}", highlight=False)


@memory_app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="A JSON Lines file from `archlab memory export`.")]) -> None:
    """Add the concepts of an export; paraphrases merge, evidence already here is not counted twice."""
    from archlab.memory.transfer import import_records, parse_lines

    try:
        records = parse_lines(path.read_text(encoding="utf-8").splitlines(), str(path))
    except OSError as exc:
        raise _fail(f"{path}: cannot read: {exc.strerror}") from None
    except ArchlabError as exc:
        raise _fail(f"{exc} (nothing was imported)") from None
    s = import_records(_memory(), records)
    out.print(f"imported {len(records)} concepts from {path}: {s.created} new, {s.merged} merged into "
              f"paraphrases, {s.existing} already here; {s.evidence} evidence rows, {s.links} links", highlight=False)


@memory_app.command()
def seed() -> None:
    """Load the literature seeds (a new workspace starts with them; loading again adds nothing)."""
    from archlab.memory.seeds import load_seeds

    s = load_seeds(_memory(seed=False))
    out.print(f"literature seeds: {s.created} added, {s.merged} merged, {s.existing} already here", highlight=False)


_SHORT = {"design_principle": "principle", "failure_mode": "failure", "hypothesis": "hypothesis",
          "literature_finding": "literature"}


def _kind(concept) -> str:
    kind = _SHORT[str(concept.kind)]
    return f"{kind} (retired)" if concept.status == "retired" else kind
