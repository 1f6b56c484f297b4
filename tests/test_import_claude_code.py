"""Importing Claude Code transcripts: the real fixtures, incremental reads, bad input, projects, sub-agents."""

from __future__ import annotations

import json
import os
import random
import shutil

from claude_memory.importers.job import ImportOptions, run
from claude_memory.settings import Settings
from conftest import FIXTURES, make_runtime

TREE = FIXTURES / "claude_code"
SAMPLE = TREE / "projects" / "sample-project"
SPOTTER = TREE / "projects" / "-home-marco-projects-spotter"
TOOL_HEAVY = SPOTTER / "d6e0bada-1959-4eec-a9d2-0bfade768d8f.jsonl"


def do_import(rt, **sources):
    options = ImportOptions(**{k: sources.pop(k) for k in ("min_length", "project", "dry_run") if k in sources})
    return run(rt.db, rt.memories, options, **sources)


def rows(rt, sql, *params):
    with rt.db.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall()


def archive(rt):
    return sorted(rows(rt, "SELECT session_id, uuid, parent_uuid, role, kind, text, blocks::text, is_sidechain"
                           " FROM messages"))


def memory_set(rt):
    return sorted(rows(rt, "SELECT content, tags, source, project, session_id, created_at FROM memories"))


# Expected per session, derived from the files by hand (message = user/assistant record with content, lines
# of one API reply merged on message.id, plus system records that carry text; memory = a non-sidechain
# user/assistant prose message of >= 50 characters):
EXPECTED = {
    # 14 user/assistant lines; 2 have no usable content (`contenst` typo, `message: "error"`), and their
    # uuids reappear later with content; one assistant line (no sessionId 'edge_cases') is TodoWrite only.
    "edge_cases": (11, 5),
    "todowrite_session": (1, 0),
    # 9 user/assistant lines - 4 continuation lines of split replies + 2 system local_command records
    "55604662-cf2a-4331-851a-ec234028f8ca": (7, 1),
    # 22 lines - 5 continuation lines + 2 system records; prose >= 50 chars: 1 prompt, 1 reply
    "d6e0bada-1959-4eec-a9d2-0bfade768d8f": (19, 2),
    # 29 lines - 8 continuation lines
    "1af7fc5e-8455-4414-9ccd-011d40f70b2a": (21, 3),
    # 53 lines - 8 continuation lines = 45 (20 of them inline sidechain), + 2 flat agent-*.jsonl files of
    # 2 messages each attached to this session; sidechain text never becomes a memory
    "5c0375b4-57a5-4f26-b12d-d022ee4e51b7": (49, 3),
    # 437 lines - 92 continuation lines; 322 inline sidechain messages
    "fe5e1c67-53e7-4862-81ae-d0e013e3270b": (345, 8),
}


def test_fixture_tree_imports_every_session_and_a_second_run_does_nothing(runtime):
    first = do_import(runtime, claude_code_dir=TREE)
    assert first.failed == 0 and first.files == 11
    counts = dict(rows(runtime, "SELECT session_id, count(*) FROM messages GROUP BY 1"))
    mems = dict(rows(runtime, "SELECT session_id, count(*) FROM memories GROUP BY 1"))
    assert {sid: (counts.get(sid, 0), mems.get(sid, 0)) for sid in EXPECTED} == EXPECTED
    assert set(counts) == set(EXPECTED)  # the ccusage files hold no message content at all
    sessions = dict(rows(runtime, "SELECT session_id, message_count FROM imported_sessions"))
    assert sessions == {sid: n for sid, (n, _) in EXPECTED.items()}
    assert first.messages == sum(n for n, _ in EXPECTED.values())
    assert first.memories == first.embedded == sum(m for _, m in EXPECTED.values())
    # the edge-case fixture's bad lines are counted by reason, not fatal
    assert first.skipped["not an object"] == 3 and first.skipped["no type"] == 6

    second = do_import(runtime, claude_code_dir=TREE)
    assert (second.files, second.unchanged, second.messages, second.memories, second.embedded) == (0, 11, 0, 0, 0)


