"""Keyword search from the impact-ordered postings (reading stops early) gives exactly the BM25 of the
tsvector computation, on both of its routes (threshold reads; MaxScore for many middling terms, its optional
terms probed or read in full), and the postings and counters follow every write: insert, content change,
delete, restore, supersede, project, purge."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from claude_memory.db import memories as q
from claude_memory.db.memories import Filters, NewMemory
from claude_memory.memory import content_hash
from corpus import memories, queries, realistic


def _load(rt, n: int) -> list[int]:
    """Half template notes, half the realistic corpus (real text's vocabulary, long memories, sessions)."""
    rng = np.random.default_rng(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    real, _ = realistic(n - n // 2, seed=4)
    texts = [(p, t, None) for p, t in memories(n // 2, seed=11)] + [(m.project, m.content, m.session) for m in real]
    rows = []
    for i, (project, text, session) in enumerate(texts):
        vec = rng.standard_normal(rt.embedder.dimension).astype(np.float32)
        rows.append(NewMemory(text, content_hash(text), vec / np.linalg.norm(vec), [], ["bench"], "bench",
                              project if i % 7 else None, session, start + timedelta(hours=i)))
    with rt.db.cursor() as cur:
        return [i for i in q.insert_many(cur, rows) if i is not None]


def _same(rt, text: str, flt: Filters, limit: int = 10) -> None:
    with rt.db.cursor() as cur:
        fast, _ = q.bm25_top(cur, text, flt, limit)
        exact = q.bm25_exact(cur, text, flt, limit)
    assert [i for i, _ in fast] == [i for i, _ in exact], (text, flt, limit)
    for (_, a), (_, b) in zip(fast, exact, strict=True):
        assert abs(a - b) < 1e-9 * max(1.0, abs(b))


def _counters_match(rt) -> None:
    with rt.db.cursor() as cur:
        cur.execute("SELECT project, docs, total_len FROM memory_counts WHERE docs > 0 ORDER BY 1")
        counters = cur.fetchall()
        cur.execute("SELECT coalesce(project, ''), count(*), sum(doc_len) FROM memories WHERE deleted_at IS NULL"
                    " AND superseded_by IS NULL GROUP BY 1 ORDER BY 1")
        assert counters == cur.fetchall()
        cur.execute("SELECT count(*) FROM memory_terms t JOIN memories m ON m.id = t.memory_id WHERE t.active <>"
                    " (m.deleted_at IS NULL AND m.superseded_by IS NULL) OR t.project IS DISTINCT FROM m.project")
        assert cur.fetchone()[0] == 0
        # document frequencies: counters plus pending deltas equal a count of the active postings
        cur.execute("""SELECT lexeme, project, sum(df) FROM (
                           SELECT lexeme, project, df FROM memory_df
                           UNION ALL SELECT lexeme, project, delta FROM memory_df_delta) u
                       GROUP BY 1, 2 HAVING sum(df) <> 0 ORDER BY 1, 2""")
        counted = cur.fetchall()
        cur.execute("SELECT lexeme, coalesce(project, ''), count(*) FROM memory_terms WHERE active"
                    " GROUP BY 1, 2 ORDER BY 1, 2")
        assert counted == cur.fetchall()


# rounds 0: straight to MaxScore; 3: threshold reads first. join: optional terms probed per candidate (0),
# read in full with the needed ones (1e18), or as the cost rule picks
@pytest.mark.parametrize(("rounds", "join"), [(0, 0.0), (0, 1e18), (3, q.JOIN_RATIO)])
def test_postings_bm25_equals_the_exact_computation_through_every_kind_of_write(runtime, monkeypatch, rounds,
                                                                                 join):
    monkeypatch.setattr(q, "TA_ROUNDS", rounds)
    monkeypatch.setattr(q, "JOIN_RATIO", join)
    ids = _load(runtime, 3000)
    asked = [t for t, _ in realistic(60, seed=9)[1][:12]]
    pasted = " ".join(m.content for m in realistic(80, seed=5)[0])[:6000]  # hundreds of lexemes
    texts = queries(10, seed=3) + asked + ["PostgreSQL", "a race condition", "the the the", "pnpm Vitest", pasted]
    windows = [Filters(), Filters(project="payments"), Filters(project="billing-api"),
               Filters(since=datetime(2025, 2, 1, tzinfo=UTC)),
               Filters(project="ml-pipeline", since=datetime(2025, 1, 20, tzinfo=UTC),
                       before=datetime(2025, 3, 1, tzinfo=UTC))]
    for text in texts:
        for flt in windows:
            _same(runtime, text, flt)
        _same(runtime, text, Filters(), 100)  # the depth hybrid search asks for
    _counters_match(runtime)
    rng = random.Random(5)
    picked = rng.sample(ids, 400)
    with runtime.db.cursor() as cur:
        for mid in picked[:100]:
            q.set_deleted(cur, mid, True)
        for mid in picked[:30]:
            q.set_deleted(cur, mid, False)
        cur.execute("UPDATE memories SET superseded_by = %s WHERE id = ANY(%s)", (ids[0], picked[100:160]))
        cur.execute("UPDATE memories SET project = 'moved' WHERE id = ANY(%s)", (picked[160:220],))
        for mid in picked[220:260]:
            text = f"Rewritten note {mid}: the PostgreSQL race condition was fixed with advisory locks."
            q.replace_content(cur, mid, text, content_hash(text), np.ones(runtime.embedder.dimension) / 20, [])
        cur.execute("DELETE FROM memories WHERE id = ANY(%s) AND deleted_at IS NOT NULL", (picked[30:60],))
    for text in texts:
        for flt in windows + [Filters(project="moved")]:
            _same(runtime, text, flt)
    _counters_match(runtime)
    with runtime.db.cursor() as cur:
        assert q.fold_df(cur) > 0
        cur.execute("SELECT count(*) FROM memory_df_delta")
        assert cur.fetchone()[0] == 0
    _counters_match(runtime)
    for text in texts[:8]:
        _same(runtime, text, Filters())


def test_keyword_search_uses_the_postings_and_sees_a_new_memory_at_once(runtime):
    _load(runtime, 200)
    mem = runtime.memories
    saved = mem.save("Zebra-stripe rendering of the invoice table uses CSS grid.", project="payments")
    hits = runtime.searcher.keyword("zebra stripe invoice", project="payments")["results"]
    assert hits[0]["id"] == saved["id"]
    mem.delete(saved["id"])
    assert all(h["id"] != saved["id"] for h in runtime.searcher.keyword("zebra stripe invoice")["results"])
    with runtime.db.cursor() as cur:
        cur.execute("EXPLAIN SELECT t.memory_id FROM memory_terms t WHERE t.active AND t.lexeme = 'zebra'"
                    " ORDER BY t.w DESC, t.memory_id DESC LIMIT 64")
        plan = " ".join(r[0] for r in cur.fetchall())
    assert "memory_terms_impact" in plan or "memory_terms_project_impact" in plan


def test_writers_of_the_same_words_do_not_wait_for_each_other(runtime):
    """Document frequencies are appended as deltas, so two open transactions saving memories with the same
    common words (in different projects) never queue on a counter row; both are counted once committed."""
    import psycopg2

    vec = q.literal(np.ones(runtime.embedder.dimension) / 20)
    first = psycopg2.connect(runtime.db.dsn)
    second = psycopg2.connect(runtime.db.dsn)
    try:
        for conn, project in ((first, "alpha"), (second, "beta")):
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = '3s'")  # a wait on the other's lock would fail here
                text = f"The deploy script retries the deploy ({project})."
                cur.execute("INSERT INTO memories (content, content_hash, project, embedding) VALUES"
                            " (%s, %s, %s, %s::vector)", (text, content_hash(text), project, vec))
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    with runtime.db.cursor() as cur:
        stats = q.keyword_stats(cur, "deploy script", Filters())
    assert stats is not None and stats[0] == {"deploy": 2, "script": 2}
    _counters_match(runtime)
