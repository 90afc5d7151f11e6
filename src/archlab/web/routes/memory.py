"""The concept memory: the concepts (or those nearest a search), and one concept with its evidence."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from archlab.memory.concept_memory import ConceptMemory
from archlab.run.lifecycle import open_memory
from archlab.store.concepts import Concept
from archlab.web.deps import session, workspace
from archlab.web.pages import render

router = APIRouter()
SHOWN = 200  # concepts listed without a search, most confident first
HITS = 20


def memory(request: Request) -> ConceptMemory:
    """The workspace's memory, opened once per app as a run opens it (its first use loads the seeds)."""
    state = request.app.state
    with state.lock:
        if state.memory is None:
            state.memory = open_memory(workspace(request))
        return state.memory


@router.get("/memory", response_class=HTMLResponse)
def memory_page(request: Request, q: str = "") -> HTMLResponse:
    mem = memory(request)
    mem.prepare()
    query = " ".join(q.split())
    if query:
        rows = [(h.concept, h.similarity) for h in mem.retrieve(query, k=HITS)]
    else:
        with session(request) as s:
            concepts = s.exec(select(Concept).order_by(col(Concept.confidence).desc(), col(Concept.id))
                              .limit(SHOWN)).all()
        rows = [(c, None) for c in concepts]
    return render(request, "memory.html", title="concept memory", query=query, rows=rows, total=mem.count())


@router.get("/memory/{concept_id}", response_class=HTMLResponse)
def concept_page(request: Request, concept_id: int) -> HTMLResponse:
    detail = memory(request).get(concept_id)
    if detail is None:
        raise HTTPException(404, f"no concept {concept_id} in this workspace")
    return render(request, "concept.html", title=f"concept {concept_id}", c=detail.concept,
                  evidence=detail.evidence, links=detail.links)
