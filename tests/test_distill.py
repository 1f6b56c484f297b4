"""Distillation and the behavioural pass against a real HTTP server with scripted OpenAI-style replies."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys

import pytest

from claude_memory.distill import JobOptions, reset_failures, run
from claude_memory.errors import Unavailable
from claude_memory.llm import LLM
from conftest import ROOT
from llm_server import ScriptedLLM, user_text
from test_import_claude_code import do_import, rows
from transcripts import write_sessions

FACTS = ["The billing worker retries payments three times with exponential backoff.",
         "Invoices are numbered per tenant by a database sequence created in migration 014.",
         "Login tests were flaky because two tests shared one fixture user; each test now makes its own.",
         "The React settings page loads its form schema from the API at startup.",
         "Deploys go through the staging cluster and need a green smoke test.",
         "CSV exports stream rows in pages of 1000 to keep memory flat.",
         "Webhook signatures use HMAC-SHA256 with the tenant secret and a five minute window.",
         "Search reindexing runs nightly at 02:00 UTC from a cron job on the worker host.",
         "Rate limits are 100 requests per minute per API key, enforced in Redis.",
         "The team chose pnpm workspaces for the monorepo to share the UI kit.",
         "Profile images are resized by a Lambda function into three sizes.",
         "TypeScript strict mode is on for new packages only; old ones are migrated one by one."]
GOOD = json.dumps({"memories": [{"content": FACTS[0], "tags": ["decision"]},
                                {"content": "Runs the linter before every commit and expects Claude to as well.",
                                 "tags": ["type:behavior"]}]})
REPLIES = {
    "valid": (200, GOOD, 0.0),
    "fenced": (200, "Here they are:\n```json\n" + GOOD + "\n```\n", 0.0),
    "prose": (200, "Sure! After reading the transcript: " + GOOD + " Let me know if you need more.", 0.0),
    "malformed": (200, '{"memories": [{"content": "x", "tags": [}', 0.0),
    "truncated": (200, '[{"content": "' + FACTS[1] + '", "tags": []}, {"content": "second one is cu', 0.0),
    "invalid": (200, '[{"content": "", "tags": "not a list"}]', 0.0),
    "empty": (200, '{"memories": []}', 0.0),
    "http500": (500, "", 0.0),
    "slow": (200, GOOD, 4.0),
}
WRITES = {"valid", "fenced", "prose"}
FAILS = {"malformed", "truncated", "invalid", "http500", "slow"}


@pytest.fixture
def one_session(runtime, tmp_path):
    write_sessions(tmp_path / "projects", 1, seed=5, turns=(2, 2))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    (sid,) = [r[0] for r in rows(runtime, "SELECT session_id FROM imported_sessions")]
    return sid


def _state(rt, sid):
    distilled, failures = rows(rt, "SELECT distilled, distill_failures FROM imported_sessions WHERE session_id = %s",
                               sid)[0]
    kept = rows(rt, "SELECT count(*) FROM memories WHERE 'distilled' = ANY(tags)")[0][0]
    visible_raw = rows(rt, "SELECT count(*) FROM memories WHERE 'claude-code-session' = ANY(tags)"
                           " AND superseded_by IS NULL")[0][0]
    return distilled, failures, kept, visible_raw


@pytest.mark.parametrize("case", sorted(REPLIES))
def test_each_kind_of_reply_ends_in_the_state_spec_describes(runtime, one_session, case):
    server = ScriptedLLM(lambda req: REPLIES[case])
    raw = rows(runtime, "SELECT count(*) FROM memories")[0][0]
    archive = rows(runtime, "SELECT count(*), sum(length(text)) FROM messages")
    try:
        summary = run("distill", runtime.memories, LLM(server.url, "test", timeout=1.5), JobOptions())
    finally:
        server.close()
    distilled, failures, kept, visible_raw = _state(runtime, one_session)
    if case in WRITES:
        assert (distilled, failures, kept, visible_raw) == (True, 0, 2, 0)
        tags = rows(runtime, "SELECT tags, project, source FROM memories WHERE 'distilled' = ANY(tags)"
                             " ORDER BY id")
        assert {"distilled", "project:billing-api", "decision"} <= set(tags[0][0])
        assert tags[0][1] == "billing-api" and tags[0][2].startswith("distill/")
        assert "type:behavior" in tags[1][0]
    elif case == "empty":
        assert (distilled, failures, kept, visible_raw) == (True, 0, 0, raw)  # nothing replaces the raw rows
    else:
        assert case in FAILS and (distilled, failures, kept, visible_raw) == (False, 1, 0, raw)
        assert summary.failed == 1
    assert rows(runtime, "SELECT count(*), sum(length(text)) FROM messages") == archive  # archive intact


def test_llm_down_is_one_clear_error_and_nothing_is_marked(runtime, one_session, dsn, tmp_path):
    with pytest.raises(Unavailable, match="unreachable"):
        run("distill", runtime.memories, LLM("http://127.0.0.1:9/v1", "test", timeout=2), JobOptions())
    assert _state(runtime, one_session)[:3] == (False, 0, 0)
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"),
           "OLLAMA_URL": "http://127.0.0.1:9/v1"}
    proc = subprocess.run([sys.executable, str(ROOT / "distill_sessions.py")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("claude-memory:")]
    assert len(errors) == 1 and "unreachable" in errors[0] and "OLLAMA_URL" in errors[0]
    assert _state(runtime, one_session)[:3] == (False, 0, 0)


def test_three_failures_cap_a_session_until_reset(runtime, one_session):
    server = ScriptedLLM(lambda req: REPLIES["malformed"])
    llm = LLM(server.url, "test", timeout=5)
    try:
        for _ in range(4):
            run("distill", runtime.memories, llm, JobOptions())
        assert len(server.requests) == 3  # the fourth run leaves the capped session alone
        assert _state(runtime, one_session)[1] == 3
        assert runtime.overview.stats()["sessions"]["capped"] == 1
        assert reset_failures(runtime.memories, one_session) == 1
        server.reply = lambda req: REPLIES["valid"]
        run("distill", runtime.memories, llm, JobOptions())
        assert _state(runtime, one_session)[:3] == (True, 0, 2)
    finally:
        server.close()


def test_distilled_raw_rows_leave_search_but_stay_in_the_archive(runtime, one_session):
    prompt_text = rows(runtime, "SELECT text FROM messages WHERE role = 'user' AND kind = 'text' LIMIT 1")[0][0]
    before = runtime.searcher.keyword(prompt_text[:60], limit=5)["results"]
    assert any(r["content"] == prompt_text for r in before)
    server = ScriptedLLM(lambda req: REPLIES["valid"])
    try:
        run("distill", runtime.memories, LLM(server.url, "test", timeout=5), JobOptions())
    finally:
        server.close()
    after = runtime.searcher.keyword(prompt_text[:60], limit=5)["results"]
    assert not any(r["content"] == prompt_text for r in after)
    assert rows(runtime, "SELECT count(*) FROM messages WHERE text = %s", prompt_text) == [(1,)]
    hidden = rows(runtime, "SELECT id FROM memories WHERE content = %s AND superseded_by IS NOT NULL", prompt_text)
    assert hidden and runtime.memories.get(hidden[0][0])["content"] == prompt_text  # still stored, readable
    # the other ways out of search, bulk delete and purge, leave the archive whole as well
    archive = rows(runtime, "SELECT count(*), sum(length(text)) FROM messages")
    runtime.memories.bulk_delete(tag="distilled", dry_run=False)
    gone = rows(runtime, "SELECT id FROM memories WHERE deleted_at IS NOT NULL LIMIT 1")[0][0]
    runtime.memories.purge(gone)
    assert rows(runtime, "SELECT count(*), sum(length(text)) FROM messages") == archive


def test_a_transcript_ten_times_the_budget_is_distilled_in_parts(runtime, tmp_path):
    write_sessions(tmp_path / "projects", 1, seed=9, turns=(14, 14))
    do_import(runtime, claude_code_dir=tmp_path / "projects")

    def reply(req):
        n = int(re.search(r"Transcript part (\d+) of", user_text(req)).group(1))
        return 200, json.dumps([{"content": FACTS[(n - 1) % len(FACTS)] + f" (part {n})", "tags": []}]), 0.0

    server = ScriptedLLM(reply)
    try:
        summary = run("distill", runtime.memories, LLM(server.url, "test", timeout=5),
                      JobOptions(context_chars=1000))
    finally:
        server.close()
    texts = [user_text(r) for r in server.requests]
    total = int(re.search(r"part 1 of (\d+)", texts[0]).group(1))
    assert total >= 10 and len(texts) == total
    assert sorted(int(re.search(r"part (\d+) of", t).group(1)) for t in texts) == list(range(1, total + 1))
    assert all(len(t.split("\n\n", 1)[1]) <= 1000 for t in texts)
    assert all("USER:" in t or "ASSISTANT:" in t or "TOOL:" in t for t in texts)  # role labels kept
    kept = [r[0] for r in rows(runtime, "SELECT content FROM memories WHERE 'distilled' = ANY(tags)")]
    parts_kept = {int(re.search(r"\(part (\d+)\)", c).group(1)) for c in kept}
    # every part contributed; parts past the twelfth repeat a fact and merge into the earlier memory
    assert parts_kept == set(range(1, min(total, len(FACTS)) + 1))
    assert summary.dropped_duplicates == max(0, total - len(FACTS))


def test_two_processes_distill_each_of_20_sessions_exactly_once(runtime, dsn, tmp_path):
    write_sessions(tmp_path / "projects", 20, seed=3, turns=(1, 1))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    counter = itertools.count()

    def reply(req):
        n = next(counter)
        return 200, json.dumps([{"content": f"{FACTS[n % len(FACTS)]} #{n}", "tags": []}]), 0.05

    server = ScriptedLLM(reply)
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "OLLAMA_URL": server.url,
           "TORCH_THREADS": "1", "DISTILL_MIN_MESSAGES": "1"}
    try:
        procs = [subprocess.Popen([sys.executable, str(ROOT / "distill_sessions.py"), "--workers", "3"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        server.close()
    assert [p.returncode for p in procs] == [0, 0], outs
    asked = server.sessions_asked()
    sessions = [r[0] for r in rows(runtime, "SELECT session_id FROM imported_sessions")]
    assert sorted(asked) == sorted(sessions)  # every session once, none twice
    assert rows(runtime, "SELECT count(*) FROM imported_sessions WHERE distilled") == [(20,)]


def test_dry_run_changes_nothing(runtime, one_session):
    def snapshot():
        return (rows(runtime, "SELECT * FROM imported_sessions ORDER BY 1"),
                rows(runtime, "SELECT id, content, tags, superseded_by, updated_at FROM memories ORDER BY id"))

    before = snapshot()
    summary = run("distill", runtime.memories, None, JobOptions(dry_run=True))
    assert summary.would_process == [one_session]
    assert run("behavior", runtime.memories, None, JobOptions(dry_run=True)).would_process == []
    assert snapshot() == before


def test_behavioral_pass_runs_once_per_session_unless_forced(runtime, one_session):
    behaviour = json.dumps([{"content": "Answers in one line and expects Claude to carry on without asking.",
                             "tags": ["communication"]}])
    server = ScriptedLLM(lambda req: REPLIES["valid"])
    llm = LLM(server.url, "test", timeout=5)
    try:
        run("distill", runtime.memories, llm, JobOptions())
        server.reply = lambda req: (200, behaviour, 0.0)
        first = run("behavior", runtime.memories, llm, JobOptions())
        assert first.sessions == 1 and first.memories == 1 and len(server.requests) == 2
        row = rows(runtime, "SELECT tags, source FROM memories WHERE 'source:behavioral' = ANY(tags)")
        assert {"type:behavior", "source:behavioral", "communication"} <= set(row[0][0])
        assert rows(runtime, "SELECT behavior_extracted FROM imported_sessions") == [(True,)]
        again = run("behavior", runtime.memories, llm, JobOptions())
        assert again.sessions == 0 and len(server.requests) == 2
        server.reply = lambda req: (200, "[]", 0.0)  # found nothing: still marked processed
        forced = run("behavior", runtime.memories, llm, JobOptions(force=True))
        assert forced.sessions == 1 and forced.empty == 1 and len(server.requests) == 3
    finally:
        server.close()


def test_distill_killed_midway_leaves_nothing_half_written_and_the_rerun_finishes(runtime, dsn, tmp_path):
    """SIGKILL of `distill` while the LLM answers: every session is either fully distilled (marked, with
    all its memories, its raw rows hidden) or untouched; the rerun distills each remaining one once."""
    import signal
    import time

    from conftest import wait_until

    write_sessions(tmp_path / "projects", 8, seed=21, turns=(1, 1))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    counter = itertools.count()

    def reply(req):
        n = next(counter)
        sid = re.search(r"Session (\S+)\.", user_text(req)).group(1)
        return 200, json.dumps([{"content": f"{FACTS[n % len(FACTS)]} (session {sid})", "tags": []},
                                {"content": f"Second fact of session {sid}: the cache is warmed at start.",
                                 "tags": []}]), 0.4

    server = ScriptedLLM(reply)
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "OLLAMA_URL": server.url,
           "TORCH_THREADS": "1", "DISTILL_MIN_MESSAGES": "1"}
    try:
        proc = subprocess.Popen([sys.executable, str(ROOT / "distill_sessions.py"), "--workers", "2"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: rows(runtime, "SELECT count(*) FROM imported_sessions WHERE distilled")[0][0] >= 2,
                   timeout=240, interval=0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        time.sleep(0.5)

        def consistent() -> dict[str, bool]:
            out = {}
            for sid, distilled in rows(runtime, "SELECT session_id, distilled FROM imported_sessions"):
                kept = rows(runtime, "SELECT count(*) FROM memories WHERE 'distilled' = ANY(tags)"
                                     " AND session_id = %s", sid)[0][0]
                hidden = rows(runtime, "SELECT count(*) FROM memories WHERE session_id = %s"
                                       " AND 'claude-code-session' = ANY(tags) AND superseded_by IS NOT NULL", sid)[0][0]
                assert (distilled, kept > 0, hidden > 0) in ((True, True, True), (False, False, False)), sid
                out[sid] = distilled
            return out

        after_kill = consistent()
        assert 2 <= sum(after_kill.values()) < 8, "the run finished before it could be interrupted"
        asked_before = len(server.sessions_asked())
        rerun = subprocess.run([sys.executable, str(ROOT / "distill_sessions.py")], env=env, capture_output=True,
                               text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
    finally:
        server.close()
    assert all(consistent().values())
    counts = rows(runtime, "SELECT session_id, count(*), count(DISTINCT content) FROM memories"
                           " WHERE 'distilled' = ANY(tags) GROUP BY 1")
    assert len(counts) == 8 and all(1 <= n == d <= 2 for _, n, d in counts)  # nothing written twice
    undone = sorted(sid for sid, d in after_kill.items() if not d)
    redone = server.sessions_asked()[asked_before:]
    assert sorted(redone) == undone  # the rerun asked exactly the sessions left, each once


def test_a_server_without_json_mode_gets_plain_requests_and_the_session_is_distilled(runtime, one_session):
    """HTTP 400 to response_format (an OpenAI-compatible server without JSON mode): the client asks again
    without it, keeps asking plainly, and parses the reply leniently."""
    server = ScriptedLLM(lambda req: (400, "", 0.0) if "response_format" in req else REPLIES["prose"])
    try:
        run("distill", runtime.memories, LLM(server.url, "test", timeout=5), JobOptions())
    finally:
        server.close()
    assert ["response_format" in r for r in server.requests] == [True, False]
    assert _state(runtime, one_session)[:3] == (True, 0, 2)


def test_a_reply_cut_off_by_length_writes_nothing_and_counts_a_failure(runtime, one_session):
    server = ScriptedLLM(lambda req: (200, GOOD[: len(GOOD) // 2], 0.0, "length"))
    try:
        summary = run("distill", runtime.memories, LLM(server.url, "test", timeout=5), JobOptions())
    finally:
        server.close()
    assert summary.failed == 1 and any("cut off" in e for e in summary.errors)
    assert _state(runtime, one_session)[:3] == (False, 1, 0)


def test_the_llm_dying_in_the_middle_of_a_multi_part_session_writes_nothing_until_a_later_run(runtime, tmp_path):
    write_sessions(tmp_path / "projects", 1, seed=9, turns=(14, 14))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    (sid,) = [r[0] for r in rows(runtime, "SELECT session_id FROM imported_sessions")]

    def reply(req):
        n = int(re.search(r"Transcript part (\d+) of", user_text(req)).group(1))
        return 200, json.dumps([{"content": FACTS[(n - 1) % len(FACTS)] + f" (part {n})", "tags": []}]), 0.0

    first = ScriptedLLM(reply)
    answered = []

    def dying(req):
        if len(answered) >= 3:  # the LLM process dies after three parts: the connection drops unanswered
            raise ConnectionAbortedError("the LLM died")
        answered.append(1)
        return reply(req)

    first.reply = dying
    try:
        with pytest.raises(Unavailable):
            run("distill", runtime.memories, LLM(first.url, "test", timeout=5), JobOptions(context_chars=1000))
    finally:
        first.close()
    assert len(answered) == 3
    assert _state(runtime, sid)[:3] == (False, 0, 0)  # nothing half-written, not marked, no failure counted
    second = ScriptedLLM(reply)
    try:
        run("distill", runtime.memories, LLM(second.url, "test", timeout=5), JobOptions(context_chars=1000))
    finally:
        second.close()
    distilled, failures, kept, _ = _state(runtime, sid)
    assert distilled and failures == 0 and kept >= 10


def test_distill_project_takes_only_that_projects_sessions(runtime, tmp_path):
    for name, seed in (("alpha", 31), ("beta", 32)):
        write_sessions(tmp_path / name / "projects", 2, seed=seed, turns=(1, 1))
        for f in (tmp_path / name / "projects").rglob("*.jsonl"):
            f.write_text(f.read_text().replace('"cwd": "', f'"cwd": "/work/{name}'))
        do_import(runtime, claude_code_dir=tmp_path / name / "projects")
    projects = dict(rows(runtime, "SELECT session_id, project FROM imported_sessions"))
    assert sorted(set(projects.values())) != [] and len(set(projects.values())) >= 2
    target = sorted(set(projects.values()))[0]
    server = ScriptedLLM(lambda req: REPLIES["valid"])
    try:
        run("distill", runtime.memories, LLM(server.url, "test", timeout=5),
            JobOptions(project=target, min_messages=1))
    finally:
        server.close()
    asked = set(server.sessions_asked())
    assert asked == {s for s, p in projects.items() if p == target}
    done = dict(rows(runtime, "SELECT session_id, distilled FROM imported_sessions"))
    assert all(done[s] == (projects[s] == target) for s in projects)


def test_a_near_duplicate_of_an_earlier_sessions_distilled_memory_is_dropped(runtime, tmp_path):
    for seed in (51, 52):  # two sessions of the same project (the first project of each call)
        write_sessions(tmp_path / "projects", 1, seed=seed, turns=(1, 1))
    do_import(runtime, claude_code_dir=tmp_path / "projects")
    assert len(rows(runtime, "SELECT DISTINCT project FROM imported_sessions")) == 1
    wording = iter(["The billing worker retries payments three times with exponential backoff.",
                    "The billing worker retries payments three times, with exponential backoff."])
    server = ScriptedLLM(lambda req: (200, json.dumps([{"content": next(wording), "tags": []}]), 0.0))
    try:
        summary = run("distill", runtime.memories, LLM(server.url, "test", timeout=5), JobOptions(min_messages=1))
    finally:
        server.close()
    assert len(server.requests) == 2 and summary.sessions == 2 and summary.dropped_duplicates == 1
    assert rows(runtime, "SELECT count(*) FROM memories WHERE 'distilled' = ANY(tags)") == [(1,)]
    assert rows(runtime, "SELECT count(*) FROM imported_sessions WHERE distilled") == [(2,)]
