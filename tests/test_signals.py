"""Signals without an LLM, the preferences read model, startup_context and the Claude Code hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from claude_memory.context import startup_context
from claude_memory.hooks import install
from claude_memory.preferences import preferences
from claude_memory.signals import extract
from conftest import DATA, FIXTURES, ROOT, start_server, stop_server
from test_import_claude_code import do_import, rows

TREE = FIXTURES / "claude_code"


def test_correction_detector_meets_its_targets_on_the_labelled_set(tmp_path):
    data = DATA / "corrections.jsonl"
    labelled = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    assert len(labelled) >= 80 and {r["label"] for r in labelled} == {True, False}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "corrections.py"), "--data", str(data)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    last = out.strip().splitlines()[-1]
    precision, recall = (float(part.split("=")[1]) for part in last.split())
    assert precision >= 0.9 and recall >= 0.75, out
    other = tmp_path / "other.jsonl"
    other.write_text('{"text": "No, that looks great", "label": false}\n'
                     '{"text": "stop, use pnpm instead", "label": true}\n')
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "corrections.py"), "--data", str(other)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "precision=1.000 recall=1.000"


def _snapshot(rt):
    return rows(rt, "SELECT id, content, tags, updated_at, deleted_at, evidence FROM memories ORDER BY id")


def test_signals_find_corrections_and_patterns_and_a_rerun_changes_nothing(runtime):
    do_import(runtime, claude_code_dir=TREE)
    first = extract(runtime.memories)
    assert first.sessions == 7 and first.corrections >= 1
    correction = rows(runtime, "SELECT content, tags, project FROM memories WHERE 'signal:correction' = ANY(tags)")
    scroll = [c for c in correction if "xterm.js still does not work" in c[0]]
    assert scroll and "after Claude" in scroll[0][0] and scroll[0][2] == "spotter"
    assert {"type:preference", "source:signals", "project:spotter"} <= set(scroll[0][1])
    patterns = dict(rows(runtime, "SELECT content, project FROM memories WHERE 'type:pattern' = ANY(tags)"))
    demo = [c for c, p in patterns.items() if p == "Demo"]
    assert any(c.startswith("Workflow fingerprint for Demo") for c in demo)
    assert any(c.startswith("Command habits in Demo") for c in demo)
    before = _snapshot(runtime)
    again = extract(runtime.memories)
    assert again.sessions == 0 and again.corrections == 0
    assert _snapshot(runtime) == before


def _session(sid: str, cwd: str, files: list[str], commands: list[str]) -> str:
    lines, parent = [], None
    for i, (f, c) in enumerate(zip(files, commands, strict=True)):
        uid = f"{sid}-{i}"
        rec = {"type": "assistant", "sessionId": sid, "uuid": uid, "parentUuid": parent, "cwd": cwd,
               "timestamp": f"2026-02-0{1 + i % 8}T10:00:00Z",
               "message": {"id": f"m-{uid}", "role": "assistant", "content": [
                   {"type": "tool_use", "id": f"t{uid}", "name": "Edit", "input": {"file_path": f"{cwd}/{f}"}},
                   {"type": "tool_use", "id": f"b{uid}", "name": "Bash", "input": {"command": c}}]}}
        lines.append(json.dumps(rec))
        parent = uid
    return "\n".join(lines) + "\n"


def test_patterns_are_refreshed_in_place_and_a_deleted_one_stays_deleted(runtime, tmp_path):
    root = tmp_path / "projects" / "-srv-shop"
    root.mkdir(parents=True)
    (root / "a.jsonl").write_text(_session("a", "/srv/shop", ["src/cart.py", "README.md"],
                                           ["pytest -q", "git status"]))
    (root / "b.jsonl").write_text(_session("b", "/srv/shop", ["src/cart.py", "src/api.py"],
                                           ["pytest -q tests", "git diff"]))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    extract(runtime.memories)
    ids = dict(rows(runtime, "SELECT t, id FROM memories, unnest(tags) t WHERE t LIKE 'pattern:%'"))
    assert set(ids) == {"pattern:workflow", "pattern:commands", "pattern:hotspots"}
    hot = rows(runtime, "SELECT content, evidence FROM memories WHERE id = %s", ids["pattern:hotspots"])[0]
    assert "src/cart.py (2 sessions)" in hot[0] and "src/api.py" not in hot[0] and hot[1] == 2
    runtime.memories.delete(ids["pattern:workflow"])
    (root / "c.jsonl").write_text(_session("c", "/srv/shop", ["src/api.py", "src/cart.py"],
                                           ["pnpm test", "pytest"]))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    summary = extract(runtime.memories)
    assert summary.sessions == 1 and summary.patterns_kept_deleted == 1 and summary.patterns_created == 0
    after = dict(rows(runtime, "SELECT t, id FROM memories, unnest(tags) t WHERE t LIKE 'pattern:%'"))
    assert after == ids  # same rows, updated in place
    hot = rows(runtime, "SELECT content, evidence FROM memories WHERE id = %s", ids["pattern:hotspots"])[0]
    assert "src/cart.py (3 sessions)" in hot[0] and "src/api.py (2 sessions)" in hot[0] and hot[1] == 3
    assert rows(runtime, "SELECT deleted_at IS NOT NULL FROM memories WHERE id = %s",
                ids["pattern:workflow"]) == [(True,)]


def test_signals_dry_run_writes_nothing(runtime):
    do_import(runtime, claude_code_dir=TREE)
    before = _snapshot(runtime)
    summary = extract(runtime.memories, dry_run=True)
    assert summary.sessions == 7 and summary.corrections >= 1 and summary.patterns_created >= 2
    assert _snapshot(runtime) == before
    assert rows(runtime, "SELECT count(*) FROM imported_sessions WHERE signals_extracted") == [(0,)]


def _learned(runtime):
    do_import(runtime, claude_code_dir=TREE)
    extract(runtime.memories)
    mem = runtime.memories
    mem.save("Always use pnpm, never npm, in the Demo web app", tags=["type:preference"], project="Demo")
    mem.save("Prefers to see a failing test before any fix", tags=["type:behavior", "source:behavioral"],
             force=True)
    mem.save("Distilled: the todo app's state moved to a reducer; tests cover every action",
             tags=["distilled"], project="Demo")


def test_startup_context_puts_explicit_first_stays_in_budget_and_accepts_a_cwd(runtime):
    _learned(runtime)
    text = startup_context(runtime.memories, "Demo", budget=2048)
    assert len(text.encode()) <= 2048
    explicit = text.index("Always use pnpm")
    signals = text.index("Workflow fingerprint for Demo")
    inferred = text.index("Prefers to see a failing test")
    assert explicit < signals < inferred < text.index("Distilled: the todo app")
    assert startup_context(runtime.memories, "/path/to/Demo/todo-app/src", budget=2048) == text
    small = startup_context(runtime.memories, "Demo", budget=400)
    assert len(small.encode()) <= 400 and "Always use pnpm" in small
    spotter = startup_context(runtime.memories, "/home/marco/projects/spotter")
    assert "Memory for project spotter" in spotter and "pnpm, never npm" not in spotter  # Demo's preference


def test_startup_context_says_when_it_has_nothing(runtime):
    text = startup_context(runtime.memories, "/home/u/new-project")
    assert "No preferences or patterns learned yet." in text and "No recent work stored for new-project" in text


def test_preferences_endpoint_agrees_with_startup_context(runtime, dsn, tmp_path):
    _learned(runtime)
    model = preferences(runtime.memories, "Demo")
    assert [t["tier"] for t in model["tiers"]] == ["explicit", "signals", "inferred"]
    assert all(0 < e["confidence"] <= 1 and e["evidence"] >= 1 for t in model["tiers"] for e in t["entries"])
    server = start_server(dsn, tmp_path / "data")
    try:
        got = httpx.get(server.url + "/api/preferences", params={"project": "/path/to/Demo"}, timeout=30).json()
    finally:
        stop_server(server)
    assert got["project"] == "Demo"
    assert [[e["id"] for e in t["entries"]] for t in got["tiers"]] == \
        [[e["id"] for e in t["entries"]] for t in model["tiers"]]
    text = startup_context(runtime.memories, "Demo", budget=100_000)
    positions = [text.index(e["content"][:60]) for t in got["tiers"] for e in t["entries"]]
    assert positions == sorted(positions)  # same entries, same order


def _hook(event: str, payload: dict, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "claude_memory", "hook", event], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **env})


def test_hooks_print_context_import_the_session_and_never_fail(runtime, dsn, tmp_path):
    _learned(runtime)
    env = {"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "data"), "TORCH_THREADS": "1",
           "CLAUDE_PROJECTS_DIR": str(tmp_path / "projects")}
    start = _hook("session-start", {"session_id": "x", "cwd": "/path/to/Demo", "source": "startup",
                                    "transcript_path": "/nowhere.jsonl", "hook_event_name": "SessionStart"}, env)
    assert start.returncode == 0, start.stderr
    context = json.loads(start.stdout)["hookSpecificOutput"]
    assert context["hookEventName"] == "SessionStart"
    assert context["additionalContext"] == startup_context(runtime.memories, "Demo", 2048)
    folder = tmp_path / "projects" / "-srv-shop"
    folder.mkdir(parents=True)
    transcript = folder / "shop-1.jsonl"
    transcript.write_text(_session("shop-1", "/srv/shop", ["src/a.py"], ["pytest"]))
    end = _hook("session-end", {"session_id": "shop-1", "cwd": "/srv/shop", "reason": "exit",
                                "transcript_path": str(transcript), "hook_event_name": "SessionEnd"}, env)
    assert end.returncode == 0 and end.stdout == ""
    assert rows(runtime, "SELECT session_id, project FROM imported_sessions WHERE session_id = 'shop-1'") == \
        [("shop-1", "shop")]
    down = {**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"}
    for event in ("session-start", "session-end"):
        failed = _hook(event, {"cwd": "/path/to/Demo", "transcript_path": str(transcript)}, down, timeout=60)
        assert failed.returncode == 0 and failed.stdout == ""
    garbage = subprocess.run([sys.executable, "-m", "claude_memory", "hook", "session-start"], input="not json",
                             capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert garbage.returncode == 0 and garbage.stdout == ""


def test_hooks_install_keeps_other_settings_and_is_idempotent(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    original = {"model": "opus", "permissions": {"allow": ["Bash(git status)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo hi"}]}],
                          "SessionStart": [{"hooks": [{"type": "command", "command": "other-tool start"}]}]}}
    settings.write_text(json.dumps(original))
    out = subprocess.run([sys.executable, "-m", "claude_memory", "hooks", "install", "--settings", str(settings)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "SessionStart, SessionEnd" in out
    data = json.loads(settings.read_text())
    assert data["model"] == "opus" and data["permissions"] == original["permissions"]
    assert data["hooks"]["PreToolUse"] == original["hooks"]["PreToolUse"]
    starts = [h["command"] for e in data["hooks"]["SessionStart"] for h in e["hooks"]]
    env_file = settings.parent / "claude-memory.env"
    assert starts[0] == "other-tool start"
    assert starts[1].endswith(f"-m claude_memory hook session-start --env-file {env_file}")
    assert data["hooks"]["SessionEnd"][0]["hooks"][0]["command"].endswith(f"hook session-end --env-file {env_file}")
    command = starts[1].split(" hook ")[0]
    assert install(settings, command, env_file) == []  # already there
    assert json.loads(settings.read_text()) == data
    assert install(settings, command) == ["SessionStart", "SessionEnd"]  # ours, spelled differently: replaced
    again = json.loads(settings.read_text())["hooks"]["SessionStart"]
    assert [h["command"] for e in again for h in e["hooks"]] == ["other-tool start", f"{command} hook session-start"]
    fresh = tmp_path / "none" / "settings.json"
    assert install(fresh, "claude-memory") == ["SessionStart", "SessionEnd"]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = subprocess.run([sys.executable, "-m", "claude_memory", "hooks", "install", "--settings", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr and broken.read_text() == "{not json"


def test_installed_hooks_read_the_store_the_user_installed_them_with(runtime, dsn, tmp_path):
    """The hook command records the store (data folder, DATABASE_URL) in a user-only file beside
    settings.json, so Claude Code, started from an environment without them, still reads that store."""
    runtime.memories.save("Always run the linters before committing in Demo.", ["type:preference"], "manual", "Demo")
    settings = tmp_path / "claude" / "settings.json"
    store = {"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "data"), "MEMORY_API_TOKEN": "s3cret-token"}
    done = subprocess.run([sys.executable, "-m", "claude_memory", "hooks", "install", "--settings", str(settings)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **store})
    assert done.returncode == 0, done.stderr
    env_file = settings.parent / "claude-memory.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    recorded = env_file.read_text()
    assert f"DATABASE_URL={dsn}" in recorded and f"MEMORY_DATA_DIR={tmp_path / 'data'}" in recorded
    assert "s3cret-token" not in recorded and "s3cret-token" not in settings.read_text()
    assert dsn not in settings.read_text()  # a DATABASE_URL may carry a password: only in the 0600 file
    command = json.loads(settings.read_text())["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    bare = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEMORY_DATA_DIR")}
    bare["MEMORY_DATA_DIR"] = str(tmp_path / "elsewhere")  # what the shell says loses to the recorded store
    out = subprocess.run(command, shell=True, input=json.dumps({"cwd": "/work/Demo", "session_id": "s"}),
                         capture_output=True, text=True, timeout=120, env=bare)
    assert out.returncode == 0
    assert "Always run the linters" in json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
