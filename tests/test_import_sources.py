"""claude.ai exports (old and new shapes), text notes, our own JSON export, and the CLI end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg2

from claude_memory.export import export_text
from claude_memory.importers.text import chunk_text
from claude_memory.settings import Settings
from conftest import DATA, FIXTURES, ROOT, make_runtime, wait_until
from test_import_claude_code import do_import, rows
from transcripts import write_sessions

OLD_EXPORT = FIXTURES / "claude_ai" / "claude-to-sqlite-example.json"
NEW_EXPORT = DATA / "claude_ai" / "conversations-2025.json"


def test_old_claude_ai_export_imports_its_text(runtime):
    summary = do_import(runtime, claude_ai_file=OLD_EXPORT, min_length=20)
    assert summary.messages == 2 and summary.failed == 0
    session = rows(runtime, "SELECT session_id, title, source_path FROM imported_sessions")
    assert session == [("1db4c66e-b369-4e3a-96a9-6c16f8301ee8", "Bash Command for OpenAI API", str(OLD_EXPORT))]
    mems = rows(runtime, "SELECT tags, source, created_at FROM memories ORDER BY created_at")
    assert len(mems) == 2  # "Turn this into a bash command" (29 chars) and the reply
    assert set(mems[0][0]) == {"claude-ai", "role:user"} and mems[0][1] == "claude-ai/1db4c66e"
    assert mems[0][2] == datetime(2024, 10, 18, 5, 30, 20, 458713, tzinfo=UTC)


def test_new_claude_ai_export_follows_the_current_branch_and_archives_the_rest(runtime):
    summary = do_import(runtime, claude_ai_file=NEW_EXPORT)
    kinds = dict(rows(runtime, "SELECT uuid, kind FROM messages"))
    assert len(kinds) == summary.messages == 10  # every message of both conversations is archived
    # conversation 1: the edited prompt (m5) is on the current leaf's branch; m3/m4 are an abandoned branch
    assert kinds["c1-m3"] == kinds["c1-m4"] == "branch"
    assert kinds["c1-m5"] == kinds["c1-m6"] == "text"
    # conversation 2 has no current leaf: the newest message (c2-m4) decides the branch
    assert kinds["c2-m3"] == kinds["c2-m4"] == "text" and kinds["c2-m1"] == "branch"
    memories = [r[0] for r in rows(runtime, "SELECT content FROM memories")]
    assert any(m.startswith("Transaction pooling breaks server-side cursors") for m in memories)
    assert not any("workers times threads" in m for m in memories)  # thinking stays out of memories
    assert not any("async workers" in m for m in memories)  # the abandoned branch too
    blocks = rows(runtime, "SELECT blocks::text FROM messages WHERE uuid = 'c1-m6'")[0][0]
    assert "web_search" in blocks and "server-side cursors" in rows(
        runtime, "SELECT text FROM messages WHERE uuid = 'c1-m6'")[0][0]
    attachment = rows(runtime, "SELECT blocks::text FROM messages WHERE uuid = 'c1-m5'")[0][0]
    assert "CONN_MAX_AGE" in attachment  # pasted file content is archived
    again = do_import(runtime, claude_ai_file=NEW_EXPORT)
    assert again.unchanged == 1 and again.messages == 0 and again.embedded == 0


def test_a_file_that_is_not_an_export_is_reported(runtime, tmp_path):
    bad = tmp_path / "conversations.json"
    bad.write_text('{"hello": 1}')
    summary = do_import(runtime, claude_ai_file=bad)
    assert summary.failed == 1 and "not a claude.ai export" in summary.errors[0]


def test_text_is_chunked_at_paragraphs_with_overlap():
    paragraphs = [f"Paragraph {i}. " + " ".join(f"word{i}_{j}" for j in range(60)) for i in range(12)]
    body = "\n\n".join(paragraphs)
    chunks = chunk_text(body)
    assert all(len(c) <= 1500 for c in chunks) and len(chunks) > 3
    assert all(c.startswith("Paragraph") or c.split()[0].startswith("word") for c in chunks)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a[-100:] in body and b[:50] in a  # each chunk starts inside the previous one's tail
    # every word of the note is in some chunk
    words = set(body.split())
    assert words == set().union(*(set(c.split()) for c in chunks))
    assert chunk_text("   ") == [] and chunk_text("short note") == ["short note"]


def test_text_files_become_memories_once(runtime, tmp_path):
    note = tmp_path / "decisions.md"
    note.write_text("# Decisions\n\n" + "\n\n".join(
        f"We decided on option {i} because the benchmark showed {i * 3} percent less latency." * 4
        for i in range(10)))
    first = do_import(runtime, text_files=[note], project="infra")
    assert first.memories == len(chunk_text(note.read_text())) and first.memories >= 2
    tags, source, project = rows(runtime, "SELECT tags, source, project FROM memories LIMIT 1")[0]
    assert "file:decisions.md" in tags and "project:infra" in tags and source == "text/decisions.md"
    assert project == "infra"
    again = do_import(runtime, text_files=[note], project="infra")
    assert again.memories == 0 and again.unchanged == 1


def test_a_changed_text_file_leaves_no_old_chunks_behind(runtime, tmp_path):
    """Re-importing an edited note: chunks it no longer has are soft-deleted (restorable), chunks it still
    has keep their ids, new ones are added; an edit back to the first text restores the first chunks."""
    import os

    def para(topic: str) -> str:
        return (f"The {topic} decision: we keep it because the measurements favoured it clearly. " * 9).strip()

    note = tmp_path / "notes.md"
    note.write_text("\n\n".join(para(t) for t in ("cache", "queue", "schema", "billing")))
    os.utime(note, (1_800_000_000, 1_800_000_000))
    do_import(runtime, text_files=[note], project="infra")
    first = {c: i for i, c in rows(runtime, "SELECT id, content FROM memories WHERE deleted_at IS NULL")}
    assert len(first) >= 3
    note.write_text("\n\n".join(para(t) for t in ("cache", "ledger", "billing")))  # queue, schema gone
    os.utime(note, (1_800_000_100, 1_800_000_100))
    changed = do_import(runtime, text_files=[note], project="infra")
    live = {c: i for i, c in rows(runtime, "SELECT id, content FROM memories WHERE deleted_at IS NULL")}
    assert all("queue" not in c and "schema" not in c for c in live), live
    assert any("ledger" in c for c in live) and changed.memories_deleted >= 1
    assert all(live[c] == first[c] for c in live if c in first)  # a chunk it still has keeps its id
    assert runtime.searcher.keyword("queue", 5, "infra", None, None)["results"] == []
    assert rows(runtime, "SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL")[0][0] >= 1  # restorable
    note.write_text("\n\n".join(para(t) for t in ("cache", "queue", "schema", "billing")))
    os.utime(note, (1_800_000_200, 1_800_000_200))
    do_import(runtime, text_files=[note], project="infra")
    back = {c for (c,) in rows(runtime, "SELECT content FROM memories WHERE deleted_at IS NULL")}
    assert back == set(first) and not any("ledger" in c for c in back)


def test_export_then_import_into_an_empty_database_gives_the_same_memories(runtime, other_dsn, embedder,
                                                                           tmp_path):
    runtime.memories.save("Deploys go through the staging cluster first", ["decision", "deploy"], "manual",
                          "infra", created_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    runtime.memories.save("The user prefers pnpm over npm", ["type:preference"], "claude-code/abcd1234", "web",
                          session_id="abcd1234-0000")
    runtime.memories.save("A memory without project or tags, long enough to matter.")
    mid = runtime.memories.save("Tag edits move updated_at", ["x"])["id"]
    runtime.memories.update(mid, tags=["x", "edited"])
    export = tmp_path / "export.json"
    export.write_text(export_text(runtime.memories))
    target = make_runtime(Settings.from_env({"DATABASE_URL": other_dsn, "MEMORY_DATA_DIR": str(tmp_path / "d")}),
                          embedder)
    try:
        summary = do_import(target, memories_json=export)
        assert summary.memories == 4
        cols = "content, tags, project, source, session_id, created_at, updated_at"
        assert sorted(rows(target, f"SELECT {cols} FROM memories")) == sorted(
            rows(runtime, f"SELECT {cols} FROM memories"))
        assert do_import(target, memories_json=export).memories == 0
        hits = target.searcher.semantic("which package manager does the user like", limit=1)
        assert "pnpm" in hits["results"][0]["content"]
    finally:
        target.close()


def _cli(dsn: str, data: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(data), "TORCH_THREADS": "2"}
    return subprocess.Popen([sys.executable, str(ROOT / "import_memories.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_cli_prints_a_summary_with_skips_and_redactions(dsn, tmp_path):
    proc = _cli(dsn, tmp_path / "data", "--projects-dir", str(FIXTURES / "claude_code"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "messages: 453 archived" in out and "memories: 22 new" in out
    assert "skipped:  no message content 8, no type 6, not an object 3" in out
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    proc = _cli(dsn, tmp_path / "data", "--memories-json", str(tmp_path / "missing.json"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "cannot read" in err


def _content(dsn: str):
    from pgvector.psycopg2 import register_vector

    conn = psycopg2.connect(dsn)
    register_vector(conn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT session_id, uuid, parent_uuid, role, kind, text, seq, blocks::text FROM messages"
                        " ORDER BY uuid")
            messages = cur.fetchall()
            cur.execute("SELECT content, tags, source, project, session_id, created_at, embedding"
                        " FROM memories ORDER BY content_hash, project")
            memories = cur.fetchall()
            cur.execute("SELECT session_id, project, message_count, bytes_read, lines_read FROM imported_sessions"
                        " ORDER BY 1")
            sessions = cur.fetchall()
        return messages, memories, sessions
    finally:
        conn.close()


def test_an_import_killed_midway_resumes_to_the_same_content(dsn, other_dsn, tmp_path):
    tree = tmp_path / "projects"
    write_sessions(tree, 30, seed=11, turns=(2, 3))  # ~225 memories in batches of 16
    killed = _cli(dsn, tmp_path / "a", "--projects-dir", str(tree), "--batch-size", "16")

    def committed() -> int:
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('import_files') IS NOT NULL")
                if not cur.fetchone()[0]:
                    return 0
                cur.execute("SELECT count(*) FROM import_files")
                return int(cur.fetchone()[0])
        finally:
            conn.close()

    wait_until(lambda: killed.poll() is not None or committed() >= 5, timeout=300)
    assert killed.poll() is None, "the import finished before it could be interrupted"
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    partial = committed()
    assert 0 < partial < 30
    resumed = _cli(dsn, tmp_path / "a", "--projects-dir", str(tree))
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"{partial} unchanged" in out
    straight = _cli(other_dsn, tmp_path / "b", "--projects-dir", str(tree))
    _, err = straight.communicate(timeout=600)
    assert straight.returncode == 0, err
    (m1, v1, s1), (m2, v2, s2) = _content(dsn), _content(other_dsn)
    assert m1 == m2 and s1 == s2
    assert [r[:6] for r in v1] == [r[:6] for r in v2]
    # a text's vector differs with the batch it was embedded in: in the last float bits on the PyTorch path;
    # on the int8 ONNX path the activations' quantization scale is per batch, so by up to ~0.02 cosine
    # (the same order as the int8 path's distance to PyTorch's vectors, mean 0.992)
    a, b = (np.array([r[6].to_numpy() for r in v]) for v in (v1, v2))
    cos = (a * b).sum(axis=1)
    onnx = Settings.from_env().embedding_backend != "torch"
    assert a.shape == b.shape and float(cos.min()) > (0.97 if onnx else 0.9999)
    assert float(cos.mean()) > (0.99 if onnx else 0.9999)


def test_two_imports_at_once_take_turns_and_store_everything_once(dsn, other_dsn, tmp_path):
    """Two `import` processes started together on the same tree (the advisory lock): both exit 0 and the
    store equals one import's."""
    tree = tmp_path / "projects"
    write_sessions(tree, 12, seed=41, turns=(2, 3))
    procs = [_cli(dsn, tmp_path / f"d{i}", "--projects-dir", str(tree)) for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    single = _cli(other_dsn, tmp_path / "d3", "--projects-dir", str(tree))
    _, err = single.communicate(timeout=600)
    assert single.returncode == 0, err
    (m1, v1, s1), (m2, v2, s2) = _content(dsn), _content(other_dsn)
    assert m1 == m2 and s1 == s2 and [r[:6] for r in v1] == [r[:6] for r in v2]


def test_a_transcript_that_shrank_or_was_rewritten_is_read_again_from_the_start(runtime, tmp_path):
    """A file shorter than what was read (rewritten by a tool, restored from a backup) is read from the
    start: new records are imported, records already archived are not duplicated."""
    import json as _json
    import os as _os

    def line(uid: str, text: str, parent: str | None = None) -> str:
        return _json.dumps({"type": "user", "sessionId": "s-shrink", "uuid": uid, "parentUuid": parent,
                            "cwd": "/home/u/app", "timestamp": "2026-05-01T10:00:00Z",
                            "message": {"role": "user", "content": text}}) + "\n"

    folder = tmp_path / "projects" / "-home-u-app"
    folder.mkdir(parents=True)
    f = folder / "s-shrink.jsonl"
    long_texts = [f"Message number {i} about the retry policy of the payment worker, long enough." for i in range(6)]
    f.write_text("".join(line(f"u{i}", t, f"u{i - 1}" if i else None) for i, t in enumerate(long_texts)))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    assert rows(runtime, "SELECT count(*) FROM messages")[0][0] == 6
    f.write_text(line("u0", long_texts[0]) + line("n1", "A new first reply after the rewrite, about the ledger.",
                                                  "u0"))
    _os.utime(f, (1_900_000_000, 1_900_000_000))
    again = do_import(runtime, claude_code_dir=tmp_path / "projects")
    texts = [r[0] for r in rows(runtime, "SELECT text FROM messages ORDER BY id")]
    assert len(texts) == 7 and texts[-1].startswith("A new first reply")  # nothing lost, u0 not twice
    assert again.messages == 1


def test_a_hostile_working_directory_never_fails_the_run_nor_loses_the_message(runtime, tmp_path):
    """A record whose cwd is 9,000 characters (far past any real path and PostgreSQL's btree limit, which
    used to crash the whole import): the cwd is ignored and counted, the message is archived and becomes a
    memory, the other files import, and a rerun reads nothing new."""
    import json as _json
    import random as _random

    rng = _random.Random(4)
    cwd = "/home/u/" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(9000))
    folder = tmp_path / "projects" / "-home-u-app"
    folder.mkdir(parents=True)

    def session(sid: str, where: str) -> str:
        return _json.dumps({"type": "user", "sessionId": sid, "uuid": f"{sid}-1", "parentUuid": None,
                            "cwd": where, "timestamp": "2026-05-01T10:00:00Z",
                            "message": {"role": "user", "content": "The deploy checklist lives in docs/deploy.md"
                                                                   f" and is reviewed before every release ({sid})."}})

    (folder / "bad.jsonl").write_text(session("bad", cwd) + "\n")
    (folder / "good.jsonl").write_text(session("good", "/home/u/app") + "\n")
    summary = do_import(runtime, claude_code_dir=tmp_path / "projects")
    assert summary.failed == 0 and summary.skipped["working directory too long (ignored)"] == 1
    assert rows(runtime, "SELECT session_id, project FROM imported_sessions ORDER BY 1") == [("bad", None),
                                                                                            ("good", "app")]
    assert len(rows(runtime, "SELECT 1 FROM memories WHERE content LIKE 'The deploy checklist%'")) == 2
    again = do_import(runtime, claude_code_dir=tmp_path / "projects")
    assert again.failed == 0 and again.messages == 0


