"""What routes share: the workspace the app serves and a store session on it."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from archlab.run.workspace import Workspace


def workspace(request: Request) -> Workspace:
    return request.app.state.ws


def session(request: Request) -> Session:
    """A session on the workspace store; use it in a `with` block."""
    return Session(workspace(request).engine)
