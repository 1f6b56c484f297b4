"""Signals without an LLM, the preferences read model, startup_context and the Claude Code hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from claude_memory.hooks import install
from claude_memory.learning.context import startup_context
from claude_memory.learning.preferences import preferences
from claude_memory.learning.signals import extract
from conftest import DATA, FIXTURES, ROOT, start_server, stop_server
from test_import_claude_code import do_import, rows

TREE = FIXTURES / "claude_code"


PROBES_CORRECTIONS = {"Leave the tests alone.", "We agreed on snake_case for these.",
                      "That's the opposite of what I need.", "Too verbose, cut it down to two sentences."}
PROBES_REQUESTS = {"Now add a --verbose flag; use argparse rather than click since it's stdlib.",
                   "Please never log the raw token in the new endpoint.", "Is it still failing on CI or only locally?"}


def test_correction_detector_meets_its_targets_by_cross_validation(tmp_path):
    """The development set (≥ 300 labelled messages, the twenty probe messages among them) scored by
    10-fold cross-validation: every message predicted by a model fitted without it."""
    data = DATA / "corrections.jsonl"
    labelled = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    assert len(labelled) >= 300 and {r["label"] for r in labelled} == {True, False}
    probes = [r for r in labelled if r.get("kind") == "probe"]
    assert len(probes) == 20 and sum(r["label"] for r in probes) == 10
    by_text = {r["text"]: r["label"] for r in probes}
    assert all(by_text[t] for t in PROBES_CORRECTIONS) and not any(by_text[t] for t in PROBES_REQUESTS)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "corrections.py"), "--data", str(data)],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    assert out.startswith("10-fold cross-validation")
    last = out.strip().splitlines()[-1]
    precision, recall = (float(part.split("=")[1]) for part in last.split())
    assert precision >= 0.9 and recall >= 0.7, out
    other = tmp_path / "other.jsonl"  # not the development set: scored with the shipped model as it is
    other.write_text('{"text": "Perfect, thanks! Now add the export button.", "label": false,'
                     ' "context": "used Edit on src/app.py"}\n'
                     '{"text": "No, that is the wrong file. Revert it.", "label": true,'
                     ' "context": "used Edit on src/app.py"}\n')
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "corrections.py"), "--data", str(other)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert out.startswith("held out") and out.strip().splitlines()[-1] == "precision=1.000 recall=1.000", out


def _snapshot(rt):
    return rows(rt, "SELECT id, content, tags, updated_at, deleted_at, evidence FROM memories ORDER BY id")


# Every prompt in the fixtures that follows an action of Claude's, labelled by hand: the two corrections
# ("still does not work" after Claude's fix; "wow error" right after Claude's MultiEdit), and the two
# that are not ("Thanks! Please update CLAUDE.md…", the long markdown test message).
FIXTURE_CORRECTIONS = {("spotter", "scrolling back in xterm.js still does not work"), ("tmp", "wow error")}


def test_signals_find_exactly_the_fixture_corrections_and_actionable_patterns(runtime):
    do_import(runtime, claude_code_dir=TREE)
    first = extract(runtime.memories)
    assert first.sessions == 7 and first.corrections == 2
    found = rows(runtime, "SELECT content, tags, project, evidence FROM memories"
                          " WHERE 'signal:correction' = ANY(tags) ORDER BY id")
    assert {(p, c.split('"')[1][:len(t)]) for c, _, p, _ in found for pp, t in FIXTURE_CORRECTIONS
            if pp == p} == FIXTURE_CORRECTIONS
    scroll = next(r for r in found if "xterm.js" in r[0])
    assert "after Claude ran `tail" in scroll[0] and scroll[3] == 1  # one session: a candidate
    assert {"type:preference", "source:signals", "project:spotter"} <= set(scroll[1])
    patterns = sorted(rows(runtime, "SELECT project, content, evidence FROM memories"
                                    " WHERE 'type:pattern' = ANY(tags) ORDER BY project"))
    assert patterns == [("Demo", "Edits most often in Demo: CLAUDE.md (3 sessions).", 3),
                        ("spotter", "Often runs in spotter: `mix phx.server` (2 sessions).", 2)]
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
                                           ["pytest -q", "make deploy"]))
    (root / "b.jsonl").write_text(_session("b", "/srv/shop", ["src/cart.py", "src/api.py"],
                                           ["pytest -q", "git status"]))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    extract(runtime.memories)
    ids = dict(rows(runtime, "SELECT t, id FROM memories, unnest(tags) t WHERE t LIKE 'pattern:%'"))
    assert set(ids) == {"pattern:tests", "pattern:hotspots"}  # make deploy: one session so far
    tests = rows(runtime, "SELECT content, evidence FROM memories WHERE id = %s", ids["pattern:tests"])[0]
    assert tests == ("Runs the tests with `pytest -q` (2 sessions) in shop.", 2)
    hot = rows(runtime, "SELECT content, evidence FROM memories WHERE id = %s", ids["pattern:hotspots"])[0]
    assert hot == ("Edits most often in shop: src/cart.py (2 sessions).", 2)
    runtime.memories.delete(ids["pattern:tests"])
    (root / "c.jsonl").write_text(_session("c", "/srv/shop", ["src/api.py", "src/cart.py"],
                                           ["pnpm test", "make deploy"]))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    summary = extract(runtime.memories)
    assert summary.sessions == 1 and summary.patterns_kept_deleted == 1
    after = dict(rows(runtime, "SELECT t, id FROM memories, unnest(tags) t WHERE t LIKE 'pattern:%'"))
    assert after["pattern:hotspots"] == ids["pattern:hotspots"]  # updated in place
    commands = rows(runtime, "SELECT content FROM memories WHERE id = %s", after["pattern:commands"])
    assert commands == [("Often runs in shop: `make deploy` (2 sessions).",)]  # git status says nothing
    hot = rows(runtime, "SELECT content, evidence FROM memories WHERE id = %s", ids["pattern:hotspots"])[0]
    assert hot == ("Edits most often in shop: src/cart.py (3 sessions), src/api.py (2 sessions).", 3)
    assert rows(runtime, "SELECT deleted_at IS NOT NULL FROM memories WHERE id = %s",
                ids["pattern:tests"]) == [(True,)]


def test_signals_dry_run_writes_nothing(runtime):
    do_import(runtime, claude_code_dir=TREE)
    before = _snapshot(runtime)
    summary = extract(runtime.memories, dry_run=True)
    assert summary.sessions == 7 and summary.corrections >= 1 and summary.patterns_created >= 2
    assert _snapshot(runtime) == before
    assert rows(runtime, "SELECT count(*) FROM imported_sessions WHERE signals_extracted") == [(0,)]


def behaviour_in_sessions(runtime, contents: list[str], sessions: list[str], project: str | None = None) -> None:
    """The behavioural pass's output: one observation per session (as distill.py writes them), regrouped."""
    from claude_memory.learning import support

    runtime.memories.add_many([{"content": c, "tags": ["type:behavior", "source:behavioral"], "project": project,
                                "session_id": sid} for c, sid in zip(contents, sessions, strict=True)])
    support.regroup(runtime.memories, project, support.BEHAVIOR_TAG)


