"""`claude-memory reembed`: re-embed every memory in place with the configured model (resumable)."""

from __future__ import annotations

from collections.abc import Callable

from .db.migrate import recorded_dimension, set_dimension
from .db.pool import Database
from .memory import MemoryService

_PROGRESS_KEY = "reembed_next_id"


def reembed(db: Database, memories: MemoryService, model: str, batch: int = 128,
            progress: Callable[[int], None] | None = None) -> int:
    """Switch the vector columns to the model's dimension if needed, then re-embed all rows by id."""
    dim = memories.embedder.dimension
    old_dim, _ = recorded_dimension(db)
    with db.cursor() as cur:
        cur.execute("SELECT value FROM memory_meta WHERE key = %s", (_PROGRESS_KEY,))
        row = cur.fetchone()
        next_id = int(row[0]) if row else 0
        if old_dim != dim:
            set_dimension(cur, dim, model)
            next_id = 0
        cur.execute(
            "INSERT INTO memory_meta (key, value) VALUES (%s, %s), ('embedding_model', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (_PROGRESS_KEY, str(next_id), model),
        )
    done = 0
    while True:
        with db.cursor() as cur:
            cur.execute("SELECT id, content FROM memories WHERE id >= %s ORDER BY id LIMIT %s", (next_id, batch))
            rows = cur.fetchall()
        if not rows:
            break
        embedded = memories.embed_documents([r[1] for r in rows])
        with db.cursor() as cur:
            for (mid, _), (vec, chunks) in zip(rows, embedded, strict=True):
                cur.execute("UPDATE memories SET embedding = %s WHERE id = %s", (vec, mid))
                cur.execute("DELETE FROM memory_chunks WHERE memory_id = %s", (mid,))
                for n, v in enumerate(chunks):
                    cur.execute("INSERT INTO memory_chunks (memory_id, chunk_no, embedding) VALUES (%s, %s, %s)",
                                (mid, n, v))
            next_id = rows[-1][0] + 1
            cur.execute("UPDATE memory_meta SET value = %s WHERE key = %s", (str(next_id), _PROGRESS_KEY))
        done += len(rows)
        if progress:
            progress(done)
    with db.cursor() as cur:
        cur.execute("DELETE FROM memory_meta WHERE key = %s", (_PROGRESS_KEY,))
    memories.cache.clear()
    return done
