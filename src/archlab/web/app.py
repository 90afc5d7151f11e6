"""The web app: `create_app(ws, token=...)` wires the pages of archlab/web/routes/ to one workspace."""

from __future__ import annotations

import logging
import threading

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from archlab.errors import ArchlabError, ConfigError
from archlab.run.workspace import Workspace
from archlab.web import auth
from archlab.web.chat_engines import ChatEngines
from archlab.web.pages import render
from archlab.web.routes import candidates, chat, grammars, memory, runs, steer

log = logging.getLogger(__name__)
# One router per page family.
ROUTERS = (runs.router, steer.router, candidates.router, memory.router, grammars.router, chat.router)


def create_app(ws: Workspace, *, token: str | None = None) -> FastAPI:
    """An app serving `ws`; with a token, every request must carry it (see auth.py)."""
    app = FastAPI(title="archlab", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(auth.guard)])
    app.state.ws, app.state.token = ws, token
    app.state.memory, app.state.lock = None, threading.Lock()
    app.state.chats = ChatEngines(ws)  # an engine per (task, space) once needed; closed on shutdown (routes/chat.py)
    app.middleware("http")(auth.token_cookie)
    for router in ROUTERS:
        app.include_router(router)
    app.get(auth.HEALTH, include_in_schema=False)(_health)
    _error_pages(app)
    return app


def _health(request: Request) -> PlainTextResponse:
    """200 'ok' while the store answers, else 503; open without the token, it shows nothing of the runs."""
    try:
        with request.app.state.ws.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return PlainTextResponse("store unreachable", status_code=503)
    return PlainTextResponse("ok")


def _error_pages(app: FastAPI) -> None:
    """Errors as pages with their message; a traceback goes to the server's log, never to the browser."""

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(request, 400, f"bad request: {where}")

    @app.exception_handler(ConfigError)
    def refused(request: Request, exc: ConfigError) -> HTMLResponse:
        return _error(request, 400, str(exc))

    @app.exception_handler(ArchlabError)
    def broken(request: Request, exc: ArchlabError) -> HTMLResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(request, 500, f"archlab error: {exc}")

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> HTMLResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(request, 500, "internal error; the server's log has the details")


def _error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=f"error {status}", message=message, back=None)
