"""Clear answers to bad input through the public surfaces (MCP client, HTTP, the CLI as a subprocess), and
the server's process behaviour: a taken port, SIGTERM/SIGHUP, websocket requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import psycopg2
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from conftest import FIXTURES, ROOT, free_port, start_server, stop_server, wait_until


@pytest.fixture
def live(dsn, tmp_path):
    server = start_server(dsn, tmp_path / "data")
    yield server
    stop_server(server)


BAD_CALLS = [
    ("save_memory", {"content": "a fine memory", "project": "a\x00b"}, "NUL"),
    ("save_memory", {"content": "a fine memory", "source": "s\x00"}, "NUL"),
    ("save_memory", {"content": "a fine memory", "project": "p" * 10_000}, "longer than 500"),
    ("save_memory", {"content": "\x00\x00"}, "non-empty"),
    ("semantic_search", {"query": "\x00"}, "non-empty"),
    ("semantic_search", {"query": "x", "project": "a\x00b"}, "NUL"),
    ("search_memories", {"query": "x", "project": "a\x00b"}, "NUL"),
    ("hybrid_search", {"query": "x", "since": "9999-12-31T23:59:59-05:00"}, "outside the supported range"),
    ("list_memories", {"before": "0001-01-01T00:00:00+05:00"}, "outside the supported range"),
    ("list_memories", {"tag": "t\x00"}, "NUL"),
    ("recent_context", {"project": "a\x00b"}, "NUL"),
    ("bulk_delete", {"project": "a\x00b"}, "NUL"),
    ("export_memories", {"project": "a\x00b"}, "NUL"),
    ("startup_context", {"project": "a\x00b"}, "NUL"),
    ("startup_context", {"project": "p" * 100_000}, "longer than 500"),
    ("get_memory", {"memory_id": 2**70}, "positive integer"),
]


def test_every_bad_tool_parameter_is_a_clear_tool_error(live, tmp_path):
    async def main() -> list[str]:
        out = []
        async with Client(live.url + "/mcp") as client:
            saved = json.loads((await client.call_tool("save_memory", {"content": "Keep me intact."})).content[0].text)
            for name, args, needle in BAD_CALLS:
                with pytest.raises(ToolError) as info:
                    await client.call_tool(name, args)
                assert needle in str(info.value), (name, args, str(info.value))
                out.append(str(info.value))
            with pytest.raises(ToolError, match="non-empty"):
                await client.call_tool("update_memory", {"memory_id": saved["id"], "content": "\x00"})
            same = json.loads((await client.call_tool("update_memory", {"memory_id": saved["id"],
                                                                         "content": "Keep me intact."})).content[0].text)
            assert same["updated"] is False and same["status"] == "unchanged"
            got = json.loads((await client.call_tool("get_memory", {"memory_id": saved["id"]})).content[0].text)
            assert got["content"] == "Keep me intact."
        return out

    messages = asyncio.run(main())
    assert all(not m.startswith("Error calling tool") for m in messages)
    server_log = (tmp_path / f"server-{live.port}.log").read_text()
    assert "Traceback" not in server_log


def cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "claude_memory", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=300, **kw)


def test_hooks_install_into_a_directory_is_one_line_exit_2(tmp_path):
    out = cli("hooks", "install", "--settings", str(tmp_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == f"claude-memory: {tmp_path} is a directory; give the settings.json file"


def test_import_of_a_missing_or_broken_claude_ai_file_exits_non_zero_after_the_summary(dsn, tmp_path):
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "TORCH_THREADS": "1"}
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    for path in (tmp_path / "missing.json", broken):
        out = cli("import", "--claude-ai", str(path), env=env)
        assert out.returncode == 1 and "files:" in out.stdout, out.stderr
        assert "--claude-ai" in out.stderr and "Traceback" not in out.stderr
    notes = tmp_path / "note.md"
    notes.write_text("A note long enough to become a memory about the deploy checklist and its order.")
    mixed = cli("import", "--text", str(notes), "--claude-ai", str(broken), env=env)
    assert mixed.returncode == 1 and "memories: 1 new" in mixed.stdout  # the rest was imported


def test_dry_run_counts_new_sessions_as_the_real_run_does(dsn, tmp_path):
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "TORCH_THREADS": "1"}
    tree = str(FIXTURES / "claude_code" / "projects" / "-home-marco-projects-spotter")
    dry = cli("import", "--projects-dir", tree, "--dry-run", "--json", env=env)
    real = cli("import", "--projects-dir", tree, "--json", env=env)
    d, r = json.loads(dry.stdout), json.loads(real.stdout)
    assert d["sessions"] == r["sessions"] == 2 and d["new_sessions"] == r["new_sessions"] == 2
    again = json.loads(cli("import", "--projects-dir", tree, "--dry-run", "--json", env=env).stdout)
    assert again["new_sessions"] == 0


def test_serve_on_a_taken_port_says_so_and_exits_non_zero(dsn, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path), "MEMORY_PORT": str(port)}
        out = subprocess.run([sys.executable, str(ROOT / "server.py")], env=env, capture_output=True, text=True,
                             timeout=120)
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "may already be running" in out.stderr
    assert "listening on" not in out.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_the_embedded_postgres(tmp_path, signum):
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MEMORY_DATA_DIR": str(data), "MEMORY_PORT": str(port), "TORCH_THREADS": "1"})
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=180, interval=0.5)
    pid_file = data / "pgdata" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    proc.send_signal(signum)
    assert proc.wait(60) == 0

    def gone() -> bool:
        try:
            os.kill(postmaster, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, timeout=30, interval=0.2)


def test_websocket_requests_are_closed_properly(live):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as conn:
        conn.sendall((f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        reply = conn.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 403"), reply[:200]


def _distilled_session(rt, sid: str = "sess-1") -> tuple[list[int], int]:
    from claude_memory.db import distill as dq

    mem = rt.memories
    raw = [mem.save(f"Raw turn {i}: we talked about the nightly export job and its retry policy number {i}.",
                    ["claude-code-session"], "claude-code/sess", "proj", force=True, session_id=sid)["id"]
           for i in range(3)]
    distilled = mem.save("The nightly export job retries three times, then pages the on-call.",
                         ["distilled"], "distill/sess", "proj", force=True, session_id=sid)["id"]
    with rt.db.cursor() as cur:
        dq.hide_raw(cur, sid, distilled)
    return raw, distilled


def _statuses(rt, ids):
    return [rt.memories.get(i)["status"] for i in ids]


def test_raw_memories_are_hidden_only_while_an_active_distilled_memory_exists(runtime):
    mem = runtime.memories
    raw, distilled = _distilled_session(runtime)
    assert _statuses(runtime, raw) == ["superseded"] * 3
    mem.delete(distilled)
    assert _statuses(runtime, raw) == ["active"] * 3
    assert {h["id"] for h in runtime.searcher.keyword("nightly export retry policy")["results"]} >= set(raw)
    mem.restore(distilled)
    assert _statuses(runtime, raw) == ["superseded"] * 3
    mem.delete(distilled)
    mem.purge(distilled)
    assert _statuses(runtime, raw) == ["active"] * 3


def test_restore_brings_back_a_superseded_memory_and_bulk_delete_covers_superseded_rows(runtime):
    mem = runtime.memories
    raw, distilled = _distilled_session(runtime, "sess-2")
    got = mem.restore(raw[0])
    assert got["restored"] and "superseded" in got["message"] and _statuses(runtime, raw[:1]) == ["active"]
    preview = mem.bulk_delete(project="proj")
    assert preview["would_delete"] == 4
    mem.bulk_delete(project="proj", dry_run=False)
    assert _statuses(runtime, raw + [distilled]) == ["deleted"] * 4


def test_the_embedded_postgres_killed_under_a_running_server_comes_back(tmp_path):
    """SIGKILL of the embedded PostgreSQL: /health answers 503 and tools give a clear error, then the
    server starts it again by itself and every surface works, with nothing lost, without a restart."""
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MEMORY_DATA_DIR": str(data), "MEMORY_PORT": str(port), "TORCH_THREADS": "1"})
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 — closed below
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                r = httpx.get(url + "/health", timeout=5)
            except httpx.HTTPError:
                return False
            return r.status_code == 200 and r.json().get("model") == "ready"

        wait_until(up, timeout=180, interval=0.5)
        saved = httpx.post(url + "/api/memories", json={"content": "The nightly export runs at 02:00 UTC."},
                           timeout=60).json()
        postmaster = int((data / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        wait_until(lambda: not _alive(postmaster), timeout=30, interval=0.1)
        down = httpx.get(url + "/health", timeout=30)
        assert down.status_code == 503 and down.json()["status"] == "degraded"

        async def tool_error() -> str:
            async with Client(url + "/mcp", timeout=60) as client:
                try:
                    await client.call_tool("get_stats", {})
                except ToolError as exc:
                    return str(exc)
                return "answered"

        first = asyncio.run(tool_error())
        assert first == "answered" or "database" in first  # a clear reason, or already back

        wait_until(lambda: httpx.get(url + "/health", timeout=30).status_code == 200, timeout=90, interval=0.5)
        got = httpx.get(url + f"/api/memories/{saved['id']}", timeout=30)
        assert got.status_code == 200 and got.json()["content"] == "The nightly export runs at 02:00 UTC."
        hits = httpx.post(url + "/api/search", json={"query": "nightly export", "mode": "hybrid"}, timeout=60).json()
        assert hits["results"][0]["id"] == saved["id"]

        async def tools_work() -> dict:
            async with Client(url + "/mcp", timeout=60) as client:
                await client.call_tool("save_memory", {"content": "Backups are kept for fourteen days."})
                result = await client.call_tool("search_memories", {"query": "backups fourteen days"})
                return json.loads(result.content[0].text)

        assert asyncio.run(tools_work())["results"][0]["content"] == "Backups are kept for fourteen days."
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_server_killed_during_long_saves_leaves_no_memory_without_its_vectors(dsn, tmp_path):
    """SIGKILL of the server at several moments of a long save: each memory in the store has its vector
    and, when longer than the model's window, all its window vectors (one transaction), and the server
    started again works."""
    import random
    import threading
    import time

    rng = random.Random(9)
    words = ["ledger", "retry", "cache", "worker", "schema", "token", "deploy", "queue", "metric", "parser"]
    for delay in (0.3, 1.0, 2.5):
        server = start_server(dsn, tmp_path / "data")
        text = " ".join(rng.choice(words) for _ in range(12_000)) + f" (delay {delay})"

        def save(body: str = text, url: str = server.url) -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url + "/api/memories", json={"content": body}, timeout=120)

        thread = threading.Thread(target=save)
        thread.start()
        time.sleep(delay)
        server.proc.kill()
        server.proc.wait(30)
        thread.join(60)
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT m.id, m.embedding IS NOT NULL, length(m.content), count(c.memory_id)"
                        " FROM memories m LEFT JOIN memory_chunks c ON c.memory_id = m.id GROUP BY m.id")
            for mid, has_vector, length, chunks in cur.fetchall():
                assert has_vector, mid
                assert length < 2000 or chunks >= 2, (mid, length, chunks)
    server = start_server(dsn, tmp_path / "data")
    try:
        ok = httpx.post(server.url + "/api/memories", json={"content": "The store is fine after the kills."},
                        timeout=60)
        assert ok.status_code in (200, 201), ok.text
    finally:
        stop_server(server)
