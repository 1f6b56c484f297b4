"""Behaviour of the memory service against real PostgreSQL + pgvector and the real model."""

from __future__ import annotations

import json
import time
from datetime import UTC

import pytest

from claude_memory.errors import Conflict, InvalidInput, NotFound
from claude_memory.export import export_text
from claude_memory.memory import Guard, MemoryService


def test_save_returns_id_and_get_returns_full_content(runtime):
    long_text = "Decision: keep PostgreSQL. " + "detail " * 3000
    saved = runtime.memories.save(long_text, ["decision"], "manual", "infra")
    assert saved["status"] == "saved"
    got = runtime.memories.get(saved["id"])
    assert got["content"] == long_text.strip()
    assert got["tags"] == ["decision"] and got["project"] == "infra" and got["status"] == "active"


def test_exact_duplicate_is_reported_not_saved(runtime):
    first = runtime.memories.save("Use pnpm in the web project", project="web")
    again = runtime.memories.save("Use pnpm in the web project", project="web", force=True)
    assert again["status"] == "duplicate" and again["duplicate_of"] == first["id"]
    # the same text in another project is a different memory
    other = runtime.memories.save("Use pnpm in the web project", project="api")
    assert other["status"] == "saved"


def test_near_duplicate_is_noop_unless_forced(runtime):
    first = runtime.memories.save("The billing API retries failed webhooks three times with backoff.")
    near = runtime.memories.save("The billing API retries failed webhooks 3 times with backoff.")
    assert near["status"] == "noop" and near["duplicate_of"] == first["id"]
    assert near["similarity"] >= runtime.settings.guard_noop_threshold
    forced = runtime.memories.save("The billing API retries failed webhooks 3 times with backoff.", force=True)
    assert forced["status"] == "saved"


def test_check_memory_follows_thresholds_from_settings(runtime):
    runtime.memories.save("We deploy the dashboard with GitHub Actions on every merge to main.")
    mem = runtime.memories
    exact = mem.check("We deploy the dashboard with GitHub Actions on every merge to main.")
    assert exact["action"] == "NOOP" and exact["similarity"] == 1.0
    unrelated = mem.check("My cat likes sleeping in the sun on Sundays.")
    assert unrelated["action"] == "ADD"
    probe = mem.check("Dashboard deployments run through GitHub Actions when main changes.")
    sim = probe["similarity"]
    assert 0.3 < sim < 0.999
    # the same similarity classifies differently under other thresholds: the service reads them from settings
    for noop, update, expected in [(sim - 0.01, sim - 0.02, "NOOP"), (sim + 0.01, sim - 0.01, "UPDATE"),
                                   (min(1.0, sim + 0.02), min(1.0, sim + 0.01), "ADD")]:
        strict = MemoryService(mem.db, mem.embedder, Guard(noop, update), mem.cache)
        assert strict.check("Dashboard deployments run through GitHub Actions when main changes.")["action"] == expected


def test_update_reembeds_and_guards(runtime):
    a = runtime.memories.save("Redis is the session store for the auth service.")["id"]
    b = runtime.memories.save("The CLI tools are written in Go.")["id"]
    res = runtime.memories.update(a, content="Postgres replaced Redis as the session store of the auth service.",
                                  tags=["decision"])
    assert res["updated"] and set(res["changed"]) == {"content", "tags"}
    hits = runtime.searcher.semantic("which database stores auth sessions", limit=1)["results"]
    assert hits[0]["id"] == a
    dup = runtime.memories.update(b, content="Postgres replaced Redis as the session store of the auth service.")
    assert dup["updated"] is False


def test_delete_restore_purge_cycle(runtime):
    mid = runtime.memories.save("Temporary note about the staging database password rotation.")["id"]
    with pytest.raises(Conflict):
        runtime.memories.purge(mid)  # active memories cannot be purged
    runtime.memories.delete(mid)
    assert runtime.memories.get(mid)["status"] == "deleted"
    assert runtime.memories.list()["total"] == 0
    assert not runtime.searcher.keyword("staging password")["results"]
    runtime.memories.restore(mid)
    assert runtime.searcher.keyword("staging password")["results"][0]["id"] == mid
    runtime.memories.delete(mid)
    assert runtime.memories.purge(mid)["purged"]
    with pytest.raises(NotFound):
        runtime.memories.get(mid)


def test_bulk_delete_previews_by_default(runtime):
    for i in range(7):
        runtime.memories.save(f"Scratch note number {i} about flaky test {i * 17}", tags=["scratch"], force=True)
    keep = runtime.memories.save("Keep me: the release checklist lives in docs/release.md")["id"]
    preview = runtime.memories.bulk_delete(tag="scratch")
    assert preview["dry_run"] and preview["would_delete"] == 7 and len(preview["sample"]) == 5
    assert runtime.memories.list()["total"] == 8
    with pytest.raises(InvalidInput):
        runtime.memories.bulk_delete()
    done = runtime.memories.bulk_delete(tag="scratch", dry_run=False)
    assert done["deleted"] == 7
    listing = runtime.memories.list()
    assert listing["total"] == 1 and listing["memories"][0]["id"] == keep


