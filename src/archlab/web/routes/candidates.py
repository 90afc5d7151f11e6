"""A candidate's page: source, summary, rationale, status, family, and every evaluation of it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from archlab.store import records as store
from archlab.web import figures
from archlab.web.deps import session
from archlab.web.pages import render

router = APIRouter()


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
def candidate_page(request: Request, candidate_id: str) -> HTMLResponse:
    with session(request) as s:
        cand = store.get_candidate(session=s, candidate_id=candidate_id)
        if cand is None:
            raise HTTPException(404, f"no candidate {candidate_id!r} in this workspace")
        evaluations = store.candidate_evaluations(session=s, candidate_id=candidate_id)
        siblings = store.run_candidates(session=s, run_id=cand.run_id) if cand.run_id else []
        parents = [(pid, store.get_candidate(session=s, candidate_id=pid)) for pid in cand.parent_ids]
    children = [c for c in siblings if cand.id in (c.parent_ids or [])]
    return render(request, "candidate.html", title=f"candidate {cand.id}", cand=cand, evaluations=evaluations,
                  parents=parents, children=children, diagram=figures.diagram(evaluations))
