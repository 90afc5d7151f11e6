"""The runs list, a run's page, and the live endpoint its page polls for new evaluations and steering."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from archlab.report.run_view import lineage, read_run_view
from archlab.run.listing import list_runs
from archlab.web import figures, run_data
from archlab.web.deps import session, workspace
from archlab.web.pages import fragment, render

router = APIRouter()
LEADERBOARD = 20


@router.get("/", response_class=HTMLResponse)
@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    return render(request, "runs.html", title="runs", runs=list_runs(workspace(request)))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    with session(request) as s:
        snap = run_data.snapshot(s, run_id)
        view = read_run_view(s, run_id)
    return render(request, "run.html", title=f"run {run_id}", run=snap.run, state=snap.state,
                  last_id=snap.last_id, evaluations=snap.evaluations, steering=snap.steering, ideas=snap.ideas,
                  board=view.leaderboard[:LEADERBOARD], trained=len(view.leaderboard),
                  proposed=len(view.candidates), lineage=lineage(view, top=5), plots=figures.run_plots(view))


@router.get("/runs/{run_id}/live")
def run_live(request: Request, run_id: str, after: int = 0) -> JSONResponse:
    """What changed since evaluation `after`: new evaluation rows, the status line, steering and ideas,
    as HTML rendered (and escaped) here; the page's script only inserts it."""
    with session(request) as s:
        snap = run_data.snapshot(s, run_id, after=after)
    return JSONResponse({
        "state": snap.state, "last_id": max(snap.last_id, after), "new": len(snap.evaluations),
        "rows": fragment("_evaluation_rows.html", evaluations=snap.evaluations),
        "status": fragment("_run_status.html", run=snap.run, state=snap.state),
        "steering": fragment("_steering_rows.html", steering=snap.steering),
        "ideas": fragment("_idea_rows.html", ideas=snap.ideas),
    })
