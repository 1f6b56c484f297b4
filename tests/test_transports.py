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