def test_sample_project_takes_its_project_from_the_records_cwd_and_attaches_sub_agents(runtime):
    do_import(runtime, claude_code_dir=TREE)
    projects = dict(rows(runtime, "SELECT session_id, project FROM imported_sessions"))
    assert {projects[s] for s in ("1af7fc5e-8455-4414-9ccd-011d40f70b2a", "5c0375b4-57a5-4f26-b12d-d022ee4e51b7",
                                  "fe5e1c67-53e7-4862-81ae-d0e013e3270b")} == {"Demo"}  # cwd /path/to/Demo
    assert projects["d6e0bada-1959-4eec-a9d2-0bfade768d8f"] == "spotter"
    # sessions started in /path/to/Demo/todo-app would join Demo too: the project root is the first cwd
    assert rows(runtime, "SELECT DISTINCT project FROM memories WHERE session_id LIKE 'fe5e%'") == [("Demo",)]
    agent = rows(runtime, "SELECT session_id, is_sidechain FROM messages WHERE uuid LIKE 'a1111111%'")
    assert agent == [("5c0375b4-57a5-4f26-b12d-d022ee4e51b7", True)]
    tags = rows(runtime, "SELECT tags, source FROM memories WHERE session_id LIKE '5c03%' LIMIT 1")[0]
    assert set(tags[0]) >= {"claude-code-session", "project:Demo"} and tags[1] == "claude-code/5c0375b4"
    # tool calls, tool output, thinking and command wrappers are archived but are not memories
    kinds = dict(rows(runtime, "SELECT kind, count(*) FROM messages GROUP BY 1"))
    assert kinds["tool_use"] > 0 and kinds["tool_result"] > 0 and kinds["command"] > 0 and kinds["thinking"] > 0
    leaked = rows(runtime, "SELECT count(*) FROM memories m JOIN messages g ON g.text = m.content"
                           " WHERE g.kind <> 'text'")
    assert leaked == [(0,)]


def test_lines_of_one_reply_are_one_message_in_conversation_order(runtime):
    do_import(runtime, claude_code_dir=SPOTTER)
    merged = rows(runtime, "SELECT kind, blocks::text FROM messages WHERE message_id = 'msg_01LbyjvsALGe2gMsTgDSj7e6'")
    assert len(merged) == 1  # four lines, one reply
    seqs = [r[0] for r in rows(runtime, "SELECT uuid FROM messages WHERE session_id LIKE 'd6e0%' ORDER BY seq")]
    # the chain: prompt 5440873c, then its reply 8565db80
    assert seqs.index(next(u for u in seqs if u.startswith("5440873c"))) < seqs.index(
        next(u for u in seqs if u.startswith("8565db80")))


def test_appending_lines_imports_exactly_the_new_messages(runtime, other_dsn, embedder, tmp_path):
    lines = TOOL_HEAVY.read_bytes().splitlines(keepends=True)
    folder = tmp_path / "projects" / "spotter"
    folder.mkdir(parents=True)
    copy = folder / TOOL_HEAVY.name
    copy.write_bytes(b"".join(lines[:28]))  # stops inside a reply written over lines 26-29
    first = do_import(runtime, claude_code_dir=tmp_path / "projects")
    before = {r[1] for r in archive(runtime)}
    with open(copy, "ab") as fh:
        fh.write(b"".join(lines[28:]))
    second = do_import(runtime, claude_code_dir=tmp_path / "projects")
    after = {r[1] for r in archive(runtime)}
    assert second.messages == len(after - before) + 1  # + the reply that grew by two lines
    assert first.messages + len(after - before) == 19
    # the same content as reading the whole file at once
    whole = make_runtime(Settings.from_env({"DATABASE_URL": other_dsn, "MEMORY_DATA_DIR": str(tmp_path / "d")}),
                         embedder)
    try:
        shutil.copy(TOOL_HEAVY, tmp_path / "whole.jsonl")
        (tmp_path / "w" / "p").mkdir(parents=True)
        shutil.move(tmp_path / "whole.jsonl", tmp_path / "w" / "p" / TOOL_HEAVY.name)
        do_import(whole, claude_code_dir=tmp_path / "w")
        assert [r[:6] + r[7:] for r in archive(runtime)] == [r[:6] + r[7:] for r in archive(whole)]
        assert [r[:5] for r in memory_set(runtime)] == [r[:5] for r in memory_set(whole)]
    finally:
        whole.close()
    state = rows(runtime, "SELECT bytes_read, lines_read FROM imported_sessions")
    assert state == [(TOOL_HEAVY.stat().st_size, len(lines))]


def _user(sid: str, uid: str, text: str, cwd: str = "/home/u/work/app", parent: str | None = None,
          **extra) -> str:
    return json.dumps({"type": "user", "sessionId": sid, "uuid": uid, "parentUuid": parent, "cwd": cwd,
                       "timestamp": "2026-05-01T10:00:00.000Z", "message": {"role": "user", "content": text},
                       **extra}) + "\n"


