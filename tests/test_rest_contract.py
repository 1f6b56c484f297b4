"""The REST API's contract: schemathesis drives every operation from /api/openapi.json on a live seeded
server (no 5xx, no reply outside the schema), the token and Origin guards answer every operation, and the
delete / restore / purge / bulk endpoints change exactly what the MCP tools change."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastmcp import Client
from hypothesis import HealthCheck, given, settings

from api_helpers import Api, seeded_server, sql

TOKEN = "contract-token"
SCHEMATHESIS = Path(sys.executable).with_name("st")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,negative_data_rejection,unsupported_method,allow_header_conformance")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def guarded(server_dsn, embedder, tmp_path_factory):
    with seeded_server(server_dsn, tmp_path_factory.mktemp("contract"), embedder,
                       MEMORY_API_TOKEN=TOKEN) as (server, dsn):
        yield server


@pytest.fixture(scope="module")
def operations(guarded):
    loaded = schemathesis.openapi.from_url(guarded.url + "/api/openapi.json", headers=AUTH)
    return [r.ok() for r in loaded.get_all_operations()]


def test_schemathesis_finds_no_server_error_and_no_reply_outside_the_schema(guarded, tmp_path):
    """Every operation, positive and negative data, the coverage and fuzzing phases, bounded examples."""
    cmd = [str(SCHEMATHESIS), "run", guarded.url + "/api/openapi.json", "-H", f"Authorization: Bearer {TOKEN}",
           "--checks", CHECKS, "--max-examples", "25", "--phases", "examples,coverage,fuzzing",
           "--workers", "1", "--generation-deterministic", "--no-color", "--request-timeout", "60"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    tested = re.search(r"Tested:\s+(\d+)", out.stdout)
    generated = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert tested and int(tested.group(1)) == _operation_count(guarded), out.stdout[-2000:]
    assert generated and generated.group(1) == generated.group(2) and int(generated.group(1)) > 500, out.stdout[-2000:]


def _operation_count(server) -> int:
    """Operations in the document, less the document itself (schemathesis does not test the schema's URL)."""
    doc = httpx.get(server.url + "/api/openapi.json", headers=AUTH).json()
    return sum(len(ops) for ops in doc["paths"].values()) - 1


def _cases(op, n: int) -> list[Any]:
    found: list[Any] = []

    @given(case=op.as_strategy())
    @settings(max_examples=n, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
              database=None)
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


def test_every_operation_needs_the_token(guarded, operations):
    assert len(operations) == _operation_count(guarded)
    assert httpx.get(guarded.url + "/api/openapi.json").status_code == 401
    for op in operations:
        for case in _cases(op, 2):
            response = case.call(base_url=guarded.url)
            if op.path == "/health":
                assert response.status_code in (200, 503)
                continue
            assert response.status_code == 401, (case.method, op.path, response.text[:200])
            assert response.json()["error"].startswith("unauthorized")
            assert case.call(base_url=guarded.url, headers={"Authorization": "Bearer wrong"}).status_code == 401
            # the token is read from the Authorization header only, never from the query string
            leaked = case.call(base_url=guarded.url, params={**(case.query or {}), "token": TOKEN,
                                                             "access_token": TOKEN})
            assert leaked.status_code == 401


def test_every_operation_refuses_a_foreign_origin_or_host(guarded, operations):
    for op in operations:
        for case in _cases(op, 1):
            evil = case.call(base_url=guarded.url, headers={**AUTH, "Origin": "http://evil.example.com"})
            assert evil.status_code == 403, (case.method, op.path)
            host = case.call(base_url=guarded.url, headers={**AUTH, "Host": "localhost.evil.com"})
            assert host.status_code == 403, (case.method, op.path)


# --- REST and MCP change the same rows -----------------------------------------------------------
STATE = ("SELECT id, content, tags, project, deleted_at IS NOT NULL, superseded_by FROM memories ORDER BY id")


def _ids(dsn: str) -> tuple[int, int, int]:
    rows = sql(dsn, "SELECT id FROM memories WHERE project = 'Demo' AND deleted_at IS NULL ORDER BY id LIMIT 3")
    return rows[0][0], rows[1][0], rows[2][0]


def _via_rest(url: str, dsn: str) -> list[object]:
    api = Api(url)
    a, b, c = _ids(dsn)
    replies = [
        api.ok("DELETE", f"/api/memories/{a}"), api.ok("POST", f"/api/memories/{a}/restore"),
        api.ok("DELETE", f"/api/memories/{b}"), api.ok("POST", f"/api/memories/{b}/purge"),
        api.ok("DELETE", f"/api/memories/{c}"), api.ok("DELETE", f"/api/memories/{c}"),
        api.ok("DELETE", "/api/memories", params={"project": "tmp"}),
        api.ok("DELETE", "/api/memories", params={"project": "tmp", "dry_run": "false"}),
        api.ok("DELETE", "/api/memories", params={"tag": "role:user", "source": "claude-code/d6e0bada",
                                                  "dry_run": "false"}),
    ]
    return replies


def _via_mcp(url: str, dsn: str) -> list[object]:
    a, b, c = _ids(dsn)
    calls = [("delete_memory", {"memory_id": a}), ("restore_memory", {"memory_id": a}),
             ("delete_memory", {"memory_id": b}), ("purge_memory", {"memory_id": b}),
             ("delete_memory", {"memory_id": c}), ("delete_memory", {"memory_id": c}),
             ("bulk_delete", {"project": "tmp"}), ("bulk_delete", {"project": "tmp", "dry_run": False}),
             ("bulk_delete", {"tag": "role:user", "source": "claude-code/d6e0bada", "dry_run": False})]

    async def main() -> list[object]:
        async with Client(url + "/mcp") as client:
            return [json.loads((await client.call_tool(name, args)).content[0].text) for name, args in calls]

    return asyncio.run(main())


def test_rest_and_mcp_delete_restore_purge_and_bulk_delete_change_the_same_rows(server_dsn, embedder,
                                                                                tmp_path):
    with seeded_server(server_dsn, tmp_path / "rest", embedder) as (rest_server, rest_dsn), \
            seeded_server(server_dsn, tmp_path / "mcp", embedder) as (mcp_server, mcp_dsn):
        before = sql(rest_dsn, STATE)
        assert before == sql(mcp_dsn, STATE)
        rest_replies = _via_rest(rest_server.url, rest_dsn)
        mcp_replies = _via_mcp(mcp_server.url, mcp_dsn)
        after = sql(rest_dsn, STATE)
        assert after == sql(mcp_dsn, STATE)
        assert after != before and len(after) == len(before) - 1
        assert rest_replies == mcp_replies
        assert sql(rest_dsn, "SELECT count(*) FROM memories WHERE project = 'tmp' AND deleted_at IS NULL") == [(0,)]
