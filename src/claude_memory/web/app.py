"""One Starlette app on one port: /mcp (Streamable HTTP), /sse + /messages/ (legacy SSE), /health,
/cache/invalidate and the REST API under /api, behind the Host/Origin and token guard."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..runtime import Runtime
from .endpoints import error
from .mcp_tools import build_mcp
from .rest import routes
from .security import GuardMiddleware
from .ui import routes as ui_routes

log = logging.getLogger(__name__)


class _Dispatch:
    """Routes by path prefix to the two MCP apps, everything else to the plain HTTP app."""

    def __init__(self, rest: ASGIApp, http: ASGIApp, sse: ASGIApp) -> None:
        self.rest, self.http, self.sse = rest, http, sse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] != "lifespan" else ""
        if path == "/mcp" or path.startswith("/mcp/"):
            await self.http(scope, receive, send)
        elif path == "/sse" or path.startswith("/messages"):
            await self.sse(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: f"no route {request.url.path}", 405: f"{request.method} is not allowed here"}
    return error(exc.status_code, messages.get(exc.status_code, str(exc.detail)), dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal error (see the server log)"}, status_code=500)


def build_app(rt: Runtime) -> ASGIApp:
    """The whole server as one ASGI app."""
    mcp = build_mcp(rt)
    http_app = mcp.http_app(path="/mcp", transport="http")
    sse_app = mcp.http_app(path="/sse", transport="sse")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with http_app.router.lifespan_context(http_app), sse_app.router.lifespan_context(sse_app):
            yield

    rest = Starlette(routes=routes(rt) + ui_routes(), lifespan=lifespan,
                     exception_handlers={HTTPException: _http_error, Exception: _unexpected})
    extra = frozenset({rt.settings.host.lower()}) - {"0.0.0.0", "::", ""}
    return GuardMiddleware(_Dispatch(rest, http_app, sse_app), rt.settings.api_token, extra)
