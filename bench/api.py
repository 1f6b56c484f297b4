"""REST API latency at scale, and the export's memory, against a live server.

    python bench/api.py --size 100000 --out FILE

A fresh embedded database holds `size` memories (the realistic corpus of bench/corpus.py with real model
vectors, cached in .bench-cache/), spread over two years, in 12 projects, each memory in a session named by
its position in the corpus (memory i in session i // 50 of its project: 23,695 sessions at 100k, each with
its imported_sessions row). A live `claude-memory serve` (search cache off) is then timed over
HTTP: p50 / p95 of each endpoint, and the server's resident memory while it streams the whole export.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

from claude_memory.db import memories as q  # noqa: E402
from claude_memory.db.memories import NewMemory  # noqa: E402
from claude_memory.memory import content_hash  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402
from corpus import cached_vectors, memories, queries  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
PER_SESSION = 50


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 2)


def load(rt: Any, n: int) -> None:
    """n memories with real vectors, times spread over SPAN, grouped in sessions with their session rows."""
    rows = memories(n)
    model = rt.settings.embedding_model
    vecs = cached_vectors(lambda c: rt.embedder.encode(c, batch_size=128), model, [t for _, t in rows])
    rng = random.Random(3)
    times = sorted(START + SPAN * rng.random() for _ in range(n))
    with rt.db.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS memory_vectors_embedding_hnsw")
    sessions: dict[str, tuple[str, datetime, datetime, int]] = {}
    for start in range(0, n, 5000):
        batch = []
        for i in range(start, min(n, start + 5000)):
            project, text = rows[i]
            sid = f"bench-{project}-{i // PER_SESSION:05d}"
            first, last, count = sessions.get(sid, (project, times[i], times[i], 0))[1:]
            sessions[sid] = (project, min(first, times[i]), max(last, times[i]), count + 1)
            batch.append(NewMemory(text, content_hash(text), vecs[i], [], ["bench", f"project:{project}"],
                                   f"claude-code/{sid[-8:]}", project, sid, times[i]))
        with rt.db.cursor() as cur:
            q.insert_many(cur, batch)
    with rt.db.cursor() as cur:
        for sid, (project, first, last, count) in sessions.items():
            cur.execute("INSERT INTO imported_sessions (session_id, project, title, first_message_at,"
                        " last_message_at, message_count) VALUES (%s, %s, %s, %s, %s, %s)",
                        (sid, project, f"session {sid}", first, last, count * 4))
        t0 = time.time()
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
        cur.execute("CREATE INDEX memory_vectors_embedding_hnsw ON memory_vectors USING hnsw (embedding vector_cosine_ops)")
    with rt.db.connection() as conn:  # a settled store: autovacuum has set the visibility map
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE memories")
            cur.execute("VACUUM ANALYZE memory_vectors")
            cur.execute("VACUUM ANALYZE imported_sessions")
        conn.autocommit = False
    print(f"  loaded {n} memories in {len(sessions)} sessions, HNSW built in {time.time() - t0:.1f}s",
          flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve(dsn: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = 3600 + os.getpid() % 300
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_PORT": str(port), "CACHE_MAX_SIZE": "0",
           "MEMORY_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).json().get("model") == "ready":
                return proc, url
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not become ready")


def timed(client: httpx.Client, method: str, path: str, n: int, **kw: Any) -> dict[str, float]:
    xs = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        r = client.request(method, path, **kw)
        elapsed = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        if i >= 3:  # warm-up requests are not timed
            xs.append(elapsed)
    return {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "n": n}


def export_memory(client: httpx.Client, pid: int) -> dict[str, float]:
    """Stream the whole JSON export while sampling the server's RSS every 20 ms."""
    base = rss_mb(pid)
    peak = base
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    t0 = time.perf_counter()
    size = 0
    with client.stream("GET", "/api/export", params={"format": "json"}) as r:
        for chunk in r.iter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - t0
    done.set()
    t.join()
    return {"rss_before_mb": round(base, 1), "rss_peak_mb": round(peak, 1), "growth_mb": round(peak - base, 1),
            "bytes": size, "seconds": round(seconds, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=30, help="timed requests per endpoint")
    p.add_argument("--out")
    args = p.parse_args()
    rt, data_dir = temp_runtime()
    load(rt, args.size)
    proc, url = serve(rt.db.dsn, data_dir)
    n = args.requests
    figures: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=url, timeout=120) as c:
            deep = max(0, args.size - 1000)
            figures["memories_first_page"] = timed(c, "GET", "/api/memories", n, params={"limit": 50})
            figures["memories_deep_page"] = timed(c, "GET", "/api/memories", n,
                                                  params={"limit": 50, "offset": deep})
            figures["memories_project_page"] = timed(c, "GET", "/api/memories", n,
                                                     params={"limit": 50, "project": "payments"})
            figures["timeline"] = timed(c, "GET", "/api/timeline", n, params={"buckets": 200})
            figures["stats"] = timed(c, "GET", "/api/stats", n)
            figures["projects"] = timed(c, "GET", "/api/projects", n)
            figures["sessions"] = timed(c, "GET", "/api/sessions", n, params={"limit": 50})
            figures["tags"] = timed(c, "GET", "/api/tags", n)
            qs = queries(n + 3)
            xs = []
            for i, text in enumerate(qs):
                t0 = time.perf_counter()
                r = c.post("/api/search", json={"query": text, "mode": "hybrid", "limit": 10})
                assert r.status_code == 200
                if i >= 3:
                    xs.append((time.perf_counter() - t0) * 1000)
            figures["search_hybrid"] = {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "n": len(xs)}
            figures["export"] = export_memory(c, proc.pid)
            exported = figures["export"]["bytes"]
            print(f"  export: {exported / 1e6:.1f} MB in {figures['export']['seconds']} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(15)
        rt.close()
    result = {"memories": args.size, "requests": n, "model": rt.settings.embedding_model, "machine": machine(),
              **figures}
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    for k, v in figures.items():
        if "p50_ms" in v:
            print(f"{k}: p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms")
    print(f"export: server RSS {figures['export']['rss_before_mb']} -> {figures['export']['rss_peak_mb']} MB"
          f" (growth {figures['export']['growth_mb']} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
