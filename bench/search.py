"""Search latency and HNSW recall at scale, with real model embeddings.

    python bench/search.py --sizes 10000,100000 --out FILE

For each size: a fresh embedded database holding that many realistic memories (vectors from the offline
model, cached on disk in .bench-cache/), then p50/p95 of semantic_search, search_memories and hybrid_search
measured inside the service (`db`: the database work with the query already embedded) and end to end
through a live server's MCP Streamable HTTP transport (`mcp`: query embedding included, cache off), and
HNSW recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

from claude_memory.db import memories as q  # noqa: E402
from claude_memory.db.memories import Filters, NewMemory  # noqa: E402
from claude_memory.memory import content_hash  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402
from corpus import cached_vectors, memories, queries  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("semantic_search", "search_memories", "hybrid_search")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 3)


def load(rt: Any, n: int, model: str) -> None:
    rows = memories(n)
    vecs = cached_vectors(lambda c: rt.embedder.encode(c, batch_size=128), model, [t for _, t in rows])
    with rt.db.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS memories_embedding_hnsw")
    for start in range(0, n, 5000):
        batch = [NewMemory(t, content_hash(t), vecs[i], [], ["bench"], "bench", p)
                 for i, (p, t) in enumerate(rows[start:start + 5000], start)]
        with rt.db.cursor() as cur:
            q.insert_many(cur, batch)
    t0 = time.time()
    with rt.db.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
        cur.execute("CREATE INDEX memories_embedding_hnsw ON memories USING hnsw (embedding vector_cosine_ops)")
        cur.execute("ANALYZE memories")
    print(f"  loaded {n} memories, HNSW built in {time.time() - t0:.1f}s", flush=True)


def db_figures(rt: Any, qtexts: list[str], qvecs: Any, text_queries: int) -> dict[str, float]:
    s = rt.searcher
    flt = Filters()
    timings: dict[str, list[float]] = {t: [] for t in TOOLS}
    recalls = []
    for i, (text, vec) in enumerate(zip(qtexts, qvecs, strict=True)):
        for tool in TOOLS:
            if tool != "semantic_search" and i >= text_queries:
                continue
            t0 = time.perf_counter()
            if tool == "semantic_search":
                with rt.db.cursor() as cur:
                    approx = [mid for mid, _ in q.semantic(cur, vec, flt, 10)]
            elif tool == "search_memories":
                s.keyword_scores(text, 10, flt)
            else:
                s.hybrid_scores(text, vec, 10, 0.5, 0.5, flt)
            if i >= 10:  # warm-up queries are not timed
                timings[tool].append((time.perf_counter() - t0) * 1000)
        with rt.db.cursor() as cur:
            cur.execute("SET LOCAL enable_indexscan = off")
            cur.execute("SELECT id FROM memories ORDER BY embedding <=> %s LIMIT 10", (vec,))
            exact = {r[0] for r in cur.fetchall()}
        recalls.append(len(exact & set(approx)) / len(exact))
    out = {"recall_at_10": round(statistics.mean(recalls), 4)}
    same = []
    for text in qtexts[:text_queries]:  # the postings' BM25 against the tsvector computation it replaced
        with rt.db.cursor() as cur:
            fast = [i for i, _ in q.bm25_postings(cur, text, flt, 10)]
            exact = [i for i, _ in q.bm25_exact(cur, text, flt, 10)]
        same.append(fast == exact)
    out["keyword_top10_same_as_exact"] = round(sum(same) / len(same), 4)
    for tool, xs in timings.items():
        out[f"{tool}_db_p50_ms"], out[f"{tool}_db_p95_ms"] = pct(xs, 50), pct(xs, 95)
    return out


def mcp_figures(dsn: str, qtexts: list[str], data_dir: Path, text_queries: int) -> dict[str, float]:
    from fastmcp import Client

    port = 3400 + os.getpid() % 500
    env = {**os.environ, "DATABASE_URL": dsn, "MEMORY_PORT": str(port), "CACHE_MAX_SIZE": "0",
           "MEMORY_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json().get("model") == "ready":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)

        async def run() -> dict[str, float]:
            out: dict[str, float] = {}
            async with Client(f"http://127.0.0.1:{port}/mcp", timeout=60) as client:
                for tool in TOOLS:
                    xs = []
                    for i, text in enumerate(qtexts if tool == "semantic_search" else qtexts[:text_queries]):
                        t0 = time.perf_counter()
                        await client.call_tool(tool, {"query": text, "limit": 10})
                        if i >= 10:
                            xs.append((time.perf_counter() - t0) * 1000)
                    out[f"{tool}_mcp_p50_ms"], out[f"{tool}_mcp_p95_ms"] = pct(xs, 50), pct(xs, 95)
            return out

        return asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--queries", type=int, default=200, help="queries timed for semantic_search and recall")
    p.add_argument("--text-queries", type=int, default=60,
                   help="queries timed for search_memories and hybrid_search (BM25 is slower at scale)")
    p.add_argument("--out")
    args = p.parse_args()
    results: dict[str, Any] = {}
    for size in [int(x) for x in args.sizes.split(",") if x.strip()]:
        print(f"size {size}:", flush=True)
        rt, data_dir = temp_runtime()
        model = rt.settings.embedding_model
        load(rt, size, model)
        qtexts = queries(args.queries)
        qvecs = cached_vectors(rt.embedder.encode, model, qtexts)
        figures = db_figures(rt, qtexts, qvecs, args.text_queries)
        figures |= mcp_figures(rt.db.dsn, qtexts, data_dir, args.text_queries)
        figures |= {"memories": size, "queries": len(qtexts), "text_queries": args.text_queries, "model": model,
                    "machine": machine()}
        results[str(size)] = figures
        rt.close()
        print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=1), flush=True)
        write_json(args.out, results)
    for size, f in results.items():
        print(f"{size}: semantic db p50 {f['semantic_search_db_p50_ms']} ms, mcp p50 "
              f"{f['semantic_search_mcp_p50_ms']} ms, recall@10 {f['recall_at_10']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
