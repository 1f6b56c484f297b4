"""Search latency, keyword exactness and HNSW recall at scale, on a realistic corpus with real embeddings.

    python bench/search.py --sizes 10000,100000 --out FILE

For each size: a fresh embedded database holding that many memories of `corpus.realistic` (real text's
vocabulary, 5% longer than the model's window and so with window vectors, in sessions, projects of very
different sizes; vectors from the offline model, cached in .bench-cache/). A tenth is bulk-loaded and
indexed, the rest inserted with the HNSW indexes in place (growth by inserts). Then, over 200 queries (real
questions and phrases, a quarter filtered by project): p50/p95 of semantic_search, search_memories and
hybrid_search inside the service (`db`: the database work with the query already embedded, after one untimed
pass over the queries) and end to end
through a live server's MCP Streamable HTTP transport (`mcp`: query embedding included, cache off); HNSW
recall@10 against an exact scan, on the grown index and again after a bulk rebuild; and how often the
keyword top 10 equals the exact BM25 computation's.
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
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

from claude_memory.db import memories as q  # noqa: E402
from claude_memory.db.memories import Filters, NewMemory  # noqa: E402
from claude_memory.memory import content_hash  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402
from corpus import cached_vectors, embedded, realistic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("semantic_search", "search_memories", "hybrid_search")
HNSW = ("memory_vectors",)  # the one HNSW index (migration 010)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 3)


def build_hnsw(rt: Any) -> float:
    t0 = time.time()
    with rt.db.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
        for table in HNSW:
            cur.execute(f"DROP INDEX IF EXISTS {table}_embedding_hnsw")
            cur.execute(f"CREATE INDEX {table}_embedding_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)")
    return time.time() - t0


def load(rt: Any, n: int, model: str) -> tuple[list[tuple[str, str | None]], dict[str, Any]]:
    mems, queries = realistic(n)
    vecs = embedded(rt.embedder, model, mems)
    items = [NewMemory(m.content, content_hash(m.content), v, chunks, ["bench"], "bench", m.project, m.session,
                       m.created_at) for m, (v, chunks) in zip(mems, vecs, strict=True)]
    bulk = n // 10
    with rt.db.cursor() as cur:
        for table in HNSW:
            cur.execute(f"DROP INDEX IF EXISTS {table}_embedding_hnsw")
    for start in range(0, bulk, 5000):
        with rt.db.cursor() as cur:
            q.insert_many(cur, items[start:min(bulk, start + 5000)])
    built = build_hnsw(rt)
    t0 = time.time()
    for start in range(bulk, n, 500):  # the rest as imports add them: the indexes grow by inserts
        with rt.db.cursor() as cur:
            q.insert_many(cur, items[start:start + 500])
    grown = time.time() - t0
    with rt.db.cursor() as cur:
        q.fold_df(cur)  # as an import run ends
    with rt.db.connection() as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            # flush the load's dirty pages now: a checkpoint spread over the timed queries is the load's cost,
            # not the search's (a server in steady use is not writing out a bulk load)
            cur.execute("CHECKPOINT")
        conn.autocommit = False
    with rt.db.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE session_id IS NOT NULL) FROM memories")
        stored, in_sessions = cur.fetchone()
        cur.execute("SELECT count(*), count(DISTINCT memory_id) FROM memory_chunks")
        chunks, chunked = cur.fetchone()
        cur.execute("SELECT count(*), count(DISTINCT lexeme) FROM memory_terms")
        postings, lexemes = cur.fetchone()
    info = {"memories": stored, "in_sessions": in_sessions, "sessions": len({m.session for m in mems}),
            "window_vectors": chunks, "memories_with_windows": chunked, "postings": postings, "lexemes": lexemes,
            "bulk_loaded": bulk, "hnsw_bulk_build_s": round(built, 1),
            "inserted_with_index": n - bulk, "insert_with_index_per_s": round((n - bulk) / max(grown, 1e-9), 1)}
    print(f"  {json.dumps(info)}", flush=True)
    return queries, info


def exact_semantic(rt: Any, vec: Any, flt: Filters) -> set[int]:
    where, params = flt.sql()
    v = q.literal(vec)
    with rt.db.cursor() as cur:
        cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute(
            f"""SELECT id FROM (
                    SELECT m.id, m.embedding <=> %s::vector AS d FROM memories m WHERE {where}
                    UNION ALL
                    SELECT c.memory_id, c.embedding <=> %s::vector FROM memory_chunks c
                    JOIN memories m ON m.id = c.memory_id WHERE {where}) u
                GROUP BY id ORDER BY min(d), id LIMIT 10""",
            [v, *params, v, *params],
        )
        return {r[0] for r in cur.fetchall()}


def recall(rt: Any, queries: list[tuple[str, str | None]], qvecs: Any) -> float:
    out = []
    for (_, project), vec in zip(queries, qvecs, strict=True):
        flt = Filters(project=project)
        with rt.db.cursor() as cur:
            approx = {mid for mid, _ in q.semantic(cur, vec, flt, 10)}
        exact = exact_semantic(rt, vec, flt)
        out.append(len(exact & approx) / len(exact) if exact else 1.0)
    return round(statistics.mean(out), 4)


def db_figures(rt: Any, queries: list[tuple[str, str | None]], qvecs: Any) -> dict[str, float]:
    s = rt.searcher
    timings: dict[str, list[float]] = {t: [] for t in TOOLS}
    # one untimed pass first: a server in use has its indexes in memory, a store just loaded does not
    for (text, project), vec in zip(queries, qvecs, strict=True):
        s.hybrid_scores(text, vec, 10, 0.5, 0.5, Filters(project=project))
    for i, ((text, project), vec) in enumerate(zip(queries, qvecs, strict=True)):
        flt = Filters(project=project)
        for tool in TOOLS:
            t0 = time.perf_counter()
            if tool == "semantic_search":
                with rt.db.cursor() as cur:
                    q.semantic(cur, vec, flt, 10)
            elif tool == "search_memories":
                s.keyword_scores(text, 10, flt)
            else:
                s.hybrid_scores(text, vec, 10, 0.5, 0.5, flt)
            if i >= 10:  # warm-up queries are not timed
                timings[tool].append((time.perf_counter() - t0) * 1000)
    out: dict[str, float] = {}
    for tool, xs in timings.items():
        out[f"{tool}_db_p50_ms"], out[f"{tool}_db_p95_ms"] = pct(xs, 50), pct(xs, 95)
    same = []
    for text, project in queries:  # the early-terminating keyword search against the exact computation
        flt = Filters(project=project)
        with rt.db.cursor() as cur:
            fast = [i for i, _ in q.bm25_top(cur, text, flt, 10)[0]]
            exact = [i for i, _ in q.bm25_exact(cur, text, flt, 10)]
        same.append(fast == exact)
    out["keyword_top10_same_as_exact"] = round(sum(same) / len(same), 4)
    return out


def mcp_figures(dsn: str, queries: list[tuple[str, str | None]], data_dir: Path) -> dict[str, float]:
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
                    for i, (text, project) in enumerate(queries):
                        args: dict[str, Any] = {"query": text, "limit": 10}
                        if project:
                            args["project"] = project
                        t0 = time.perf_counter()
                        await client.call_tool(tool, args)
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
    p.add_argument("--no-mcp", action="store_true", help="database figures only")
    p.add_argument("--out")
    args = p.parse_args()
    results: dict[str, Any] = {}
    for size in [int(x) for x in args.sizes.split(",") if x.strip()]:
        print(f"size {size}:", flush=True)
        rt, data_dir = temp_runtime()
        model = rt.settings.embedding_model
        queries, info = load(rt, size, model)
        qvecs = cached_vectors(partial(rt.embedder.encode, query=True), model + "/queries", [t for t, _ in queries])
        figures: dict[str, Any] = dict(info)
        figures["recall_at_10"] = recall(rt, queries, qvecs)  # the index grown by inserts
        figures |= db_figures(rt, queries, qvecs)
        if not args.no_mcp:
            figures |= mcp_figures(rt.db.dsn, queries, data_dir)
        figures["hnsw_rebuild_s"] = round(build_hnsw(rt), 1)
        figures["recall_at_10_bulk_built"] = recall(rt, queries, qvecs)
        figures |= {"queries": len(queries), "project_filtered": sum(1 for _, p in queries if p), "model": model,
                    "machine": machine()}
        results[str(size)] = figures
        rt.close()
        print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=1), flush=True)
        write_json(args.out, results)
    sizes = sorted(results, key=int)
    if len(sizes) > 1:
        lo, hi = results[sizes[0]], results[sizes[-1]]
        growth = {k: round(hi[k] / lo[k], 2) for k in hi if k.endswith("_ms") and lo.get(k)}
        results["growth"] = {"from": int(sizes[0]), "to": int(sizes[-1]), **growth}
        write_json(args.out, results)
        print(f"growth {sizes[0]} -> {sizes[-1]}:")
        for k, v in growth.items():
            print(f"  {k}: {lo[k]} -> {hi[k]} ms ({v}x)")
    for size in sizes:
        f = results[size]
        print(f"{size}: keyword p50/p95 {f['search_memories_db_p50_ms']}/{f['search_memories_db_p95_ms']} ms, "
              f"hybrid {f['hybrid_search_db_p50_ms']}/{f['hybrid_search_db_p95_ms']} ms, semantic p50 "
              f"{f['semantic_search_db_p50_ms']} ms, recall@10 grown {f['recall_at_10']} / bulk "
              f"{f['recall_at_10_bulk_built']}, keyword top 10 = exact {f['keyword_top10_same_as_exact']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
