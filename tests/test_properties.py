"""Property-based tests (hypothesis, bounded examples): the parsers never raise on arbitrary bytes or JSON
lines, redaction is idempotent and never leaves the secret, and every search and date parameter on arbitrary
text gives results or a domain error, never another exception."""

from __future__ import annotations

import contextlib
import json
import os
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_memory.errors import ClaudeMemoryError
from claude_memory.importers import claude_ai, claude_code
from claude_memory.importers.redact import redact
from claude_memory.learning.context import sentences
from claude_memory.timeutil import parse_when

BOUNDED = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)
# Records shaped like transcript lines: the known keys with arbitrary values, so the parser's deeper paths run.
record = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["user", "assistant", "system", "summary", "attachment", "api-request", "x"]) | st.text(max_size=8),
    "sessionId": st.text(max_size=10) | json_values, "uuid": st.text(max_size=10) | json_values,
    "parentUuid": st.text(max_size=10) | json_values, "timestamp": st.text(max_size=30) | json_values,
    "cwd": st.text(max_size=20) | json_values, "isSidechain": json_values, "subtype": json_values,
    "content": json_values, "leafUuid": json_values, "summary": json_values,
    "message": st.fixed_dictionaries({}, optional={
        "role": json_values, "id": json_values, "model": json_values,
        "content": st.text(max_size=60) | st.lists(st.fixed_dictionaries({}, optional={
            "type": st.sampled_from(["text", "tool_use", "tool_result", "thinking", "image", "weird"]),
            "text": json_values, "name": json_values, "input": json_values, "content": json_values,
            "thinking": json_values}), max_size=4) | json_values}) | json_values,
})


def _write(data: bytes) -> Path:
    fd, name = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


@BOUNDED
@given(st.binary(max_size=2000))
def test_claude_code_parser_never_raises_on_arbitrary_bytes(data):
    path = _write(data)
    result = claude_code.parse_file(path)
    assert result.end_offset <= len(data)
    path.unlink()


@BOUNDED
@given(st.lists(record | json_values, max_size=12), st.booleans())
def test_claude_code_parser_never_raises_on_arbitrary_json_lines(rows, trailing_newline):
    text = "\n".join(json.dumps(r) for r in rows) + ("\n" if trailing_newline else "")
    path = _write(text.encode())
    result = claude_code.parse_file(path)
    for s in result.sessions.values():
        for m in s.messages:
            assert isinstance(m.text, str) and "\x00" not in m.text
    path.unlink()


@BOUNDED
@given(st.binary(max_size=1500) | json_values.map(lambda v: json.dumps(v).encode()))
def test_claude_ai_parser_never_raises(data):
    path = _write(data)
    result = claude_ai.parse_export(path)
    assert result.error is None or isinstance(result.error, str)
    path.unlink()


conversation = st.fixed_dictionaries({}, optional={
    "uuid": json_values, "name": json_values, "created_at": json_values, "updated_at": json_values,
    "current_leaf_message_uuid": json_values, "project": json_values,
    "chat_messages": st.lists(st.fixed_dictionaries({}, optional={
        "uuid": st.text(max_size=6) | json_values, "sender": st.sampled_from(["human", "assistant"]) | json_values,
        "text": json_values, "created_at": st.text(max_size=30) | json_values,
        "parent_message_uuid": st.text(max_size=6) | json_values, "attachments": json_values, "files": json_values,
        "content": st.lists(st.fixed_dictionaries({}, optional={
            "type": st.sampled_from(["text", "tool_use", "tool_result", "thinking", "x"]) | json_values,
            "text": json_values, "input": json_values, "content": json_values, "thinking": json_values}),
            max_size=3) | json_values}), max_size=5) | json_values,
})


@BOUNDED
@given(st.lists(conversation | json_values, max_size=5) | conversation)
def test_claude_ai_parser_never_raises_on_export_shaped_json(data):
    path = _write(json.dumps(data).encode())
    result = claude_ai.parse_export(path)
    assert result.error is None or isinstance(result.error, str)
    path.unlink()


SECRETS = st.sampled_from([
    "sk-ant-api03-" + "a1B2" * 10, "ghp_" + "Ab3" * 13, "AKIA" + "ABCDEFGHIJKLMNOP",
    "xoxb-1234567890-abcdefghij", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
    "sk_live_" + "9" * 24, "hf_" + "x" * 34,
])


