"""Semantic, keyword and hybrid search; filters that do not starve; the cache and its invalidation."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC

import pytest

from claude_memory.cache import ChangeListener
from claude_memory.errors import InvalidInput
from conftest import wait_until

SUBJECTS = ["the login flow", "the checkout page", "the ingestion worker", "the cache layer", "the CI pipeline",
            "the rate limiter", "the PDF exporter", "the retry queue", "the audit log", "the cron scheduler",
            "the image resizer", "the settings page", "the session store", "the billing webhook"]
TECH = ["PostgreSQL", "Redis", "Kafka", "FastAPI", "React", "Go", "Rust", "Docker", "Terraform", "Celery",
        "nginx", "Playwright", "Sentry", "gRPC", "Prisma", "SQLAlchemy"]


def _corpus(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, t = SUBJECTS[i % len(SUBJECTS)], TECH[(i // len(SUBJECTS)) % len(TECH)]
        out.append(f"Note {i}: {s} now talks to {t}; revisit after release {i % 37}.")
    return out


def test_filtered_semantic_search_is_not_starved(runtime):
    # 600 memories in one project, 15 in another; the query is nearest to the big project.
    rows = [{"content": c, "project": "big"} for c in _corpus(600)]
    rows += [{"content": f"Gardening log {i}: tomatoes need water every {i + 2} days", "project": "small"}
             for i in range(15)]
    runtime.memories.add_many(rows)
    res = runtime.searcher.semantic("the ingestion worker talks to Kafka", limit=10, project="small")
    assert len(res["results"]) == 10
    assert all(r["project"] == "small" for r in res["results"])


def test_semantic_search_finds_text_deep_inside_a_long_memory(runtime):
    filler = " ".join(f"Paragraph {i} discusses routine dashboard styling choices." for i in range(120))
    long_text = filler + " The production outage was caused by an expired TLS certificate on the load balancer."
    mid = runtime.memories.save(long_text, project="ops")["id"]
    for i in range(20):
        runtime.memories.save(f"Dashboard styling choice {i}: use spacing scale {i}", force=True, project="ops")
    res = runtime.searcher.semantic("why did production go down? expired certificate", limit=3)
    assert res["results"][0]["id"] == mid


def test_semantic_filters_since_before_and_min_similarity(runtime):
    from datetime import datetime

    runtime.memories.add_many([
        {"content": "Kafka consumer lag alert fired in January", "created_at": datetime(2026, 1, 10, tzinfo=UTC)},
        {"content": "Kafka consumer lag alert fired in March", "created_at": datetime(2026, 3, 10, tzinfo=UTC)},
    ])
    s = runtime.searcher
    assert [r["content"][-5:] for r in s.semantic("kafka lag", since="2026-02-01")["results"]] == ["March"]
    assert [r["content"][-7:] for r in s.semantic("kafka lag", before="2026-02-01")["results"]] == ["January"]
    assert s.semantic("kafka lag", min_similarity=0.99)["results"] == []
    with pytest.raises(InvalidInput, match="since"):
        s.semantic("kafka", since="31/12/2026")


def test_keyword_search_ranks_by_relevance_not_date(runtime):
    mem = runtime.memories
    best = mem.save("pgvector HNSW index tuning: pgvector ef_search and pgvector m parameters")["id"]
    mem.save("A note that mentions pgvector once, among many other words about lunch and coffee.")
    res = runtime.searcher.keyword("pgvector tuning")["results"]
    assert res[0]["id"] == best and res[0]["score"] > res[1]["score"]


@pytest.mark.parametrize("hostile", ["'", "&", ":*", "%", "\\", "a & b | !c", "foo:* & (bar", "100%_done",
                                     "'; DROP TABLE memories; --", "<->", "\x00nul"])
def test_keyword_search_is_safe_for_hostile_text(runtime, hostile):
    runtime.memories.save("progress: 100%_done on the release, path C:\\tmp\\x, it's fine & dandy")
    res = runtime.searcher.keyword(hostile)
    assert isinstance(res["results"], list)
    assert runtime.memories.list()["total"] == 1


def test_like_fallback_escapes_wildcards(runtime):
    runtime.memories.save("literal percent: 100%_done")
    runtime.memories.save("plain 1000 done")
    hits = runtime.searcher.keyword("%_")["results"]
    assert [h["content"] for h in hits] == ["literal percent: 100%_done"]


def test_hybrid_search_combines_both_legs_and_validates_weights(runtime):
    mem = runtime.memories
    kw = mem.save("Error code E1234 appears when the payments webhook signature is invalid.")["id"]
    sem = mem.save("Customers could not check out because card authorisation kept timing out.")["id"]
    mem.save("The docs site is built with a static generator.")
    res = runtime.searcher.hybrid("E1234 checkout failures", limit=3)["results"]
    assert {r["id"] for r in res[:2]} == {kw, sem}
    only_kw = runtime.searcher.hybrid("E1234", limit=1, keyword_weight=1.0, semantic_weight=0.0)["results"]
    assert only_kw[0]["id"] == kw
    with pytest.raises(InvalidInput):
        runtime.searcher.hybrid("x", keyword_weight=2)
    with pytest.raises(InvalidInput):
        runtime.searcher.hybrid("x", keyword_weight=0, semantic_weight=0)


def test_cache_serves_repeats_and_local_writes_clear_it(runtime):
    s = runtime.searcher
    runtime.memories.save("Vitest replaced Jest in the web dashboard.")
    first = s.semantic("test runner")
    assert s.semantic("test runner") == first and runtime.cache.hits == 1
    runtime.memories.save("Playwright covers the end-to-end tests of the dashboard.")
    assert len(s.semantic("test runner")["results"]) == 2


def test_cache_is_invalidated_by_a_write_from_another_process(runtime, dsn):
    listener = ChangeListener(dsn, runtime.cache)
    listener.start()
    try:
        wait_until(listener.listening.is_set, timeout=10)
        runtime.memories.save("Sentry collects errors from the mobile app.")
        assert len(runtime.searcher.keyword("sentry errors")["results"]) == 1
        code = (
            "import psycopg2, sys; c = psycopg2.connect(sys.argv[1]); cur = c.cursor();"
            "cur.execute(\"INSERT INTO memories (content, content_hash) VALUES"
            " ('Sentry also collects errors from the web app', 'h-other-process')\"); c.commit()"
        )
        subprocess.run([sys.executable, "-c", code, dsn], check=True)
        wait_until(lambda: len(runtime.searcher.keyword("sentry errors")["results"]) == 2, timeout=10)
    finally:
        listener.stop()


def test_hybrid_reads_conversation_turns_in_context(runtime):
    turns = ["Caroline: What did you paint for the art show last weekend, Melanie?",
             "Melanie: A sunrise over the lake, lots of orange and pink.",
             "Caroline: I adopted a puppy named Oscar on Tuesday.",
             "Melanie: We went camping near the river with the kids."]
    rows = []
    for project, session in (("linked", "conv/1"), ("loose", None)):
        rows += [{"content": t, "project": project, "session_id": session} for t in turns]
    runtime.memories.add_many(rows)

    def answer_score(project: str) -> float:
        res = runtime.searcher.hybrid("what did Melanie paint for the show", limit=4, project=project)["results"]
        return next(r["score"] for r in res if r["content"].startswith("Melanie: A sunrise"))

    assert answer_score("linked") > answer_score("loose")


def test_with_context_adds_a_share_of_the_best_neighbour():
    from claude_memory.search import with_context

    scored = [(1, 1.0), (2, 0.2), (3, 0.5)]
    out = dict(with_context(scored, {2: (1, 3), 3: (2, None)}, 0.5))
    assert out == {1: 1.0, 2: 0.7, 3: 0.6}
