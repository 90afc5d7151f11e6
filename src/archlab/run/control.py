"""What a person can ask of a run, from the CLI, the web app or a chat: checked against the run's state,
then recorded for the run to apply between steps (agents/steer.py)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from archlab.errors import ConfigError
from archlab.run.lifecycle import LIVE, run_state
from archlab.run.settings import parse_duration
from archlab.run.workspace import Workspace
from archlab.store import records as store
from archlab.store.steering import SteerAction, history, request, settle

# Only a live run can pause or resume; the rest wait in the queue for the run's next step (or its resume).
NEEDS_LIVE = ("pause", "resume")


def steer(ws: Workspace, run_id: str, kind: str, payload: dict[str, Any] | None = None,
          origin: str = "cli") -> SteerAction:
    with Session(ws.engine) as session:
        run = store.get_run(session=session, run_id=run_id)
        if run is None:
            raise ConfigError(f"no run {run_id!r} in {ws.root}; `archlab runs` lists them")
        state = run_state(run)
        if kind in NEEDS_LIVE and state not in LIVE:
            raise ConfigError(f"run {run_id} is {state}, not running: nothing to {kind}"
                              + ("; `archlab resume` continues it" if kind == "resume" else ""))
        if kind == "resume" and state != "paused":
            raise ConfigError(f"run {run_id} is not paused")
        if kind == "stop" and state not in LIVE:
            return _stop_idle(session, run_id, state, origin)
        return request(session=session, run_id=run_id, kind=kind, payload=payload, origin=origin)


def _stop_idle(session: Session, run_id: str, state: str, origin: str) -> SteerAction:
    """Stopping a run no process drives: an interrupted run becomes stopped at once; others are done."""
    if state != "interrupted":
        raise ConfigError(f"run {run_id} is already {state}")
    action = request(session=session, run_id=run_id, kind="stop", origin=origin)
    store.update_run(session=session, run_id=run_id, status="stopped", pid=None,
                     stop_reason=f"stopped by a person ({origin}) after it was interrupted")
    settle(session=session, action_id=action.id, status="applied", note="no process drove the run; marked stopped",
           step=None)
    session.refresh(action)
    return action


def run_history(ws: Workspace, run_id: str) -> list[SteerAction]:
    with Session(ws.engine) as session:
        if store.get_run(session=session, run_id=run_id) is None:
            raise ConfigError(f"no run {run_id!r} in {ws.root}; `archlab runs` lists them")
        return list(history(session=session, run_id=run_id))


def budget_change(text: str) -> dict[str, float]:
    """'+10m' adds ten minutes, '-5m' takes five away, '1h' sets the total: a budget action's payload."""
    text = text.strip()
    if not text:
        raise ConfigError("budget: give a change such as '+10m' (adds), '-5m' (removes) or '1h' (sets the total)")
    try:
        if text[:1] in "+-":
            sign = -1.0 if text[0] == "-" else 1.0
            return {"delta_s": sign * parse_duration(text[1:])}
        return {"seconds": parse_duration(text)}
    except ValueError as exc:
        raise ConfigError(f"budget: {exc}; '+10m' adds, '-5m' removes, '1h' sets the total") from None
