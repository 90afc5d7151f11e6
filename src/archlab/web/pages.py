"""Rendering pages: one Jinja2 environment (autoescape on, strict about missing variables) and the helpers
templates use. Everything a person or an LLM wrote reaches a page through autoescaping; only the SVG of
archlab.report.plots (which escapes its own labels) is marked safe."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

# The navigation bar.
NAV = [("runs", "/"), ("memory", "/memory"), ("grammars", "/grammars"), ("chat", "/chat")]
CSP = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# same-origin, not no-referrer: with no referrer the browser sends `Origin: null`, which auth.py refuses.
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def seconds(value: float | None) -> str:
    """120.5 -> '2m 00s'; None -> 'none'."""
    if value is None:
        return "none"
    total = int(round(value))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def compact(value: Any) -> str:
    """A metrics or payload dict as one short line of JSON."""
    return json.dumps(value, sort_keys=True, default=str)


def metric(value: Any) -> str:
    """One metric for a table cell: a float short, a curve by its length."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return f"[{len(value)} values]"
    return compact(value) if isinstance(value, dict) else str(value)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("archlab.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(seconds=seconds, score=score, when=when, compact=compact, metric=metric)
    env.globals["nav"] = NAV
    return env


ENV = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page; its forms carry the server's token when the request proved it has it (see auth.py). The
    content security policy lets only this page's own script run, and nothing load from elsewhere."""
    nonce = secrets.token_urlsafe(16)
    token = getattr(request.state, "form_token", None)
    html = ENV.get_template(template).render(token=token, here=section(request.url.path), nonce=nonce, **context)
    headers = {"Content-Security-Policy": CSP.format(nonce=nonce), **HEADERS}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def section(path: str) -> str:
    """The navigation entry a path belongs to (a run's pages belong to runs)."""
    for _, href in NAV:
        if href != "/" and (path == href or path.startswith(href + "/")):
            return href
    return "/"


def fragment(name: str, **context: Any) -> str:
    """A piece of a page (table rows) for the run page's live updates; same escaping as a page."""
    return ENV.get_template(name).render(**context)
