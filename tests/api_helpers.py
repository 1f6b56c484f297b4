"""A live server on a real database seeded with the fixtures, for the REST API tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg2

from claude_memory.importers.job import ImportOptions, run
from claude_memory.settings import Settings
from conftest import FIXTURES, fresh_database, make_runtime, start_server, stop_server

SEED_MEMORIES = [
    ("The billing service retries Stripe webhooks with exponential backoff capped at one hour.",
     ["billing", "decision"], "billing"),
    ("We chose PostgreSQL advisory locks over Redis locks so the importer needs no extra service.",
     ["decision"], "billing"),
    ("Root cause of the flaky checkout test: the cart fixture shared a clock between tests.",
     ["bug"], "shop"),
    ("Prefers pytest with -q and small focused test files.", ["type:preference"], None),
]


def seed(dsn: str, data_dir: Path, embedder: Any) -> None:
    """Import the fixtures (Claude Code and claude.ai) and save a few memories, through the services."""
    rt = make_runtime(Settings.from_env({"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(data_dir)}), embedder)
    try:
        run(rt.db, rt.memories, ImportOptions(), claude_code_dir=FIXTURES / "claude_code",
            claude_ai_file=next((FIXTURES / "claude_ai").glob("*.json")))
        for content, tags, project in SEED_MEMORIES:
            rt.memories.save(content, tags, "manual", project)
    finally:
        rt.close()


@contextmanager
def seeded_server(server_dsn: str, tmp: Path, embedder: Any, **env: str):
    """(server, dsn) over a fresh seeded database; stopped and dropped afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    gen = fresh_database(server_dsn)
    dsn = next(gen)
    seed(dsn, tmp / "data", embedder)
    server = start_server(dsn, tmp / "data", **env)
    try:
        yield server, dsn
    finally:
        stop_server(server)
        next(gen, None)


def sql(dsn: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(query, params or None)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class Api:
    """httpx against the live server, with the token when one is set."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=60)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.client.request(method, path, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text[:500])
        return r.json()

    def fails(self, method: str, path: str, status: int, **kw: Any) -> str:
        r = self.client.request(method, path, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text[:500])
        body = r.json()
        assert set(body) == {"error"} and body["error"], body
        assert "Traceback" not in r.text
        return str(body["error"])
