"""End to end with the real Claude Code CLI (pinned, see tests/claude_cli.py), offline: each test runs
`claude` as a subprocess against a live `claude-memory serve` and a scripted Anthropic Messages API, and
checks that the scripted server received the model requests it expected (so no test can pass with the CLI
talking to anything else)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from anthropic_server import ScriptedAnthropic, Sequence, flatten, text, tool, tool_names, tool_results
from api_helpers import sql
from claude_cli import VERSION, Claude, binary
from claude_memory.importers import claude_code
from claude_memory.web.mcp_tools import INSTRUCTIONS
from conftest import fresh_database, start_server, stop_server, wait_until

PREFIX = "mcp__claude-memory__"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def exe() -> Path:
    return binary()


@pytest.fixture(scope="module")
def live(server_dsn, tmp_path_factory) -> Iterator[tuple]:
    tmp = tmp_path_factory.mktemp("claude-e2e")
    gen = fresh_database(server_dsn)
    dsn = next(gen)
    server = start_server(dsn, tmp / "data")
    yield server, dsn, tmp / "data"
    stop_server(server)
    next(gen, None)


def user_of(exe: Path, home: Path, api: ScriptedAnthropic, live: tuple) -> Claude:
    """A Claude Code user whose hooks and stdio server reach the same store as the live server."""
    _, dsn, data = live
    return Claude(exe, home, api.url, DATABASE_URL=dsn, MEMORY_DATA_DIR=str(data), TORCH_THREADS="1")


def register_http(claude: Claude, port: int) -> None:
    done = claude.run("mcp", "add", "--scope", "user", "--transport", "http", "claude-memory",
                      f"http://localhost:{port}/mcp")
    assert done.returncode == 0, done.stderr


def install_hooks(claude: Claude) -> None:
    done = subprocess.run([sys.executable, "-m", "claude_memory", "hooks", "install"], capture_output=True,
                          text=True, timeout=60, env=claude.env)
    assert done.returncode == 0, done.stderr
    assert (claude.config / "settings.json").exists()


def project_dir(tmp: Path, name: str) -> Path:
    path = tmp / "work" / name
    path.mkdir(parents=True)
    return path


def test_version_is_the_pinned_one(exe):
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith(VERSION)


@pytest.mark.parametrize("transport", ["http", "sse", "stdio"])
def test_registered_on_each_transport_it_is_connected_and_its_tools_answer(exe, live, tmp_path, transport):
    """The README's `claude mcp add` command for each transport; `claude mcp list` says connected; a model
    that loads get_stats through ToolSearch and calls it receives our JSON."""
    server = live[0]
    api = ScriptedAnthropic(Sequence(tool("ToolSearch", {"query": f"select:{PREFIX}get_stats"}),
                                     tool(PREFIX + "get_stats", {}), text("Stats read.")))
    claude = user_of(exe, tmp_path / "home", api, live)
    command = {
        "http": ["--transport", "http", "claude-memory", f"http://localhost:{server.port}/mcp"],
        "sse": ["--transport", "sse", "claude-memory", f"http://localhost:{server.port}/sse"],
        "stdio": ["claude-memory", "--", str(VENV_BIN / "claude-memory"), "mcp", "--stdio"],
    }[transport]
    added = claude.run("mcp", "add", "--scope", "user", *command)
    assert added.returncode == 0, added.stderr
    listed = claude.run("mcp", "list", timeout=240)
    line = next((x for x in listed.stdout.splitlines() if x.startswith("claude-memory:")), "")
    assert "Connected" in line, listed.stdout + listed.stderr
    result = claude.ask("How many memories are stored?", project_dir(tmp_path, "stats"),
                        "--allowedTools", PREFIX + "get_stats", timeout=300)
    assert result["is_error"] is False and result["result"] == "Stats read."
    main = api.main_requests()
    assert len(main) == 3  # the question, the ToolSearch result, the get_stats result
    assert PREFIX + "get_stats" not in tool_names(main[0])  # MCP tools arrive deferred …
    assert PREFIX + "get_stats" in tool_names(main[1])  # … and ToolSearch loaded it
    stats = json.loads(tool_results(main[2])[-1].removeprefix("text\n"))
    assert {"total_memories", "sessions"} <= set(stats)
    api.close()


def test_session_start_hook_puts_the_startup_context_and_instructions_in_the_first_request(exe, live, tmp_path):
    server, dsn, _ = live
    api = ScriptedAnthropic(Sequence(text("Noted.")))
    claude = user_of(exe, tmp_path / "home", api, live)
    register_http(claude, server.port)
    install_hooks(claude)
    cwd = project_dir(tmp_path, "shopfront")
    preference = "In shopfront always use pnpm, never npm, for installing packages."
    saved = subprocess.run(
        [sys.executable, "-c", "import httpx,sys; r = httpx.post(sys.argv[1] + '/api/memories', json={"
         "'content': sys.argv[2], 'tags': ['type:preference'], 'project': 'shopfront'}); print(r.status_code)",
         server.url, preference], capture_output=True, text=True, timeout=60)
    assert saved.stdout.strip() in ("200", "201"), saved.stderr
    result = claude.ask("What package manager do we use?", cwd)
    assert result["result"] == "Noted."
    main = api.main_requests()
    assert len(main) == 1
    first = flatten(main[0].get("system")) + "\n" + flatten(main[0]["messages"])
    assert "# Memory for project shopfront" in first and preference in first
    assert INSTRUCTIONS.splitlines()[0] in first  # the MCP server's instructions reach the model


def test_tool_calls_save_a_memory_and_find_it_again(exe, live, tmp_path):
    server, dsn, _ = live
    fact = "We chose uv over pip for the installer because it resolves the lock in seconds."
    api = ScriptedAnthropic(Sequence(
        tool("ToolSearch", {"query": f"select:{PREFIX}save_memory,{PREFIX}hybrid_search"}),
        tool(PREFIX + "save_memory", {"content": fact, "tags": ["decision"], "project": "installer"}),
        tool(PREFIX + "hybrid_search", {"query": "why uv instead of pip", "project": "installer"}),
        text("Saved and found.")))
    claude = user_of(exe, tmp_path / "home", api, live)
    register_http(claude, server.port)
    result = claude.ask("Remember why we use uv.", project_dir(tmp_path, "installer"),
                        "--allowedTools", f"{PREFIX}save_memory {PREFIX}hybrid_search")
    assert result["result"] == "Saved and found."
    main = api.main_requests()
    assert len(main) == 4
    results = tool_results(main[-1])
    saved = json.loads(results[-2].removeprefix("text\n"))
    found = json.loads(results[-1].removeprefix("text\n"))
    assert saved["status"] == "saved" and isinstance(saved["id"], int)
    assert found["results"][0]["id"] == saved["id"] and found["results"][0]["content"] == fact
    assert sql(dsn, "SELECT content, project, tags FROM memories WHERE id = %s", saved["id"]) == \
        [(fact, "installer", ["decision"])]


def test_session_end_hook_imports_the_session(exe, live, tmp_path):
    server, dsn, _ = live
    api = ScriptedAnthropic(Sequence(text("The retry budget is three attempts with jittered backoff.")))
    claude = user_of(exe, tmp_path / "home", api, live)
    install_hooks(claude)
    prompt = "Explain the retry budget we settled on for the payment webhooks, in one sentence."
    result = claude.ask(prompt, project_dir(tmp_path, "payments"))
    session = result["session_id"]
    assert len(api.main_requests()) == 1
    wait_until(lambda: sql(dsn, "SELECT 1 FROM imported_sessions WHERE session_id = %s", session), timeout=60)
    assert sql(dsn, "SELECT project FROM imported_sessions WHERE session_id = %s", session) == [("payments",)]
    texts = [r[0] for r in sql(dsn, "SELECT content FROM memories WHERE session_id = %s", session)]
    assert prompt in texts
    assert not any("Memory for project" in t or "system-reminder" in t for t in texts)  # our context stays out


def test_the_transcript_it_wrote_imports_with_no_unknown_record_types(exe, live, tmp_path):
    server, dsn, _ = live
    api = ScriptedAnthropic(Sequence(
        tool("ToolSearch", {"query": f"select:{PREFIX}list_tags"}), tool(PREFIX + "list_tags", {}),
        text("Tags listed.")))
    claude = user_of(exe, tmp_path / "home", api, live)
    register_http(claude, server.port)
    install_hooks(claude)
    result = claude.ask("Which tags do my memories have?", project_dir(tmp_path, "tags"),
                        "--allowedTools", PREFIX + "list_tags")
    assert len(api.main_requests()) == 3
    files = claude.transcripts()
    assert [f.stem for f in files] == [result["session_id"]]
    parsed = claude_code.parse_file(files[0])
    assert not [r for r in parsed.skipped if r.startswith("unknown type")], parsed.skipped
    kinds = {r.removeprefix("metadata: ") for r in parsed.skipped if r.startswith("metadata: ")}
    assert {"attachment", "api-request", "tools-used"} <= kinds
    assert set(parsed.skipped) <= {f"metadata: {t}" for t in claude_code.METADATA_TYPES} | {"metadata: system"}
    messages = parsed.sessions[result["session_id"]].messages
    assert [m.role for m in messages if m.kind == "text"][0] == "user"
    assert any(b.get("name") == PREFIX + "list_tags" for m in messages for b in m.blocks)