def _learned(runtime):
    do_import(runtime, claude_code_dir=TREE)
    extract(runtime.memories)
    mem = runtime.memories
    mem.save("Always use pnpm, never npm, in the Demo web app", tags=["type:preference"], project="Demo")
    behaviour_in_sessions(runtime, ["Wants a failing test first, then the fix",
                                    "Prefers to see a failing test before any fix"],
                          ["fe5e1c67-53e7-4862-81ae-d0e013e3270b", "1af7fc5e-8455-4414-9ccd-011d40f70b2a"], "Demo")
    mem.save("Asks for the diff before every commit", tags=["type:behavior", "source:behavioral"],
             project="Demo")  # one session: a candidate


def test_startup_context_shows_supported_learning_then_where_we_left_off(runtime):
    _learned(runtime)
    text = startup_context(runtime.memories, "Demo", budget=2048)
    assert len(text.encode()) <= 2048
    explicit = text.index("Always use pnpm")
    signals = text.index("Edits most often in Demo: CLAUDE.md (3 sessions).")
    inferred = text.index("Prefers to see a failing test before any fix (2 sessions)")
    assert explicit < signals < inferred < text.index("## Where we left off in Demo")
    assert "Asks for the diff" not in text  # a single observation stays a candidate
    assert "Top tools" not in text and "%" not in text  # no tool statistics
    assert "/orchestrator @CLAUDE.md" in text  # a session whose first request was a slash command
    assert startup_context(runtime.memories, "/path/to/Demo/todo-app/src", budget=2048) == text
    small = startup_context(runtime.memories, "Demo", budget=400)
    assert len(small.encode()) <= 400 and "Always use pnpm" in small
    spotter = startup_context(runtime.memories, "/home/marco/projects/spotter")
    assert "Memory for project spotter" in spotter and "pnpm, never npm" not in spotter  # Demo's preference
    assert "xterm.js still does not work" in spotter  # the last request of the newest session …
    assert "Correction" not in spotter  # … but the one-session correction is no preference


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
    assert [[(e["id"], e["status"]) for e in t["entries"]] for t in got["tiers"]] == \
        [[(e["id"], e["status"]) for e in t["entries"]] for t in model["tiers"]]
    text = startup_context(runtime.memories, "Demo", budget=100_000)
    shown = [e for t in got["tiers"] for e in t["entries"] if e["status"] != "candidate"]
    positions = [text.index(e["content"][:60]) for e in shown]
    assert positions == sorted(positions)  # same entries, same order
    candidates = [e for t in got["tiers"] for e in t["entries"] if e["status"] == "candidate"]
    assert candidates and not any(e["content"][:60] in text for e in candidates)


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