@BOUNDED
@given(st.text(max_size=200), SECRETS, st.text(max_size=200))
def test_redaction_is_idempotent_and_never_leaves_the_secret(before, secret, after):
    text = f"{before} {secret} {after}"
    once = redact(text)
    assert secret not in once
    assert redact(once) == once


@BOUNDED
@given(st.text(max_size=300))
def test_redaction_of_any_text_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once


@BOUNDED
@given(st.text(max_size=40))
def test_dates_parse_or_give_a_domain_error(value):
    with contextlib.suppress(ClaudeMemoryError):
        parse_when(value, "since")


@BOUNDED
@given(st.text(max_size=400), st.integers(min_value=1, max_value=500))
def test_sentences_never_exceed_the_limit_nor_cut_inside_a_word(text, limit):
    out = sentences(text, limit)
    assert len(out) <= limit
    flat = " ".join(text.split())
    body = out[:-1] if out.endswith("…") and not flat.startswith(out) else out
    assert flat.startswith(body)
    if body != out and " " in flat[:limit - 1][limit // 3 + 1:]:
        assert flat[len(body)] in " ,;:-"  # cut at a word boundary, not inside a word


@pytest.fixture(scope="module")
def searcher(server_dsn, embedder, tmp_path_factory):
    from claude_memory.settings import Settings
    from conftest import fresh_database, make_runtime

    gen = fresh_database(server_dsn)
    dsn = next(gen)
    rt = make_runtime(Settings.from_env({"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path_factory.mktemp("p"))}),
                      embedder)
    rt.memories.save("The billing worker retries Stripe webhooks with backoff.", ["billing"], "manual", "billing")
    rt.memories.save("Root cause of the flaky test: a shared clock.", ["bug"], "manual", "shop")
    yield rt
    rt.close()
    next(gen, None)


queries = st.text(max_size=80) | st.text(alphabet=string.punctuation + " &|!():*<>'\"\\", max_size=30)
names = st.none() | st.text(max_size=30)
dates = st.none() | st.text(max_size=30) | st.sampled_from(["2026-01-01", "9999-12-31T23:59:59-05:00",
                                                            "0001-01-01T00:00:00+05:00", "yesterday"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(queries, st.sampled_from(["semantic", "keyword", "hybrid"]), names, dates, dates,
       st.integers(min_value=-5, max_value=2000) | st.text(max_size=5))
def test_every_search_gives_results_or_a_domain_error(searcher, query, mode, project, since, before, limit):
    s = searcher.searcher
    try:
        if mode == "semantic":
            out = s.semantic(query, limit, 0.0, project, since, before)
        elif mode == "keyword":
            out = s.keyword(query, limit, project, since, before)
        else:
            out = s.hybrid(query, limit, 0.5, 0.5, project, since, before)
    except ClaudeMemoryError:
        return
    assert isinstance(out["results"], list)


@pytest.mark.parametrize("depth", [70, 900, 50_000])
def test_deeply_nested_json_is_skipped_and_counted_never_a_crash(depth, tmp_path):
    """JSON nested past any real transcript's depth (900 still decodes, 50,000 does not): the Claude Code
    line and the claude.ai conversation are skipped and counted, the rest of the file imports; it used to
    overflow the stack (RecursionError) and stop the run."""
    nested = "[" * depth + "1" + "]" * depth
    ok = json.dumps({"type": "user", "sessionId": "s", "uuid": "u2", "message": {"role": "user",
                                                                                 "content": "this one is fine"}})
    bad = ('{"type": "assistant", "sessionId": "s", "uuid": "u1", "message": {"role": "assistant", "content": '
           '[{"type": "tool_use", "name": "Write", "input": {"deep": ' + nested + '}}]}}')
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(bad + "\n" + ok + "\n")
    result = claude_code.parse_file(transcript)
    assert (set(result.skipped) & {"nesting too deep", "invalid json"}) and \
        [m.text for s in result.sessions.values() for m in s.messages] == ["this one is fine"]
    export = tmp_path / "conversations.json"
    conversation = {"uuid": "c1", "name": "ok", "chat_messages": [{"uuid": "m1", "sender": "human",
                                                                     "text": "a fine message"}]}
    export.write_text("[" + json.dumps(conversation) + ', {"uuid": "c2", "chat_messages": ' + nested + "}]")
    parsed = claude_ai.parse_export(export)
    if depth < 10_000:
        assert parsed.error is None and parsed.skipped["nesting too deep"] == 1 and "c1" in parsed.sessions
    else:
        assert parsed.error and "not JSON" in parsed.error
