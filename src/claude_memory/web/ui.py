"""The browser UI at /ui: the Vite build shipped in web/static/, deep links answered with index.html,
hashed assets cached for a year, and a strict Content-Security-Policy on the page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from .endpoints import error

STATIC = Path(__file__).resolve().parent / "static"
# No inline script, no eval, nothing from another host; images only from this origin or data: URLs the UI
# makes itself (memory text never becomes an <img>).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self';"
       " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer", "x-frame-options": "DENY", "cache-control": "no-cache"}


def _inside(path: Path) -> bool:
    try:
        path.resolve().relative_to(STATIC.resolve())
    except ValueError:
        return False
    return path.is_file()


async def page(request: Request) -> Response:
    rel = request.path_params.get("path", "")
    index = STATIC / "index.html"
    if not index.is_file():
        return error(404, "the UI is not built: run `npm ci && npm run build` in ui/")
    if rel.startswith("assets/"):
        asset = STATIC / rel
        if not _inside(asset):
            return error(404, f"no asset {rel}")
        return FileResponse(asset, headers={"cache-control": "public, max-age=31536000, immutable",
                                            "x-content-type-options": "nosniff"})
    if rel and "/" not in rel and "." in rel and _inside(STATIC / rel):  # favicon and friends
        return FileResponse(STATIC / rel, headers={"x-content-type-options": "nosniff", "cache-control": "no-cache"})
    return FileResponse(index, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def to_ui(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)


def routes() -> list[Route]:
    return [Route("/", to_ui, methods=["GET"]), Route("/ui", page, methods=["GET", "HEAD"]),
            Route("/ui/{path:path}", page, methods=["GET", "HEAD"])]
