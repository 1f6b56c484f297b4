"""Every vector of a memory sits in one HNSW index (`memory_vectors`, migration 010): the copies follow every
write (insert, content change, windows, project, delete, restore, supersede, purge, a change of model),
semantic search takes a memory's best vector and still returns `limit` memories when one memory's windows
crowd the nearest vectors, and a store from before the migration is carried over."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from claude_memory.db import memories as q
from claude_memory.db.memories import Filters, NewMemory
from claude_memory.db.migrate import MIGRATIONS_DIR, migrate
from claude_memory.db.pool import Database
from claude_memory.memory import content_hash


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _load(cur, dim: int, n: int, seed: int = 1) -> list[int]:
    """n memories in four projects (and none), every fifth with 1-4 window vectors."""
    rng = np.random.default_rng(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        text = f"note {seed}-{i}: the ingestion worker retries webhook {i % 17}"
        chunks = [_unit(rng, dim) for _ in range(1 + i % 4)] if i % 5 == 0 else []
        rows.append(NewMemory(text, content_hash(text), _unit(rng, dim), chunks, ["t"], "test",
                              ["alpha", "beta", "gamma", "delta", None][i % 5], f"s{i // 10}",
                              start + timedelta(minutes=i)))
    return [i for i in q.insert_many(cur, rows) if i is not None]


def _in_step(cur) -> None:
    """memory_vectors is exactly the memories' own vectors (chunk -1) and their windows, with the project."""
    derived = """SELECT id, -1, project, embedding::text FROM memories WHERE embedding IS NOT NULL
                 UNION ALL SELECT c.memory_id, c.chunk_no, m.project, c.embedding::text
                 FROM memory_chunks c JOIN memories m ON m.id = c.memory_id"""
    copies = "SELECT memory_id, chunk_no, project, embedding::text FROM memory_vectors"
    cur.execute(f"SELECT count(*) FROM (({derived}) EXCEPT ALL ({copies})) a")
    missing = cur.fetchone()[0]
    cur.execute(f"SELECT count(*) FROM (({copies}) EXCEPT ALL ({derived})) a")
    extra = cur.fetchone()[0]
    assert (missing, extra) == (0, 0)


def test_vector_copies_follow_every_kind_of_write(runtime):
    dim = runtime.embedder.dimension
    rng = np.random.default_rng(7)
    with runtime.db.cursor() as cur:
        ids = _load(cur, dim, 300)
        cur.execute("SELECT count(*) FROM memory_vectors")
        assert cur.fetchone()[0] == 300 + sum(1 + i % 4 for i in range(300) if i % 5 == 0)
        _in_step(cur)
    picked = random.Random(3).sample(ids, 120)
    with runtime.db.cursor() as cur:
        for mid in picked[:20]:  # a content change: new vector, windows added, changed or removed
            text = f"rewritten {mid}"
            q.replace_content(cur, mid, text, content_hash(text), _unit(rng, dim),
                              [_unit(rng, dim) for _ in range(mid % 3)])
        for mid in picked[20:40]:
            q.set_deleted(cur, mid, True)
        for mid in picked[20:30]:
            q.set_deleted(cur, mid, False)
        cur.execute("UPDATE memories SET superseded_by = %s WHERE id = ANY(%s)", (ids[0], picked[40:60]))
        cur.execute("UPDATE memories SET project = 'moved' WHERE id = ANY(%s)", (picked[60:80],))
        cur.execute("UPDATE memories SET tags = '{x}' WHERE id = ANY(%s)", (picked[80:100],))
        cur.execute("UPDATE memory_chunks SET embedding = %s::vector WHERE memory_id = ANY(%s)",
                    (q.literal(_unit(rng, dim)), picked[100:120]))
        cur.execute("DELETE FROM memory_chunks WHERE memory_id = ANY(%s) AND chunk_no > 0", (picked[:60],))
        assert q.purge_deleted(cur) == 10
        _in_step(cur)
    found = {mid for mid, _ in runtime.searcher.hybrid_scores("webhook", _unit(rng, dim), 10, 0.5, 0.5,
                                                              Filters(project="moved"))[0]}
    assert found and found <= set(picked[60:80])


def test_a_change_of_model_refills_the_copies(runtime):
    """`reembed` to another dimension empties the vector columns and rewrites them: the copies follow."""
    from claude_memory.db.migrate import set_dimension

    with runtime.db.cursor() as cur:
        _load(cur, runtime.embedder.dimension, 40)
        set_dimension(cur, 8, "tiny-model")
        cur.execute("SELECT count(*) FROM memory_vectors")
        assert cur.fetchone()[0] == 0
        rng = np.random.default_rng(2)
        cur.execute("SELECT id FROM memories ORDER BY id")
        for (mid,) in cur.fetchall():
            cur.execute("UPDATE memories SET embedding = %s::vector WHERE id = %s", (q.literal(_unit(rng, 8)), mid))
            cur.execute("DELETE FROM memory_chunks WHERE memory_id = %s", (mid,))
            cur.execute("INSERT INTO memory_chunks (memory_id, chunk_no, embedding) VALUES (%s, 0, %s::vector)",
                        (mid, q.literal(_unit(rng, 8))))
        _in_step(cur)
        cur.execute("SELECT count(*) FROM memory_vectors")
        assert cur.fetchone()[0] == 80
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%%hnsw%%'")
        assert [r[0] for r in cur.fetchall()] == ["memory_vectors_embedding_hnsw"]


