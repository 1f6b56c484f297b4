"""One Starlette app on one port: /mcp (Streamable HTTP), /sse + /messages/ (legacy SSE), /health,
/cache/invalidate, /api/preferences, behind the Host/Origin and token guard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..context import resolve_project
from ..errors import ClaudeMemoryError
from ..preferences import preferences
from ..runtime import Runtime
from .mcp_tools import build_mcp
from .security import GuardMiddleware


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


def _health(rt: Runtime) -> dict[str, Any]:
    with rt.db.cursor() as cur:
        cur.execute("SELECT 1")
    return {"status": "ok", "model": "ready" if rt.embedder.ready else "loading"}


def build_app(rt: Runtime) -> ASGIApp:
    """The whole server as one ASGI app."""
    mcp = build_mcp(rt)
    http_app = mcp.http_app(path="/mcp", transport="http")
    sse_app = mcp.http_app(path="/sse", transport="sse")

    async def health(request: Request) -> JSONResponse:
        try:
            body = await anyio.to_thread.run_sync(_health, rt)
        except Exception as exc:  # any database failure means degraded, never a 500
            return JSONResponse({"status": "degraded", "database": "unreachable", "error": str(exc)[:200]},
                                status_code=503)
        return JSONResponse(body)

    async def invalidate(request: Request) -> JSONResponse:
        size = len(rt.cache)
        rt.cache.clear()
        return JSONResponse({"status": "ok", "cleared": size})

    async def api_preferences(request: Request) -> JSONResponse:
        project = request.query_params.get("project") or None
        if project is not None and len(project) > 500:
            return JSONResponse({"error": "project is too long"}, status_code=400)
        try:
            body = await anyio.to_thread.run_sync(
                lambda: preferences(rt.memories, resolve_project(rt.memories, project)))
        except ClaudeMemoryError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with http_app.router.lifespan_context(http_app), sse_app.router.lifespan_context(sse_app):
            yield

    rest = Starlette(
        routes=[Route("/health", health, methods=["GET"]),
                Route("/cache/invalidate", invalidate, methods=["POST"]),
                Route("/api/preferences", api_preferences, methods=["GET"])],
        lifespan=lifespan,
    )
    extra = frozenset({rt.settings.host.lower()}) - {"0.0.0.0", "::", ""}
    return GuardMiddleware(_Dispatch(rest, http_app, sse_app), rt.settings.api_token, extra)
