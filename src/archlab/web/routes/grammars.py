"""Search-space grammars: the built-in and stored ones, and one grammar's text, provenance and record."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from archlab.spaces import list_spaces
from archlab.spaces.space import builtin_grammar
from archlab.store import grammars as grammar_store
from archlab.web.deps import session
from archlab.web.grammar_stats import space_stats
from archlab.web.pages import render

router = APIRouter()


@router.get("/grammars", response_class=HTMLResponse)
def grammars_page(request: Request) -> HTMLResponse:
    with session(request) as s:
        stored = grammar_store.list_grammars(session=s)
        stats = space_stats(s)
    return render(request, "grammars.html", title="grammars", builtin=list_spaces(), stored=stored, stats=stats)


@router.get("/grammars/{name}", response_class=HTMLResponse)
def grammar_page(request: Request, name: str) -> HTMLResponse:
    with session(request) as s:
        record = grammar_store.get_grammar(session=s, name=name)
        stats = space_stats(s).get(name, [])
        children = grammar_store.children(session=s, name=name)
    if record is None and name not in list_spaces():
        raise HTTPException(404, f"no grammar {name!r}: neither built in nor stored in this workspace")
    text = record.text if record is not None else builtin_grammar(name).text
    return render(request, "grammar.html", title=f"grammar {name}", name=name, record=record, text=text,
                  stats=stats, children=children)