def test_bad_input_is_skipped_with_a_reason_and_the_rest_imports(runtime, tmp_path):
    root = tmp_path / "projects"
    shutil.copytree(TREE / "edge_cases", root / "edge")
    p = root / "p"
    p.mkdir()
    (p / "empty.jsonl").write_bytes(b"")
    noise = random.Random(3).randbytes(8192)
    (p / "random.jsonl").write_bytes(noise.rstrip(b"\n") + b"garbage")  # last line unterminated as well
    good = "A perfectly ordinary request about the deployment pipeline and its flaky step."
    (p / "truncated.jsonl").write_text(_user("s-trunc", "t1", good) + _user("s-trunc", "t2", good + " 2")[:40])
    huge = "x" * (1024 * 1024)
    (p / "huge.jsonl").write_text(_user("s-huge", "h1", huge) + _user("s-huge", "h2", good))
    (p / "nul.jsonl").write_text(_user("s-nul", "n1", "NUL bytes\u0000 inside a message are dropped, the words"
                                       " are kept intact.", cwd="/home/u/nul\u0000dir"))
    (p / "surrogate.jsonl").write_text(_user("s-sur", "u\ud800x", "A lone surrogate \ud83d in the text must"
                                             " not stop the run or lose the other words.", cwd="/home/u/\ud800"),
                                       encoding="utf-8", errors="surrogatepass")
    (p / "dir.jsonl").mkdir()  # cannot be read as a file
    (p / "gone.jsonl").symlink_to(p / "missing-target.jsonl")
    summary = do_import(runtime, claude_code_dir=root)
    assert summary.skipped["truncated last line"] == 2  # truncated.jsonl and the random file's tail
    assert summary.skipped["invalid json"] >= 1
    assert summary.skipped["unreadable file"] == 2 and summary.failed == 2
    assert any("gone.jsonl" in e for e in summary.errors)
    texts = dict(rows(runtime, "SELECT uuid, length(text) FROM messages"))
    assert texts["t1"] == len(good) and "t2" not in texts  # the partial line waits for its writer
    assert texts["h1"] == len(huge) and texts["h2"] == len(good)  # a 1 MB line is archived whole
    assert "edge_001" in texts  # the edge-case fixture still imported
    assert texts["n1"] == len("NUL bytes inside a message are dropped, the words are kept intact.")
    surrogate = rows(runtime, "SELECT text FROM messages WHERE session_id = 's-sur'")
    assert surrogate and "must not stop the run" in surrogate[0][0]
    # the writer finishes the truncated line: the next run picks it up
    with open(p / "truncated.jsonl", "a") as fh:
        fh.write(_user("s-trunc", "t2", good + " 2")[40:])
    again = do_import(runtime, claude_code_dir=root)
    assert again.messages == 1 and "t2" in dict(rows(runtime, "SELECT uuid, 1 FROM messages"))


def test_two_repositories_with_the_same_name_are_two_projects(runtime, tmp_path):
    root = tmp_path / "projects"
    for i, cwd in enumerate(["/home/u/work/app", "/home/u/personal/app", "/home/u/work/app/src/api"]):
        d = root / cwd.replace("/", "-")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"s{i}.jsonl").write_text(_user(f"s{i}", f"u{i}", f"Session {i} in {cwd}: please fix the login flow",
                                             cwd=cwd))
    do_import(runtime, claude_code_dir=root)
    projects = dict(rows(runtime, "SELECT session_id, project FROM imported_sessions"))
    assert projects["s0"] == "app" and projects["s1"] == "personal/app"
    assert projects["s2"] == "app"  # a sub-folder of a known project belongs to it
    assert dict(rows(runtime, "SELECT path, name FROM projects")) == {"/home/u/work/app": "app",
                                                                      "/home/u/personal/app": "personal/app"}


def test_subagents_folder_and_resumed_sessions(runtime, tmp_path):
    root = tmp_path / "projects" / "-home-u-app"
    sub = root / "main-1" / "subagents"
    sub.mkdir(parents=True)
    first = _user("main-1", "m1", "Please look into why the nightly export job fails on large accounts.",
                  cwd="/home/u/app")
    (root / "main-1.jsonl").write_text(first)
    agent = json.dumps({"type": "user", "uuid": "ag1", "parentUuid": None, "isSidechain": True,
                        "agentId": "x1", "timestamp": "2026-05-01T10:00:01Z", "cwd": "/home/u/app",
                        "message": {"role": "user", "content": "Search the export module for timeouts"}}) + "\n"
    (sub / "agent-x1.jsonl").write_text(agent)
    # a resumed session replays m1 under a new session id, then continues
    resumed = first.replace('"main-1"', '"main-2"') + _user(
        "main-2", "m2", "Continue with the fix and add a regression test for large accounts.", cwd="/home/u/app",
        parent="m1")
    (root / "main-2.jsonl").write_text(resumed)
    os.utime(root / "main-2.jsonl", (2e9, 2e9))  # written later than the original
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    where = dict(rows(runtime, "SELECT uuid, session_id FROM messages"))
    assert where == {"m1": "main-1", "ag1": "main-1", "m2": "main-2"}
    assert rows(runtime, "SELECT count(*) FROM memories WHERE content LIKE 'Please look into%'") == [(1,)]