def test_semantic_search_takes_the_best_vector_and_fills_the_limit(runtime):
    dim = runtime.embedder.dimension
    rng = np.random.default_rng(11)
    query = _unit(rng, dim)
    near = [query + 0.05 * _unit(rng, dim) for _ in range(30)]
    with runtime.db.cursor() as cur:
        ids = _load(cur, dim, 200)
        # one long memory whose 30 windows are the nearest vectors of all: it is one result, with its best window
        text = "a long design document"
        long_id = q.insert_many(cur, [NewMemory(text, content_hash(text), _unit(rng, dim),
                                                [v / np.linalg.norm(v) for v in near], project="alpha")])[0]
        got = q.semantic(cur, query, Filters(), 10)
        assert len(got) == 10 and len({i for i, _ in got}) == 10
        assert got[0][0] == long_id
        best = max(float(np.dot(query, v / np.linalg.norm(v))) for v in near)
        assert got[0][1] == pytest.approx(best, abs=1e-5)
        assert q.similarities(cur, query, [long_id])[long_id] == pytest.approx(best, abs=1e-5)
        # the rest are the nearest other memories, as an exact scan orders them
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute("""SELECT memory_id FROM memory_vectors v JOIN memories m ON m.id = v.memory_id
                       WHERE m.deleted_at IS NULL AND m.superseded_by IS NULL
                       GROUP BY memory_id ORDER BY min(v.embedding <=> %s::vector), memory_id LIMIT 10""",
                    (q.literal(query),))
        exact = [r[0] for r in cur.fetchall()]
        cur.execute("RESET enable_indexscan")
        assert len(set(exact) & {i for i, _ in got}) >= 9
        # filters: project in the scan, status and dates through the memory
        in_beta = q.semantic(cur, query, Filters(project="beta"), 10)
        cur.execute("SELECT id FROM memories WHERE project = 'beta'")
        assert len(in_beta) == 10 and {i for i, _ in in_beta} <= {r[0] for r in cur.fetchall()}
        q.set_deleted(cur, long_id, True)
        assert long_id not in {i for i, _ in q.semantic(cur, query, Filters(), 10)}
        assert [i for i, _ in q.semantic(cur, query, Filters(status="deleted"), 10)] == [long_id]
        late = q.semantic(cur, query, Filters(since=datetime(2025, 1, 1, 3, tzinfo=UTC)), 5)
        cur.execute("SELECT id FROM memories WHERE created_at >= '2025-01-01 03:00+00'")
        assert len(late) == 5 and {i for i, _ in late} <= {r[0] for r in cur.fetchall()}
        assert len(q.semantic(cur, query, Filters(), 150)) == 150  # past the beam: widened for the query
        assert set(ids) >= {i for i, _ in q.semantic(cur, query, Filters(), 150)}


def test_a_store_from_before_the_migration_is_carried_over(dsn, embedder, tmp_path):
    """Migrations 001-009 and the old two HNSW indexes, then memories written without the copies; migration
    010 copies every vector, moves the index and search finds them."""
    older = tmp_path / "migrations"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:3]) < 10:
            shutil.copy(path, older / path.name)
    db = Database(dsn)
    try:
        migrate(db, older)
        dim = embedder.dimension
        with db.cursor() as cur:  # what set_dimension did before 010
            for table in ("memories", "memory_chunks"):
                cur.execute(f"ALTER TABLE {table} ADD COLUMN embedding vector({dim})")
                cur.execute(f"CREATE INDEX {table}_embedding_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)")
            cur.execute("INSERT INTO memory_meta (key, value) VALUES ('embedding_dim', %s), ('embedding_model',"
                        " 'all-MiniLM-L6-v2')", (str(dim),))
            ids = _load(cur, dim, 120)
        assert migrate(db) == ["010_memory_vectors"]
        with db.cursor() as cur:
            _in_step(cur)
            cur.execute("SELECT count(*) FROM memory_vectors")
            assert cur.fetchone()[0] == 120 + sum(1 + i % 4 for i in range(120) if i % 5 == 0)
            cur.execute("SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%%hnsw%%'")
            assert [r[0] for r in cur.fetchall()] == ["memory_vectors_embedding_hnsw"]
            cur.execute("SELECT embedding::text FROM memories WHERE id = %s", (ids[7],))
            own = np.array(json.loads(cur.fetchone()[0]), dtype=np.float32)
            assert q.semantic(cur, own, Filters(), 3)[0] == (ids[7], pytest.approx(1.0, abs=1e-5))
            _load(cur, dim, 10, seed=2)  # new writes keep the copies in step
            _in_step(cur)
    finally:
        db.close()
