"""Serving the app with uvicorn: the bind is checked first, and the token never reaches the access log."""

from __future__ import annotations

import logging

import uvicorn

from archlab.run.workspace import Workspace
from archlab.web.app import create_app
from archlab.web.auth import RedactToken, check_bind


def serve(ws: Workspace, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    """Serve until interrupted; ConfigError (before anything binds) for a non-local host without a token."""
    check_bind(host, token)
    config = uvicorn.Config(create_app(ws, token=token), host=host, port=port, log_level="info")
    logging.getLogger("uvicorn.access").addFilter(RedactToken())  # after Config has set up uvicorn's loggers
    uvicorn.Server(config).run()
