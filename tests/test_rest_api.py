"""The REST API against a live server on a real database seeded with the fixtures: every endpoint with
real data, its bad inputs, the OpenAPI document, and the export → import round trip."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from api_helpers import Api, seeded_server, sql
from claude_memory.web import rest
from conftest import ROOT

DEMO_CWD = "/path/to/Demo"


@pytest.fixture(scope="module")
def live(server_dsn, embedder, tmp_path_factory):
    with seeded_server(server_dsn, tmp_path_factory.mktemp("rest"), embedder) as (server, dsn):
        yield server, dsn


@pytest.fixture(scope="module")
def api(live):
    return Api(live[0].url)


@pytest.fixture(scope="module")
def dsn(live):
    return live[1]


@pytest.fixture(scope="module")
def doc(api):
    return api.ok("GET", "/api/openapi.json")


def validator(doc, component: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, resolving its $refs inside the document."""
    root = Resource.from_contents({"components": doc["components"]}, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:doc", root)
    return jsonschema.Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{component}"}, registry=registry)


def reply_schema(doc, method: str, path: str, status: str = "200") -> str:
    ref = doc["paths"][path][method.lower()]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def test_openapi_document_lists_every_route_and_real_replies_validate(api, doc):
    table = rest.endpoints(rest.Handlers.__new__(rest.Handlers))
    declared = {(e.method.lower(), e.path) for e in table} | {("get", "/api/openapi.json")}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == declared
    assert doc["openapi"].startswith("3.1")
    assert all(p.startswith("/api/") or p in ("/health", "/cache/invalidate") for _, p in documented)
    mid = api.ok("GET", "/api/memories", params={"limit": 1})["memories"][0]["id"]
    sid = api.ok("GET", "/api/sessions", params={"limit": 1})["sessions"][0]["session_id"]
    calls = [("GET", "/health", {}), ("GET", "/api/status", {}), ("GET", "/api/stats", {}),
             ("GET", "/api/projects", {}), ("GET", "/api/tags", {}), ("GET", "/api/timeline", {}),
             ("GET", "/api/memories", {}), ("GET", "/api/memories/{id}", {"id": mid}),
             ("GET", "/api/memories/{id}/related", {"id": mid}), ("GET", "/api/duplicates", {}),
             ("GET", "/api/sessions", {}), ("GET", "/api/sessions/{session_id}", {"session_id": sid}),
             ("GET", "/api/sessions/{session_id}/messages", {"session_id": sid}),
             ("GET", "/api/sessions/{session_id}/memories", {"session_id": sid}),
             ("GET", "/api/context", {}), ("GET", "/api/preferences", {})]
    for method, path, args in calls:
        body = api.ok(method, path.format(**args))
        validator(doc, reply_schema(doc, method, path)).validate(body)
    for path, payload in (("/api/search", {"query": "xterm scrolling"}), ("/api/recall", {"query": "todo app"})):
        validator(doc, reply_schema(doc, "POST", path)).validate(api.ok("POST", path, json=payload))
    error = api.client.get("/api/memories/999999999").json()
    validator(doc, reply_schema(doc, "GET", "/api/memories/{id}", "404")).validate(error)


def test_stats_projects_tags_and_timeline_count_what_sql_counts(api, dsn):
    stats = api.ok("GET", "/api/stats")
    active = sql(dsn, "SELECT count(*) FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL")[0][0]
    assert stats["total_memories"] == active > 20
    assert stats["sessions"]["imported"] == sql(dsn, "SELECT count(*) FROM imported_sessions")[0][0] == 8
    db_size, mem_size = sql(dsn, "SELECT pg_database_size(current_database()), pg_total_relation_size('memories')")[0]
    assert abs(stats["storage"]["database_bytes"] - db_size) < 2_000_000 and stats["storage"]["memories_bytes"] > 0
    assert stats["storage"]["memories_bytes"] == mem_size
    projects = {p["name"]: p for p in api.ok("GET", "/api/projects")["projects"]}
    assert projects["Demo"]["sessions"] == 3 and projects["Demo"]["path"] == DEMO_CWD
    for name, (count,) in ((n, sql(dsn, "SELECT count(*) FROM memories WHERE project = %s AND deleted_at IS NULL"
                                        " AND superseded_by IS NULL", n)[0]) for n in projects):
        assert projects[name]["memories"] == count
    tags = {t["tag"]: t["count"] for t in api.ok("GET", "/api/tags")["tags"]}
    assert tags["claude-code-session"] == sql(dsn, "SELECT count(*) FROM memories WHERE 'claude-code-session'"
                                                   " = ANY(tags) AND deleted_at IS NULL AND superseded_by IS NULL")[0][0]
    line = api.ok("GET", "/api/timeline", params={"buckets": 12})
    assert line["total"] == active and all(len(p["counts"]) == 12 for p in line["projects"])
    lanes = {p["project"]: p["total"] for p in line["projects"]}
    assert lanes["Demo"] == projects["Demo"]["memories"] and sum(lanes.values()) == active
    one = api.ok("GET", "/api/timeline", params={"project": "spotter", "since": "2026-01-01", "buckets": 3})
    assert [p["project"] for p in one["projects"]] == ["spotter"] and one["total"] == projects["spotter"]["memories"]
    assert one["start"].startswith("2026-01-01")


def test_memory_lifecycle_create_read_update_delete_restore_purge(api, dsn):
    text = "The release checklist lives in docs/release.md and starts with a dry-run tag."
    saved = api.ok("POST", "/api/memories", 201, json={"content": text, "tags": ["ops"], "project": "lifecycle"})
    mid = saved["id"]
    assert saved["saved"] and saved["status"] == "saved"
    dup = api.ok("POST", "/api/memories", json={"content": text, "project": "lifecycle"})
    assert dup == {**dup, "status": "duplicate", "saved": False, "duplicate_of": mid}
    near = api.ok("POST", "/api/memories", json={"content": text + " ", "project": "lifecycle"})
    assert near["status"] in ("duplicate", "noop") and not near["saved"]
    got = api.ok("GET", f"/api/memories/{mid}")
    assert got["content"] == text and got["tags"] == ["ops"] and got["status"] == "active"
    patched = api.ok("PATCH", f"/api/memories/{mid}", json={"tags": ["ops", "release"]})
    assert patched["updated"] and patched["changed"] == ["tags"]
    same = api.ok("PATCH", f"/api/memories/{mid}", json={"tags": ["ops", "release"]})
    assert same["status"] == "unchanged" and not same["updated"]
    new_text = text.replace("dry-run tag", "signed tag pushed by CI")
    assert api.ok("PATCH", f"/api/memories/{mid}", json={"content": new_text})["changed"] == ["content"]
    assert api.ok("GET", f"/api/memories/{mid}")["content"] == new_text
    assert api.fails("POST", f"/api/memories/{mid}/purge", 409).startswith(f"memory {mid} is active")
    assert api.ok("DELETE", f"/api/memories/{mid}")["deleted"]
    assert api.ok("GET", f"/api/memories/{mid}")["status"] == "deleted"
    listed = api.ok("GET", "/api/memories", params={"project": "lifecycle", "status": "deleted"})
    assert [m["id"] for m in listed["memories"]] == [mid]
    assert api.ok("POST", f"/api/memories/{mid}/restore")["restored"]
    assert api.ok("DELETE", f"/api/memories/{mid}")["deleted"]
    assert api.ok("POST", f"/api/memories/{mid}/purge") == {"id": mid, "purged": True}
    assert sql(dsn, "SELECT count(*) FROM memories WHERE id = %s", mid)[0][0] == 0
    api.fails("GET", f"/api/memories/{mid}", 404)
    api.fails("POST", f"/api/memories/{mid}/restore", 404)


def test_related_uses_the_stored_vector(api, dsn):
    mid = api.ok("POST", "/api/memories", 201, json={
        "content": "Invoices are rendered to PDF with WeasyPrint in a background worker.", "project": "rel"})["id"]
    related = api.ok("GET", f"/api/memories/{mid}/related", params={"limit": 5})["related"]
    expected = sql(dsn, "SELECT id FROM memories WHERE id <> %s AND deleted_at IS NULL AND superseded_by IS NULL"
                        " ORDER BY embedding <=> (SELECT embedding FROM memories WHERE id = %s) LIMIT 5", mid, mid)
    assert [r["id"] for r in related] == [r[0] for r in expected]
    assert len(api.ok("GET", f"/api/memories/{mid}/related")["related"]) == 3
    api.fails("GET", "/api/memories/987654321/related", 404)


def test_list_filters_pages_and_statuses(api, dsn):
    page1 = api.ok("GET", "/api/memories", params={"limit": 5})
    page2 = api.ok("GET", "/api/memories", params={"limit": 5, "offset": 5})
    assert page1["limit"] == 5 and len(page1["memories"]) == 5 and page1["total"] == page2["total"]
    assert not {m["id"] for m in page1["memories"]} & {m["id"] for m in page2["memories"]}
    times = [m["created_at"] for m in page1["memories"] + page2["memories"]]
    assert times == sorted(times, reverse=True)
    assert api.ok("GET", "/api/memories")["limit"] == 50
    demo = api.ok("GET", "/api/memories", params={"project": "Demo", "tag": "role:user"})
    assert demo["total"] == sql(dsn, "SELECT count(*) FROM memories WHERE project = 'Demo' AND 'role:user' = ANY(tags)"
                                     " AND deleted_at IS NULL AND superseded_by IS NULL")[0][0] > 0
    src = api.ok("GET", "/api/memories", params={"source": "manual"})
    assert src["total"] >= 4 and all(m["source"] == "manual" for m in src["memories"])
    window = api.ok("GET", "/api/memories", params={"since": "2026-01-01", "before": "2026-03-01"})
    assert all("2026-01" <= m["created_at"][:7] < "2026-03" for m in window["memories"]) and window["total"] > 0


def test_search_modes_and_recall(api):
    for mode in ("semantic", "keyword", "hybrid"):
        out = api.ok("POST", "/api/search", json={"query": "Stripe webhooks backoff", "mode": mode, "limit": 3})
        assert out["mode"] == mode and out["results"][0]["content"].startswith("The billing service retries")
    hybrid = api.ok("POST", "/api/search", json={"query": "Stripe webhooks", "project": "billing"})
    assert {r["project"] for r in hybrid["results"]} == {"billing"}
    assert all("keyword_score" in r and "similarity" in r for r in hybrid["results"])
    scores = [r["score"] for r in hybrid["results"]]
    assert scores == sorted(scores, reverse=True)
    recall = api.ok("POST", "/api/recall", json={"query": "flaky checkout test clock", "threshold": 0.4})
    assert recall["results"] and all(r["similarity"] >= 0.4 for r in recall["results"])
    assert recall["results"][0]["content"].startswith("Root cause of the flaky checkout test")
    assert api.ok("POST", "/api/recall", json={"query": "flaky checkout test", "threshold": 0.99})["results"] == []


def test_duplicates_and_bulk_delete(api, dsn):
    a = api.ok("POST", "/api/memories", 201, json={"content": "Deploys run from the main branch every Tuesday.",
                                                     "project": "dups"})["id"]
    b = api.ok("POST", "/api/memories", 201, json={"content": "Deploys run from the main branch every Tuesday!!",
                                                     "project": "dups", "force": True})["id"]
    pairs = api.ok("GET", "/api/duplicates", params={"project": "dups", "threshold": 0.9})["pairs"]
    assert [{p["a"]["id"], p["b"]["id"]} for p in pairs] == [{a, b}]
    preview = api.ok("DELETE", "/api/memories", params={"project": "dups"})
    assert preview["dry_run"] and preview["would_delete"] == 2
    assert sql(dsn, "SELECT count(*) FROM memories WHERE project = 'dups' AND deleted_at IS NULL")[0][0] == 2
    done = api.ok("DELETE", "/api/memories", params={"project": "dups", "dry_run": "false"})
    assert done == {**done, "dry_run": False, "deleted": 2}
    assert sql(dsn, "SELECT count(*) FROM memories WHERE project = 'dups' AND deleted_at IS NULL")[0][0] == 0
    assert "at least one" in api.fails("DELETE", "/api/memories", 400, params={"dry_run": "false"})


def test_export_streams_and_imports_back(api, dsn, other_dsn, tmp_path):
    with api.client.stream("GET", "/api/export", params={"format": "json"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert "attachment" in r.headers["content-disposition"] and "content-length" not in r.headers
        data = b"".join(r.iter_bytes())
    exported = json.loads(data)
    active = sql(dsn, "SELECT count(*) FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL")[0][0]
    assert exported["count"] == len(exported["memories"]) == active
    # the CLI re-imports it into an empty store: the same memories
    path = tmp_path / "export.json"
    path.write_bytes(data)
    env = {**os.environ, "DATABASE_URL": other_dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "TORCH_THREADS": "1"}
    subprocess.run([sys.executable, str(ROOT / "import_memories.py"), "--memories-json", str(path)], env=env,
                   check=True, capture_output=True)
    keep = "SELECT content, tags, project, source, created_at FROM memories WHERE deleted_at IS NULL" \
           " AND superseded_by IS NULL ORDER BY content, project"
    assert sql(other_dsn, keep) == sql(dsn, keep)
    # and through the API: purge a project, upload its export, it is back
    billing = api.client.get("/api/export", params={"project": "billing"}).content
    ids = [m["id"] for m in json.loads(billing)["memories"]]
    for mid in ids:
        api.ok("DELETE", f"/api/memories/{mid}")
        api.ok("POST", f"/api/memories/{mid}/purge")
    result = api.ok("POST", "/api/import", content=billing, headers={"content-type": "application/json"})
    assert result["memories"] == len(ids) == 2 and result["errors"] == []
    back = sql(dsn, "SELECT content, tags FROM memories WHERE project = 'billing' ORDER BY content")
    assert back == sorted((m["content"], m["tags"]) for m in json.loads(billing)["memories"])
    md = api.client.get("/api/export", params={"format": "markdown", "project": "shop"})
    assert md.headers["content-type"].startswith("text/markdown") and "Root cause of the flaky" in md.text
    api.fails("POST", "/api/import", 400, content=b"[1, 2]", headers={"content-type": "application/json"})


def test_sessions_transcripts_and_their_memories(api, dsn):
    sessions = api.ok("GET", "/api/sessions", params={"project": "spotter"})
    assert sessions["total"] == 2 and {s["project"] for s in sessions["sessions"]} == {"spotter"}
    last = [s["last_message_at"] for s in api.ok("GET", "/api/sessions")["sessions"]]
    assert last == sorted(last, reverse=True)
    sid = "d6e0bada-1959-4eec-a9d2-0bfade768d8f"
    one = api.ok("GET", f"/api/sessions/{sid}")
    assert one["message_count"] == 19 and one["distill_state"] == "pending" and one["memories"] == 2
    first = api.ok("GET", f"/api/sessions/{sid}/messages", params={"limit": 10})
    rest_ = api.ok("GET", f"/api/sessions/{sid}/messages", params={"limit": 10, "offset": 10})
    archived = sql(dsn, "SELECT uuid, kind FROM messages WHERE session_id = %s ORDER BY seq", sid)
    assert first["total"] == 19 and [(m["uuid"], m["kind"]) for m in first["messages"] + rest_["messages"]] == \
        [tuple(r) for r in archived]
    assert {"text", "tool_use", "tool_result"} <= {m["kind"] for m in first["messages"] + rest_["messages"]}
    cut = api.ok("GET", f"/api/sessions/{sid}/messages", params={"max_chars": 100})["messages"]
    assert any(m["truncated"] and len(m["text"]) == 100 and m["length"] > 100 for m in cut)
    mems = api.ok("GET", f"/api/sessions/{sid}/memories")
    assert mems["total"] == 2 and all(m["session_id"] == sid for m in mems["memories"])
    api.fails("GET", "/api/sessions/no-such-session", 404)
    api.fails("GET", "/api/sessions/no-such-session/messages", 404)


def test_context_is_exactly_what_the_session_start_hook_prints(api, live, tmp_path):
    server, dsn = live
    ctx = api.ok("GET", "/api/context", params={"project": DEMO_CWD})
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "claude_memory", "hook", "session-start"], env=env, check=True,
                         input=json.dumps({"cwd": DEMO_CWD, "session_id": "x"}), capture_output=True, text=True)
    hook = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert ctx["context"] == hook and ctx["resolved_project"] == "Demo"
    assert ctx["bytes"] == len(hook.encode()) <= ctx["budget"] == 2048
    prefs = api.ok("GET", "/api/preferences", params={"project": "billing"})
    assert [t["tier"] for t in prefs["tiers"]] == ["explicit", "signals", "inferred"]
    assert any("pytest" in e["content"] for e in prefs["tiers"][0]["entries"])


def test_status_reports_model_database_and_sessions(api, dsn):
    status = api.ok("GET", "/api/status")
    assert status["model"] == {"name": "all-MiniLM-L6-v2", "state": "ready"} and status["database"]["reachable"]
    assert status["sessions"]["imported"] == 8 and status["last_import"] and status["last_distill"] is None
    assert status["sessions"] == api.ok("GET", "/api/stats")["sessions"]


BAD = [
    ("GET", "/api/memories", {"params": {"limit": 201}}, 400, "limit"),
    ("GET", "/api/memories", {"params": {"limit": 0}}, 400, "limit"),
    ("GET", "/api/memories", {"params": {"limit": "ten"}}, 400, "limit"),
    ("GET", "/api/memories", {"params": {"offset": -1}}, 400, "offset"),
    ("GET", "/api/memories", {"params": {"project": "a\x00b"}}, 400, "NUL"),
    ("GET", "/api/memories", {"params": {"project": "x" * 501}}, 400, "project"),
    ("GET", "/api/memories", {"params": {"since": "yesterday"}}, 400, "since"),
    ("GET", "/api/memories", {"params": {"since": "9999-12-31T23:59:59-05:00"}}, 400, "since"),
    ("GET", "/api/memories", {"params": {"before": "0001-01-01T00:00:00+05:00"}}, 400, "before"),
    ("GET", "/api/memories", {"params": {"since": "2026-02-30"}}, 400, "since"),
    ("GET", "/api/memories", {"params": {"since": "2026-03-01", "before": "2026-01-01"}}, 400, "earlier"),
    ("GET", "/api/memories", {"params": {"status": "gone"}}, 400, "status"),
    ("GET", "/api/memories", {"params": {"limt": 5}}, 400, "unknown"),
    ("GET", "/api/memories", {"params": [("limit", 1), ("limit", 2)]}, 400, "more than once"),
    ("GET", "/api/memories/abc", {}, 400, "id"),
    ("GET", "/api/memories/0", {}, 400, "id"),
    ("GET", "/api/memories/99999999999999999999999", {}, 400, "id"),
    ("GET", "/api/memories/123456789", {}, 404, "no memory"),
    ("PATCH", "/api/memories/123456789", {"json": {"tags": ["x"]}}, 404, "no memory"),
    ("DELETE", "/api/memories/123456789", {}, 404, "no memory"),
    ("GET", "/api/timeline", {"params": {"buckets": 5000}}, 400, "buckets"),
    ("GET", "/api/duplicates", {"params": {"threshold": 2}}, 400, "threshold"),
    ("GET", "/api/export", {"params": {"format": "xml"}}, 400, "format"),
    ("GET", "/api/preferences", {"params": {"project": "a\x00b"}}, 400, "NUL"),
    ("GET", "/api/context", {"params": {"project": "p" * 600}}, 400, "project"),
    ("GET", "/api/sessions", {"params": {"limit": 1000}}, 400, "limit"),
    ("GET", "/api/sessions/x/messages", {"params": {"max_chars": 5}}, 400, "max_chars"),
    ("POST", "/api/memories", {"json": {"content": "\u0000\u0000"}}, 400, "content"),
    ("POST", "/api/memories", {"json": {"content": "   "}}, 400, "content"),
    ("POST", "/api/memories", {"json": {"content": 42}}, 400, "content"),
    ("POST", "/api/memories", {"json": {"content": "ok text here", "tags": "a,b"}}, 400, "tags"),
    ("POST", "/api/memories", {"json": {"content": "ok text here", "tags": ["x" * 101]}}, 400, "tag"),
    ("POST", "/api/memories", {"json": {"content": "ok text here", "project": "a\x00"}}, 400, "NUL"),
    ("POST", "/api/memories", {"json": {"content": "ok", "colour": "red"}}, 400, "unknown"),
    ("POST", "/api/memories", {"json": {"content": "x" * 1_000_001}}, 400, "content"),
    ("POST", "/api/memories", {"content": b'{"content": "ok", ', "headers": {"content-type": "application/json"}},
     400, "JSON"),
    ("POST", "/api/memories", {"content": b'{"content": NaN}', "headers": {"content-type": "application/json"}},
     400, "JSON"),
    ("POST", "/api/memories", {"content": b'{"content": "\\ud800 lone"}', "headers": {
        "content-type": "application/json"}}, 400, "Unicode"),
    ("POST", "/api/memories", {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 400, "UTF-8"),
    ("POST", "/api/memories", {"content": b'{"content": "hi"}', "headers": {"content-type": "text/plain"}}, 415,
     "JSON"),
    ("POST", "/api/memories", {"content": b"[" * 100_000 + b"]" * 100_000,
                               "headers": {"content-type": "application/json"}}, 400, "JSON"),
    ("POST", "/api/search", {"json": {"query": "x", "mode": "fuzzy"}}, 400, "mode"),
    ("POST", "/api/search", {"json": {"query": "\u0000"}}, 400, "query"),
    ("POST", "/api/search", {"json": {"query": "x", "keyword_weight": True}}, 400, "keyword_weight"),
    ("POST", "/api/search", {"json": {"query": "x", "keyword_weight": 0, "semantic_weight": 0}}, 400, "both be 0"),
    ("POST", "/api/search", {"json": {"query": "x" * 10_001}}, 400, "query"),
    ("POST", "/api/recall", {"json": {"query": "x", "threshold": 1.5}}, 400, "threshold"),
    ("POST", "/api/recall", {"json": ["query"]}, 400, "dictionary"),
    ("PUT", "/api/memories", {}, 405, "allowed"),
    ("GET", "/api/nothing-here", {}, 404, "no route"),
]


@pytest.mark.parametrize("method,path,kw,status,needle", BAD, ids=[f"{b[0]} {b[1]} {b[4]}" for b in BAD])
def test_bad_input_is_a_clear_4xx(api, method, path, kw, status, needle):
    message = api.fails(method, path, status, **kw)
    assert needle.lower() in message.lower(), message


def _declared_body(url: str, path: str, length: int) -> tuple[int, str]:
    """Send only the headers of a request announcing a body of `length` bytes; return the reply."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {length}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def test_oversized_bodies_are_refused_before_reading(live):
    url = live[0].url
    status, body = _declared_body(url, "/api/memories", 9 * 1024 * 1024)
    assert status == 413 and "larger than" in json.loads(body)["error"]
    status, body = _declared_body(url, "/api/import", 65 * 1024 * 1024)
    assert status == 413 and "larger than" in json.loads(body)["error"]
    r = httpx.post(url + "/api/memories", content=b'{"content": "' + b"a" * (9 * 1024 * 1024) + b'"}',
                   headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 413


def test_no_cors_headers_and_the_allow_header_on_405(api):
    r = api.client.options("/api/memories", headers={"Origin": "http://localhost:5173",
                                                     "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, POST"
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    r = api.client.get("/api/stats", headers={"Origin": "http://127.0.0.1:3333"})
    assert r.status_code == 200 and not any(h.lower().startswith("access-control-") for h in r.headers)


def test_the_ui_types_are_generated_from_the_current_document():
    """ui/openapi.json (from which ui/src/api/schema.d.ts is generated) is the server's document today."""
    committed = json.loads((ROOT / "ui" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(rest.document())), "run scripts/ui-check and commit the result"


def test_a_memory_the_database_cannot_index_is_a_clear_400(api, dsn):
    """72,000 distinct words (under the 1M-character limit) overflow PostgreSQL's tsvector: a 400 naming the
    reason, not a 500; nothing half-saved; the server goes on."""
    import random

    rng = random.Random(12)
    huge = " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(5)) + "q" + str(i)
                    for i in range(72_000))
    before = sql(dsn, "SELECT count(*) FROM memories")
    message = api.fails("POST", "/api/memories", 400, json={"content": huge}, timeout=300)
    assert "database refused" in message and "tsvector" in message
    assert sql(dsn, "SELECT count(*) FROM memories") == before
    assert api.ok("GET", "/api/stats")["total_memories"] >= 1
