"""Who may use the web app.

- Without a token the server binds to loopback only, and answers only requests addressed to a loopback
  name (a page elsewhere cannot reach it through DNS rebinding); a POST from another origin is refused
  (a page elsewhere cannot submit a steering form to it).
- With a token every request needs it. A browser opens `/?token=T` once: the token goes into an
  HttpOnly, SameSite=Lax cookie and the address loses it. GETs then pass on the cookie; a POST must
  also carry the token in the form field `token` (the pages put it there) or in an `Authorization:
  Bearer T` / `X-Archlab-Token: T` header, so a cookie alone never changes anything (CSRF).
The token is compared in constant time and never logged.
"""

from __future__ import annotations

import logging
import re
import secrets
from ipaddress import ip_address
from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from archlab.errors import ConfigError

COOKIE = "archlab_token"
FIELD = "token"
HEADER = "x-archlab-token"
HEALTH = "/healthz"


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if token is not None and not token.strip():
        raise ConfigError("--token is empty; give a long random one, e.g. `python -c 'import secrets; "
                          "print(secrets.token_urlsafe(24))'`")
    if token is None and not is_loopback(host):
        raise ConfigError(f"binding to {host} exposes the runs and their steering beyond this machine: "
                          "pass --token (or set ARCHLAB_WEB_TOKEN), or bind to 127.0.0.1")


def matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def header_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get(HEADER)


async def guard(request: Request) -> None:
    """Every route's dependency: 401 for a page without the token, 403 for a refused change."""
    token: str | None = request.app.state.token
    if request.url.path == HEALTH:  # says only whether the store answers: for a container's health check
        return
    if token is None:
        _check_local(request)
        return
    if request.method in ("GET", "HEAD"):
        if not (matches(request.cookies.get(COOKIE), token) or matches(header_token(request), token)):
            raise HTTPException(401, "this server needs its token: open it once as /?token=YOUR_TOKEN")
    else:
        form = await request.form()  # parsed once; the route reads the same form
        field = form.get(FIELD)
        if not (matches(header_token(request), token) or matches(field if isinstance(field, str) else None, token)):
            raise HTTPException(403, "refused: a change needs the server's token in the form or a header")
    request.state.form_token = token  # this request proved it has the token: its page's forms may carry it


def _check_local(request: Request) -> None:
    host_header = request.headers.get("host", "")
    host = urlsplit(f"//{host_header}").hostname or ""
    if not is_loopback(host):
        raise HTTPException(403, f"refused: this server answers requests for a loopback address, not {host!r}")
    origin = request.headers.get("origin")
    if request.method not in ("GET", "HEAD") and origin is not None and urlsplit(origin).netloc != host_header:
        raise HTTPException(403, "refused: a change must come from this server's own pages")


async def token_cookie(request: Request, call_next):
    """`?token=T` on a GET: keep the token in a cookie and send the browser to the address without it."""
    token: str | None = request.app.state.token
    given = request.query_params.get(FIELD)
    if token is None or given is None or request.method != "GET":
        return await call_next(request)
    if not matches(given, token):
        return PlainTextResponse("wrong token", status_code=401)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != FIELD])
    response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax")
    return response


class RedactToken(logging.Filter):
    """Access logs print the request line; a `?token=` in it must not reach them."""

    PATTERN = re.compile(r"(token=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True
