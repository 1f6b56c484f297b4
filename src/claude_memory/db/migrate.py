"""Numbered SQL migrations (migrations/NNN_name.sql), recorded in schema_migrations, plus the
embedding columns whose dimension comes from the model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import DimensionMismatch
from .pool import Database

# In a checkout this is a symlink to the top-level migrations/ folder (the one source); a wheel holds a copy.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 727_372_001  # advisory lock shared by every process that migrates
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """The ordered (version, name, path) list found in the migrations folder."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if m:
            found.append((int(m.group(1)), m.group(2), path))
    return found


def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; returns the names applied."""
    applied: list[str] = []
    with db.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        with db.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
        for version, name, path in migration_files(directory):
            if version in done:
                continue
            with db.cursor() as cur:
                cur.execute(path.read_text(encoding="utf-8"))
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
                )
            applied.append(f"{version:03d}_{name}")
    finally:
        with db.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def recorded_dimension(db: Database) -> tuple[int | None, str | None]:
    """The embedding dimension and model recorded in the database, if any."""
    with db.cursor() as cur:
        cur.execute("SELECT key, value FROM memory_meta WHERE key IN ('embedding_dim', 'embedding_model')")
        meta = dict(cur.fetchall())
    dim = int(meta["embedding_dim"]) if "embedding_dim" in meta else None
    return dim, meta.get("embedding_model")


def ensure_embedding_schema(db: Database, dim: int, model: str) -> None:
    """Create the vector columns and HNSW indexes for `dim`, or refuse a model of another dimension."""
    with db.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cur.execute("SELECT value FROM memory_meta WHERE key = 'embedding_dim'")
        row = cur.fetchone()
        if row is not None:
            recorded = int(row[0])
            if recorded != dim:
                cur.execute("SELECT value FROM memory_meta WHERE key = 'embedding_model'")
                old = cur.fetchone()
                raise DimensionMismatch(
                    f"the database holds {recorded}-dimensional embeddings"
                    f" (model {old[0] if old else 'unknown'}) but EMBEDDING_MODEL={model} gives {dim};"
                    f" run `claude-memory reembed` to re-embed every memory with the new model,"
                    f" or set EMBEDDING_MODEL back"
                )
            return
        set_dimension(cur, dim, model)


def set_dimension(cur: Any, dim: int, model: str) -> None:
    """(Re)create the vector columns at `dim` (emptying them) and record the model. One HNSW index, over
    `memory_vectors` (every vector of every memory, kept by triggers from the other two; migration 010)."""
    cur.execute("TRUNCATE memory_vectors")
    for table in ("memories", "memory_chunks", "memory_vectors"):  # constant names; only the dimension varies
        cur.execute(f"DROP INDEX IF EXISTS {table}_embedding_hnsw")
        cur.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS embedding")
        null = " NOT NULL" if table == "memory_vectors" else ""
        cur.execute(f"ALTER TABLE {table} ADD COLUMN embedding vector({int(dim)}){null}")
    cur.execute("CREATE INDEX memory_vectors_embedding_hnsw ON memory_vectors USING hnsw (embedding vector_cosine_ops)")
    cur.execute(
        "INSERT INTO memory_meta (key, value) VALUES ('embedding_dim', %s), ('embedding_model', %s)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (str(dim), model),
    )
