"""Steering a run from its page: every form posts here, goes through archlab.run.control.steer (which records
it in the run's history) and redirects back; a refused request shows its message, never a traceback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from archlab.errors import ConfigError
from archlab.run.control import budget_change, steer
from archlab.web import run_data
from archlab.web.deps import session, workspace
from archlab.web.pages import render

router = APIRouter()
COURSE = ("pause", "resume", "stop")  # refused when the run's state does not allow them: 409
ACTIONS = (*COURSE, "idea", "veto-candidate", "veto-direction", "budget")
Text = Annotated[str, Form()]


def action_request(action: str, *, text: str, candidate_id: str, reason: str, budget: str) -> tuple[str, dict]:
    """The form's action as a steering kind and its payload (see store/steering.py)."""
    if action in COURSE:
        return action, {}
    if action == "budget" and not budget.strip():
        raise ConfigError("budget: the field is empty; '+10m' adds, '-5m' removes, '1h' sets the total")
    payloads: dict[str, Any] = {
        "idea": lambda: {"text": text},
        "veto-direction": lambda: {"text": text},
        "veto-candidate": lambda: {"candidate_id": candidate_id, "reason": reason},
        "budget": lambda: budget_change(budget),
    }
    return action.replace("-", "_"), payloads[action]()


def safe_back(back: str, run_id: str) -> str:
    """Where to return after the post: a path on this server, else the run's page."""
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return f"/runs/{run_id}"


@router.post("/runs/{run_id}/steer/{action}", response_class=HTMLResponse)
def steer_run(request: Request, run_id: str, action: str, text: Text = "", candidate_id: Text = "",
              reason: Text = "", budget: Text = "", back: Text = ""):
    if action not in ACTIONS:
        raise HTTPException(404, f"no steering action {action!r}; one of {', '.join(ACTIONS)}")
    with session(request) as s:
        run_data.get_run_or_404(s, run_id)
    target = safe_back(back, run_id)
    try:
        kind, payload = action_request(action, text=text, candidate_id=candidate_id, reason=reason, budget=budget)
        steer(workspace(request), run_id, kind, payload, origin="web")
    except ConfigError as exc:
        return render(request, "error.html", status_code=409 if action in COURSE else 400, title="refused",
                      message=str(exc), back=target)
    return RedirectResponse(target, status_code=303)