def test_a_project_path_the_database_refuses_falls_back_to_its_folder_name(runtime):
    """The safety net under the cwd bound: if registering a project path fails in PostgreSQL, the session
    still imports, named by its last folder, and the refusal is counted."""
    from claude_memory.importers.job import Importer, ImportOptions

    importer = Importer(runtime.db, runtime.memories, ImportOptions())
    import random as _random

    rng = _random.Random(8)  # incompressible: past the btree row limit of projects.path even compressed
    long_path = "/srv/" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(9000)) + "/shop"
    with runtime.db.cursor() as cur:
        assert importer._project_of(cur, long_path) == "shop"
        assert importer._project_of(cur, "/srv/ok/shop") == "shop"  # the transaction is still usable
    assert importer.summary.skipped["project path refused by the database"] == 1


def test_a_message_the_database_cannot_index_is_still_archived(runtime, tmp_path):
    """A message of 72,000 distinct words (a pasted word list: its search vector overflows PostgreSQL's 1 MB
    tsvector) used to make the database refuse the whole file's transaction, losing every message in it.
    Now the messages are archived first; only that one memory is left out, counted, with its reason."""
    import json as _json
    import random as _random

    rng = _random.Random(12)
    huge = " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(5)) + "q" + str(i)
                    for i in range(72_000))
    assert len(huge) < 1_000_000  # within a memory's size limit: it is the index that refuses it
    folder = tmp_path / "projects" / "-home-u-app"
    folder.mkdir(parents=True)
    recs = [{"type": "user", "sessionId": "s", "uuid": "u1", "parentUuid": None, "cwd": "/home/u/app",
             "timestamp": "2026-05-01T10:00:00Z", "message": {"role": "user", "content": huge}},
            {"type": "user", "sessionId": "s", "uuid": "u2", "parentUuid": "u1", "cwd": "/home/u/app",
             "timestamp": "2026-05-01T10:01:00Z",
             "message": {"role": "user", "content": "Sorry, wrong paste. The real question: why is the export slow?"}}]
    (folder / "s.jsonl").write_text("\n".join(_json.dumps(r) for r in recs) + "\n")
    import numpy as _np

    def unit_vectors(texts):  # the refusal under test is the database's; skip embedding 800k characters
        v = _np.zeros(runtime.embedder.dimension, dtype=_np.float32)
        v[0] = 1.0
        return [(v, []) for _ in texts]

    summary = do_import(runtime, claude_code_dir=tmp_path / "projects", embed=unit_vectors)
    assert summary.failed == 0 and summary.messages == 2
    assert summary.skipped["memory refused by the database (message archived)"] == 1, summary.as_dict()
    assert rows(runtime, "SELECT length(text) FROM messages WHERE uuid = 'u1'") == [(len(huge),)]
    assert rows(runtime, "SELECT count(*) FROM memories WHERE content LIKE 'Sorry, wrong paste%'") == [(1,)]
    assert do_import(runtime, claude_code_dir=tmp_path / "projects", embed=unit_vectors).messages == 0