def test_dry_run_writes_nothing(runtime):
    def snapshot():
        return [rows(runtime, f"SELECT count(*) FROM {t}")[0][0]
                for t in ("memories", "messages", "imported_sessions", "import_files", "projects")]

    before = snapshot()
    summary = do_import(runtime, claude_code_dir=TREE, dry_run=True)
    assert summary.messages == sum(n for n, _ in EXPECTED.values())
    assert summary.memories == sum(m for _, m in EXPECTED.values()) and summary.embedded == 0
    assert snapshot() == before


def _memories_of(rt, tag="claude-code-memory"):
    return rows(rt, "SELECT id, source, content, project, deleted_at IS NOT NULL FROM memories"
                    " WHERE %s = ANY(tags) ORDER BY source", tag)


def test_claude_code_auto_memory_files_import_update_in_place_and_soft_delete(runtime, tmp_path):
    """projects/<folder>/memory/*.md (Claude Code's own auto-memory) become memories of that project; an
    edit updates the same memories, a deleted file soft-deletes its memories, an unchanged re-run does
    nothing."""
    root = tmp_path / "projects"
    folder = root / "-home-u-shop"
    (folder / "memory").mkdir(parents=True)
    (folder / "s1.jsonl").write_text(_user("s1", "u1", "Set up the checkout service with retries please.",
                                           cwd="/home/u/shop") + "\n")
    (folder / "memory" / "MEMORY.md").write_text(
        "- [Testing](testing.md) — how tests are run here\n- [Deploys](deploys.md) — deploy checklist\n")
    (folder / "memory" / "testing.md").write_text(
        "---\nname: testing\ntype: feedback\n---\nRun the tests with `pytest -q -x`; the database tests need"
        " the embedded PostgreSQL started first.\n")
    (folder / "memory" / "deploys.md").write_text(
        "Deploys go through `make release`; never push tags by hand because CI signs them.\n")
    first = do_import(runtime, claude_code_dir=root)
    got = _memories_of(runtime)
    assert [(s, p, d) for _, s, _, p, d in got] == [
        ("claude-code-memory/-home-u-shop/MEMORY.md", "shop", False),
        ("claude-code-memory/-home-u-shop/deploys.md", "shop", False),
        ("claude-code-memory/-home-u-shop/testing.md", "shop", False)]
    assert first.memories >= 3
    ids = {s: i for i, s, *_ in got}
    hit = runtime.searcher.keyword("make release tags", 5, "shop", None, None)["results"]
    assert hit and hit[0]["id"] == ids["claude-code-memory/-home-u-shop/deploys.md"]

    again = do_import(runtime, claude_code_dir=root)
    assert (again.memories, again.memories_updated, again.memories_deleted, again.files) == (0, 0, 0, 0)
    assert _memories_of(runtime) == got

    testing = folder / "memory" / "testing.md"
    testing.write_text(testing.read_text().replace("pytest -q -x", "python -m pytest -q"))
    os.utime(testing, (1_900_000_000, 1_900_000_000))
    edited = do_import(runtime, claude_code_dir=root)
    assert (edited.memories, edited.memories_updated, edited.memories_deleted) == (0, 1, 0)
    after = {s: (i, c) for i, s, c, _, _ in _memories_of(runtime)}
    assert after["claude-code-memory/-home-u-shop/testing.md"][0] == ids["claude-code-memory/-home-u-shop/testing.md"]
    assert "python -m pytest -q" in after["claude-code-memory/-home-u-shop/testing.md"][1]
    assert runtime.searcher.keyword("python -m pytest", 3, "shop", None, None)["results"][0]["id"] == \
        ids["claude-code-memory/-home-u-shop/testing.md"]

    (folder / "memory" / "deploys.md").unlink()
    removed = do_import(runtime, claude_code_dir=root)
    assert removed.memories_deleted == 1
    state = {s: (i, d) for i, s, _, _, d in _memories_of(runtime)}
    assert state["claude-code-memory/-home-u-shop/deploys.md"] == (ids["claude-code-memory/-home-u-shop/deploys.md"], True)
    assert not state["claude-code-memory/-home-u-shop/testing.md"][1]
    assert runtime.searcher.keyword("make release tags", 5, "shop", None, None)["results"] == []
    quiet = do_import(runtime, claude_code_dir=root)
    assert (quiet.memories, quiet.memories_updated, quiet.memories_deleted) == (0, 0, 0)
