"""A real MCP client over Streamable HTTP, SSE and stdio against a live server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from claude_memory.web.mcp_tools import TOOL_NAMES
from conftest import ROOT, start_server, stop_server


@pytest.fixture
def live(dsn, tmp_path):
    server = start_server(dsn, tmp_path / "data", MEMORY_API_TOKEN="s3cret-token")
    yield server
    stop_server(server)


async def _roundtrip(client: Client) -> None:
    async def call(name: str, **args):
        result = await client.call_tool(name, args)
        return json.loads(result.content[0].text)

    tools = await client.list_tools()
    assert sorted(t.name for t in tools) == sorted(TOOL_NAMES) and len(tools) == 18
    saved = await call("save_memory", content="The auth service signs JWTs with rotating keys from Vault.",
                       tags=["security"], project="auth")
    mid = saved["id"]
    assert (await call("check_memory", content="The auth service signs JWTs with rotating keys from Vault."))[
        "action"] == "NOOP"
    assert (await call("semantic_search", query="how are tokens signed", project="auth"))["results"][0]["id"] == mid
    assert (await call("search_memories", query="JWT Vault"))["results"][0]["id"] == mid
    assert (await call("hybrid_search", query="JWT signing keys"))["results"][0]["id"] == mid
    assert (await call("get_memory", memory_id=mid))["content"].startswith("The auth service")
    assert (await call("update_memory", memory_id=mid, tags=["security", "auth"]))["updated"]
    assert (await call("delete_memory", memory_id=mid))["deleted"]
    assert (await call("search_memories", query="JWT Vault"))["results"] == []
    assert (await call("restore_memory", memory_id=mid))["restored"]
    with pytest.raises(ToolError, match="active"):
        await call("purge_memory", memory_id=mid)
    assert (await call("delete_memory", memory_id=mid))["deleted"]
    assert (await call("purge_memory", memory_id=mid))["purged"]
    with pytest.raises(ToolError, match="no memory"):
        await call("get_memory", memory_id=mid)
    with pytest.raises(ToolError, match="since"):
        await call("semantic_search", query="x", since="not-a-date")
    assert (await call("get_stats"))["total_memories"] == 0
    ctx = await call("startup_context", project="auth")
    assert ctx["bytes"] <= 2048


def test_streamable_http_round_trip(live):
    async def main():
        async with Client(live.url + "/mcp", auth=live.token) as client:
            await _roundtrip(client)

    asyncio.run(main())


def test_sse_round_trip(live):
    async def main():
        async with Client(live.url + "/sse", auth=live.token) as client:
            await _roundtrip(client)

    asyncio.run(main())


def test_stdio_round_trip(dsn, tmp_path):
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path), "TORCH_THREADS": "1"}
    transport = StdioTransport(command=sys.executable, args=["-m", "claude_memory.cli", "mcp", "--stdio"],
                               env=env, cwd=str(ROOT))

    async def main():
        async with Client(transport, timeout=120) as client:
            await _roundtrip(client)

    asyncio.run(main())


def test_token_required_and_health_open(live):
    assert httpx.get(live.url + "/health").status_code == 200
    for method, path in [("POST", "/mcp"), ("GET", "/sse"), ("POST", "/cache/invalidate")]:
        r = httpx.request(method, live.url + path, json={})
        assert r.status_code == 401, path
    wrong = httpx.post(live.url + "/cache/invalidate", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = httpx.post(live.url + "/cache/invalidate", headers={"Authorization": f"Bearer {live.token}"})
    assert ok.status_code == 200 and ok.json()["status"] == "ok"


def test_foreign_host_or_origin_is_refused(live):
    auth = {"Authorization": f"Bearer {live.token}"}
    r = httpx.post(live.url + "/cache/invalidate", headers={**auth, "Host": "evil.example.com"})
    assert r.status_code == 403
    r = httpx.post(live.url + "/mcp", headers={**auth, "Origin": "http://evil.example.com"}, json={})
    assert r.status_code == 403
    r = httpx.get(live.url + "/health", headers={"Host": "attacker.test:3333"})
    assert r.status_code == 403
    r = httpx.post(live.url + "/cache/invalidate", headers={**auth, "Origin": "http://localhost:5173"})
    assert r.status_code == 200


def test_initialize_reply_tells_claude_how_to_use_its_memory(live):
    """The raw initialize reply over /mcp carries the server's instructions (Claude Code shows them to the
    model): when to search, when to save, that startup_context already ran. At most 1 KB."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "raw-test", "version": "1"}}}
    r = httpx.post(live.url + "/mcp", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {live.token}", "Accept": "application/json, text/event-stream"})
    assert r.status_code == 200, r.text
    payload = r.text
    if r.headers["content-type"].startswith("text/event-stream"):
        payload = next(line[5:] for line in r.text.splitlines() if line.startswith("data:"))
    result = json.loads(payload)["result"]
    instructions = result["instructions"]
    assert result["serverInfo"]["name"] == "claude-memory"
    assert 200 < len(instructions.encode()) <= 1024
    for must in ("hybrid_search", "save_memory", "startup_context", "decision", "preference"):
        assert must in instructions


@pytest.mark.parametrize(("host", "origin", "status"), [
    ("[::1]:3333", None, 200), ("127.0.0.1:3333", "http://[::1]:5173", 200), ("app.localhost", None, 200),
    ("localhost.evil.com", None, 403), ("127.0.0.1.nip.io", None, 403), ("127.0.0.1", "null", 403),
    ("127.0.0.1", "http://localhost.evil.com", 403), ("127.0.0.1", "file://", 403), ("", None, 403),
])
def test_host_and_origin_variants(live, host, origin, status):
    headers = {"Authorization": f"Bearer {live.token}", "Host": host}
    if origin is not None:
        headers["Origin"] = origin
    assert httpx.get(live.url + "/api/stats", headers=headers).status_code == status


def test_token_guards_messages_and_every_api_route(live):
    """Every /api route and the SSE message endpoint answer 401 without the token (only /health, / and the
    UI's static shell are open); the OpenAPI document lists the routes."""
    doc = httpx.get(live.url + "/api/openapi.json", headers={"Authorization": f"Bearer {live.token}"}).json()
    routes = [(m.upper(), p.replace("{id}", "1").replace("{session_id}", "s1")) for p, ops in doc["paths"].items()
              for m in ops if p.startswith("/api")]
    assert len(routes) >= 25
    for method, path in routes + [("POST", "/messages/?session_id=0123456789abcdef0123456789abcdef")]:
        assert httpx.request(method, live.url + path, json={}).status_code == 401, (method, path)
    assert httpx.get(live.url + "/health").status_code == 200


def test_extra_host_from_memory_host(runtime):
    """MEMORY_HOST names one more host the guard accepts (the app built by build_app, over real HTTP on
    127.0.0.1 with that name in the Host header)."""
    import dataclasses
    import threading
    import time

    import uvicorn

    from claude_memory.runtime import Runtime
    from claude_memory.web.app import build_app
    from conftest import free_port

    settings = dataclasses.replace(runtime.settings, host="memory.lan")
    rt = Runtime(settings, runtime.db, runtime.embedder, runtime.memories, runtime.searcher, runtime.cache,
                 runtime.overview)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api/stats"
        assert httpx.get(url, headers={"Host": "memory.lan:3333"}).status_code == 200
        assert httpx.get(url, headers={"Host": "other.lan"}).status_code == 403
        assert httpx.get(url, headers={"Origin": "http://memory.lan:3333"}).status_code == 200
    finally:
        server.should_exit = True
        thread.join(30)