def test_list_filters_and_pagination(runtime):
    from datetime import datetime

    rows = [{"content": f"Memory {i} on the ingestion worker", "project": "p1" if i % 2 else "p2",
             "created_at": datetime(2026, 1, 1 + i, tzinfo=UTC), "tags": ["t"] if i < 3 else []}
            for i in range(10)]
    runtime.memories.add_many(rows)
    mem = runtime.memories
    assert mem.list(limit=3)["total"] == 10 and len(mem.list(limit=3)["memories"]) == 3
    assert mem.list(limit=3, offset=9)["memories"][0]["content"] == "Memory 0 on the ingestion worker"
    assert mem.list(project="p1")["total"] == 5
    assert mem.list(since="2026-01-05")["total"] == 6
    assert mem.list(before="2026-01-03T00:00:00")["total"] == 2
    assert mem.list(tag="t")["total"] == 3
    with pytest.raises(InvalidInput, match="since"):
        mem.list(since="yesterday-ish")
    with pytest.raises(InvalidInput):
        mem.list(limit=0)


def test_find_duplicates_uses_the_vector_index(runtime):
    mem = runtime.memories
    a = mem.save("Run database migrations before deploying the payments service.")["id"]
    b = mem.save("Before deploying the payments service, run the database migrations.", force=True)["id"]
    mem.save("Tailwind is used for styling the docs site.")
    found = mem.find_duplicates(threshold=0.85)
    assert [(p["a"]["id"], p["b"]["id"]) for p in found["pairs"]] == [(min(a, b), max(a, b))]
    with runtime.db.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("SET enable_sort = off")
        cur.execute("EXPLAIN SELECT 1 FROM memory_vectors v JOIN memories n ON n.id = v.memory_id"
                    " WHERE v.chunk_no = -1 ORDER BY v.embedding <=> (SELECT embedding FROM memories LIMIT 1) LIMIT 3")
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "memory_vectors_embedding_hnsw" in plan


def test_tags_stats_and_export_roundtrip(runtime):
    mem = runtime.memories
    mem.save("Alpha fact about the cron scheduler", tags=["a", "b"], source="manual", project="x")
    mem.save("Beta fact about the audit log", tags=["b"], source="import", project="y")
    assert mem.list_tags()["tags"] == [{"tag": "b", "count": 2}, {"tag": "a", "count": 1}]
    stats = runtime.overview.stats()
    assert stats["total_memories"] == 2 and stats["by_project"] == {"x": 1, "y": 1}
    assert stats["by_source"] == {"import": 1, "manual": 1} and "sessions" in stats
    exported = json.loads(export_text(mem, project="x"))
    assert exported["count"] == 1 and exported["memories"][0]["tags"] == ["a", "b"]
    md = export_text(mem, output_format="markdown")
    assert "Alpha fact" in md and "Beta fact" in md
    with pytest.raises(InvalidInput):
        export_text(mem, output_format="xml")


def test_bad_parameters_are_clear_errors(runtime):
    mem = runtime.memories
    with pytest.raises(InvalidInput):
        mem.save("   ")
    with pytest.raises(InvalidInput):
        mem.save("ok", tags=[1, 2])
    with pytest.raises(InvalidInput):
        mem.get("abc")
    with pytest.raises(NotFound):
        mem.get(999999)
    with pytest.raises(InvalidInput):
        mem.find_duplicates(threshold=3)


def test_a_query_does_not_wait_behind_a_long_save(runtime):
    """A save of a very long text embeds its windows a small batch at a time; a search sent meanwhile gets
    the model at the next turn, long before the save is done (defect: it used to wait for all of it)."""
    import random
    import threading

    rng = random.Random(3)
    words = ["retry", "ledger", "invoice", "cache", "worker", "schema", "token", "deploy", "queue", "metric",
             "parser", "export", "billing", "session", "socket", "cursor", "index", "branch", "commit", "webhook"]
    long_text = " ".join(rng.choice(words) + ("." if rng.random() < 0.08 else "") for _ in range(30_000))
    assert len(long_text) > 150_000
    done = threading.Event()
    saver = threading.Thread(target=lambda: (runtime.memories.save(long_text, project="big"), done.set()))
    turns = runtime.embedder._turns
    saver.start()
    deadline = time.monotonic() + 120
    while not turns._busy and time.monotonic() < deadline:  # the save is on the model
        time.sleep(0.005)
    assert turns._busy and not done.is_set()
    runtime.searcher.semantic("which worker handles the webhook retries?", 5, 0.0, None, None, None)
    assert not done.is_set(), "the query waited for the whole save"
    saver.join(300)
    assert done.is_set()