def _corrected(sid: str, cwd: str, command: str, correction: str, day: int) -> str:
    """A session: the user asks, Claude runs `command`, the user corrects it."""
    t = f"2026-03-{day:02d}T10:00:0"
    recs = [
        {"type": "user", "sessionId": sid, "uuid": f"{sid}-1", "parentUuid": None, "cwd": cwd, "timestamp": t + "0Z",
         "message": {"role": "user", "content": "Set up the frontend dependencies for the dashboard please."}},
        {"type": "assistant", "sessionId": sid, "uuid": f"{sid}-2", "parentUuid": f"{sid}-1", "cwd": cwd,
         "timestamp": t + "1Z", "message": {"id": f"m-{sid}", "role": "assistant", "content": [
             {"type": "tool_use", "id": f"t-{sid}", "name": "Bash", "input": {"command": command}}]}},
        {"type": "user", "sessionId": sid, "uuid": f"{sid}-3", "parentUuid": f"{sid}-2", "cwd": cwd,
         "timestamp": t + "2Z", "message": {"role": "user", "content": correction}},
    ]
    return "\n".join(json.dumps(r) for r in recs) + "\n"


def test_a_correction_needs_two_sessions_and_a_confirmed_candidate_is_explicit(runtime, dsn, tmp_path):
    root = tmp_path / "projects"
    folder = root / "-srv-dash"
    folder.mkdir(parents=True)
    (folder / "s1.jsonl").write_text(_corrected("s1", "/srv/dash", "npm install chart.js", "No, use pnpm, not npm.", 1))
    do_import(runtime, claude_code_dir=root)
    extract(runtime.memories)
    server = start_server(dsn, tmp_path / "data")
    try:
        def entries():
            got = httpx.get(server.url + "/api/preferences", params={"project": "dash"}, timeout=30).json()
            return {e["content"]: e for t in got["tiers"] for e in t["entries"]}

        def context():
            """The preferences part of the startup context ("Where we left off" quotes the last request)."""
            got = httpx.get(server.url + "/api/context", params={"project": "dash"}, timeout=30).json()
            assert "## Where we left off in dash" in got["context"]
            return got["context"].split("## Where we left off")[0]

        once = entries()
        pnpm = next(e for c, e in once.items() if "use pnpm, not npm" in c)
        assert pnpm["status"] == "candidate" and pnpm["evidence"] == 1
        assert "use pnpm" not in context()
        assert not any(e["kind"] == "pattern" for e in once.values())  # `npm install` in one session: no pattern

        (folder / "s2.jsonl").write_text(_corrected("s2", "/srv/dash", "npm i react-query", "No, use pnpm, not npm.", 2))
        (folder / "s3.jsonl").write_text(_corrected("s3", "/srv/dash", "rm -rf tests/e2e", "Leave the tests alone.", 3))
        do_import(runtime, claude_code_dir=root)
        extract(runtime.memories)
        twice = entries()
        pnpm = next(e for c, e in twice.items() if "use pnpm, not npm" in c)
        assert pnpm["status"] == "supported" and pnpm["evidence"] == 2
        assert "No, use pnpm, not npm." in context() and "(2 sessions)" in context()
        leave = next(e for c, e in twice.items() if "Leave the tests alone" in c)
        assert leave["status"] == "candidate" and "Leave the tests alone" not in context()

        confirmed = httpx.patch(server.url + f"/api/memories/{leave['id']}", timeout=30,
                                json={"tags": ["type:preference", "confirmed", "project:dash"]})
        assert confirmed.status_code == 200, confirmed.text
        got = httpx.get(server.url + "/api/preferences", params={"project": "dash"}, timeout=30).json()
        explicit = next(t for t in got["tiers"] if t["tier"] == "explicit")["entries"]
        assert [(e["id"], e["status"]) for e in explicit] == [(leave["id"], "explicit")]
        assert "Leave the tests alone" in context()
    finally:
        stop_server(server)
