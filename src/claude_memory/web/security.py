"""Pure ASGI guard: local Host/Origin only (DNS rebinding) and the optional bearer token."""

from __future__ import annotations

import hmac
import json
from ipaddress import ip_address
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
OPEN_PATHS = ("/health", "/", "/ui")  # the UI's static shell holds no data; the API behind it needs the token


def _hostname(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_local(host: str, extra: frozenset[str] = frozenset()) -> bool:
    name = _hostname(host)
    if name in LOCAL_NAMES or name in extra or name.endswith(".localhost"):
        return True
    try:
        return ip_address(name).is_loopback
    except ValueError:
        return False


class GuardMiddleware:
    """Refuses foreign Host/Origin headers with 403 and missing/wrong tokens with 401."""

    def __init__(self, app: ASGIApp, token: str | None, extra_hosts: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.token = token
        self.extra_hosts = extra_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if scope["type"] == "websocket":
            # nothing here speaks websocket; close the handshake as the protocol expects (the server answers 403)
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if not host or not is_local(host, self.extra_hosts):
            await _deny(send, 403, "forbidden: Host header is not local (DNS rebinding protection)")
            return
        origin = headers.get("origin")
        if origin is not None and not is_local(urlsplit(origin).netloc or "invalid", self.extra_hosts):
            await _deny(send, 403, "forbidden: Origin is not local")
            return
        path = scope.get("path", "")
        if self.token and path not in OPEN_PATHS and not path.startswith("/ui/"):
            auth = headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
                await _deny(send, 401, "unauthorized: send Authorization: Bearer <MEMORY_API_TOKEN>",
                            [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


async def _deny(send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
