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
def seeded_server(server_dsn: str, tmp: Path, embedder: Any, hostile: bool = False, **env: str):
    """(server, dsn) over a fresh seeded database; stopped and dropped afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    gen = fresh_database(server_dsn)
    dsn = next(gen)
    seed(dsn, tmp / "data", embedder)
    if hostile:
        seed_hostile(dsn, tmp / "data", embedder)
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
            rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows
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


# Text a transcript or a memory may hold; each would run script, load a remote resource or restyle the page
# if it were rendered as HTML. It must show as inert text everywhere.
HOSTILE = [
    "<script>window.__pwned = 'script'</script> plain script tag in a memory",
    '<img src=x onerror="window.__pwned = \'img\'"> image with onerror',
    '<svg onload="window.__pwned = \'svg\'"><circle r="5"/></svg> svg onload',
    "[click me](javascript:window.__pwned='mdlink') markdown javascript link",
    '<a href="javascript:window.__pwned=\'htmllink\'">html javascript link</a>',
    "[data link](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0nZGF0YSc8L3NjcmlwdD4=) markdown data link",
    '<a href="data:text/html,<script>window.__pwned=1</script>">html data link</a>',
    "![remote image](http://evil.example.com/track.png) a remote image must not load",
    '<iframe src="javascript:window.__pwned=\'iframe\'"></iframe> iframe',
    "<style>body { display: none !important }</style> style element",
    "&lt;b&gt;entities&lt;/b&gt; &amp; <b>broken <i>tags <div",
    "[external](https://example.com/docs) and <a href=\"https://example.com/x\">html external</a>",
    "```html\n<script>window.__pwned='code'</script>\n```\ncode block with a script",
]


def hostile_transcript(folder: Path) -> Path:
    """A Claude Code session whose user and assistant text is hostile."""
    import json
    import uuid

    sid = "0bad0bad-0000-4000-8000-000000000001"
    project = folder / "-home-u-hostile"
    project.mkdir(parents=True, exist_ok=True)
    lines, parent = [], None
    for i, text in enumerate(HOSTILE[:6]):
        for role in ("user", "assistant"):
            uid = str(uuid.UUID(int=i * 2 + (role == "assistant") + 1))
            content: Any = text if role == "user" else [{"type": "text", "text": "Reply: " + text}]
            lines.append(json.dumps({
                "type": role, "uuid": uid, "parentUuid": parent, "sessionId": sid, "cwd": "/home/u/hostile",
                "timestamp": f"2026-03-0{1 + i % 9}T10:{i:02d}:{0 if role == 'user' else 30:02d}Z",
                "message": {"role": role, "content": content, **({"id": f"msg_{i}"} if role == "assistant" else {})},
            }))
            parent = uid
    path = project / f"{sid}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return folder


def seed_hostile(dsn: str, data_dir: Path, embedder: Any) -> None:
    """Hostile memories (project `hostile`) and a hostile session transcript, on top of `seed`."""
    rt = make_runtime(Settings.from_env({"DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(data_dir)}), embedder)
    try:
        for text in HOSTILE:
            rt.memories.save(text, ["hostile"], "test", "hostile", force=True)
        run(rt.db, rt.memories, ImportOptions(min_length=5), claude_code_dir=hostile_transcript(data_dir / "cc"))
    finally:
        rt.close()
