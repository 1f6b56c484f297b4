"""A small typed layer over Starlette for the REST API: each endpoint declares its path, query and body
models and its reply model; requests are parsed and bounded here, domain errors become 4xx JSON, and the
OpenAPI 3.1 document is generated from the same declarations (so it cannot drift from the code)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__
from ..errors import ClaudeMemoryError, Conflict, InvalidInput, NotFound, Unavailable
from .schemas import Error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # a memory holds at most 1,000,000 characters, escaped in JSON
REF = "#/components/schemas/{model}"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


class HTTPError(Exception):
    """An error reply with its status; raised while parsing a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Call:
    """A parsed request as a handler sees it."""

    path: Any
    query: Any
    body: Any
    raw: bytes | None
    request: Request


@dataclass
class Stream:
    """A streamed reply (a download)."""

    chunks: Iterator[str]
    media_type: str
    filename: str


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Callable[[Call], Any]
    summary: str
    tag: str
    reply: type[BaseModel] | None
    query: type[BaseModel] | None = None
    path_model: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    raw_body: int = 0  # read the body as bytes up to this size instead of parsing `body`
    status: int = 200
    errors: tuple[int, ...] = ()
    media: dict[str, type[BaseModel] | None] = field(default_factory=dict)  # other reply types (downloads)
    description: str = ""

    @property
    def operation_id(self) -> str:
        return getattr(self.handler, "__name__", self.summary).strip("_")


def _message(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            msg = f"unknown {where} field" if where == "body" else f"unknown {where} parameter"
        elif err.get("type") == "string_unicode":
            msg = "must be valid Unicode (it holds a lone surrogate)"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _parse_query(request: Request, model: type[BaseModel] | None) -> Any:
    items = request.query_params.multi_items()
    if model is None:
        if items:
            raise HTTPError(400, f"unknown query parameter {items[0][0]!r}")
        return None
    values: dict[str, str] = {}
    for k, v in items:
        if k in values:
            raise HTTPError(400, f"query parameter {k!r} is given more than once")
        values[k] = v
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise HTTPError(400, _message(exc, "query")) from None


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPError(413, f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"request body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise HTTPError(400, "the client disconnected before sending the whole body") from None
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _parse_body(request: Request, ep: Endpoint) -> tuple[Any, bytes | None]:
    if ep.body is None and not ep.raw_body:
        return None, None
    if _media_type(request) != "application/json":
        raise HTTPError(415, "send the body as JSON with Content-Type: application/json")
    raw = await _read_body(request, ep.raw_body or MAX_BODY_BYTES)
    model = ep.body or ep.media.get("request")
    assert model is not None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise HTTPError(400, f"the body is not valid JSON: {str(exc)[:200]}") from None
    try:
        parsed = model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise HTTPError(400, _message(exc, "body")) from None
    return (None, raw) if ep.raw_body else (parsed, None)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def domain_status(exc: ClaudeMemoryError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, InvalidInput):
        return 400
    return 400


def _reply(ep: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Stream):
        return StreamingResponse(result.chunks, media_type=result.media_type, headers={
            "content-disposition": f'attachment; filename="{result.filename}"', "cache-control": "no-store"})
    status = ep.status
    if isinstance(result, tuple):
        result, status = result
    assert ep.reply is not None
    body = ep.reply.model_validate(result).model_dump(mode="json", exclude_unset=True)
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})


def _handle(ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            path = ep.path_model.model_validate(request.path_params) if ep.path_model else None
            query = _parse_query(request, ep.query)
            body, raw = await _parse_body(request, ep)
            call = Call(path, query, body, raw, request)
            result = await anyio.to_thread.run_sync(ep.handler, call)
            return _reply(ep, result)
        except HTTPError as exc:
            return error(exc.status, exc.message)
        except ValidationError as exc:  # path parameters
            return error(400, _message(exc, "path"))
        except ClaudeMemoryError as exc:
            return error(domain_status(exc), str(exc))

    return endpoint


def routes(endpoints: list[Endpoint]) -> list[Route]:
    """One Starlette route per path, dispatching on the method, so a wrong method gets 405 with an
    `Allow` header naming every method of that path."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, {})[ep.method] = _handle(ep)
    out = []
    for path, methods in by_path.items():
        allow = ", ".join(sorted(methods))

        async def dispatch(request: Request, methods: dict[str, Any] = methods, allow: str = allow) -> Response:
            handler = methods.get(request.method)
            if handler is None:
                return error(405, f"{request.method} is not allowed here; allowed: {allow}", {"allow": allow})
            response: Response = await handler(request)
            return response

        out.append(Route(path, dispatch, methods=ALL_METHODS))
    return out


# --- the OpenAPI document ------------------------------------------------------------------------
_STATUS_TEXT = {200: "OK", 201: "Created", 400: "Bad input", 401: "Missing or wrong bearer token",
                403: "Host or Origin is not local", 404: "Not found", 405: "Method not allowed",
                409: "Not allowed in the current state", 413: "Body too large",
                415: "Body is not JSON", 503: "Database or model unavailable"}
COMMON_ERRORS = (400, 401, 403, 503)


def _models(endpoints: list[Endpoint]) -> list[tuple[type[BaseModel], Any]]:
    seen: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None}
    for ep in endpoints:
        if ep.body:
            seen[(ep.body, "validation")] = None
        if ep.reply:
            seen[(ep.reply, "serialization")] = None
        for m in ep.media.values():
            if m:
                seen[(m, "serialization")] = None
    return list(seen)


def _parameters(model: type[BaseModel] | None, where: str, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    defs.update(schema.get("$defs", {}))
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def openapi(endpoints: list[Endpoint], title: str = "claude-memory") -> dict[str, Any]:
    """The OpenAPI 3.1 document for these endpoints."""
    keys, top = models_json_schema(_models(endpoints), ref_template=REF)
    components: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag]}
        if ep.description:
            op["description"] = ep.description
        params = _parameters(ep.path_model, "path", components) + _parameters(ep.query, "query", components)
        if params:
            op["parameters"] = params
        if ep.body or ep.raw_body:
            model = ep.body or ep.media.get("request")
            assert model is not None
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": keys[(model, "validation" if ep.body else "serialization")]}}}
        responses: dict[str, Any] = {}
        if ep.reply is not None:
            responses[str(ep.status)] = {"description": _STATUS_TEXT.get(ep.status, "OK"), "content": {
                "application/json": {"schema": keys[(ep.reply, "serialization")]}}}
            if ep.status == 201:
                responses["200"] = {"description": "Not created (duplicate)", "content": {
                    "application/json": {"schema": keys[(ep.reply, "serialization")]}}}
        else:
            responses["200"] = {"description": "A download", "content": {
                media: ({"schema": keys[(model, "serialization")]} if model else {"schema": {"type": "string"}})
                for media, model in ep.media.items() if media != "request"}}
        codes = set(COMMON_ERRORS) | set(ep.errors)
        if ep.body or ep.raw_body:
            codes |= {413, 415}
        if ep.path_model:
            codes.add(404)
        for code in sorted(codes):
            responses[str(code)] = {"description": _STATUS_TEXT[code], "content": {
                "application/json": {"schema": keys[(Error, "serialization")]}}}
        op["responses"] = responses
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__,
                 "description": "REST API of claude-memory. With MEMORY_API_TOKEN set, every request needs"
                                " `Authorization: Bearer <token>`. Same origin only: no CORS."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }
