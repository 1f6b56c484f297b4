"""Concurrency and load: many MCP and REST clients at once while an import runs in another process, and
semantic_search over MCP under that import against the quiet figure.

    python bench/load.py [--clients 50] [--calls 1000] [--seed-memories 2000] [--out FILE]

A live `claude-memory serve` (embedded database in a fresh folder, default settings) is seeded with
synthetic sessions. Then:
  1. quiet: semantic_search over MCP (one client), --probes calls: p50 / p95;
  2. under import: the same while `claude-memory import` of new synthetic sessions runs in another process
     with the default settings: p50 / p95 and the ratio to quiet (target ≤ 3×);
  3. MCP: --clients concurrent Streamable-HTTP clients share --calls calls (10% save_memory, 60% searches of
     the three kinds, 30% get_memory / list_memories / get_stats) while an import runs: errors, p50 / p99
     per tool;
  4. REST: the same mix over /api with --clients concurrent HTTP clients.
Any error, timeout or pool deadlock shows up as a count in `errors` (the target is 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]

from common import machine, write_json  # noqa: E402
from transcripts import write_sessions  # noqa: E402

QUERIES = ["retry the webhook with backoff", "why did the checkout test fail", "database migration for orders",
           "cache invalidation after import", "which port does the server use", "export memories to markdown",
           "token refresh in the auth client", "pagination of the list endpoint", "flaky date test root cause"]


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 1)


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MEMORY_DATA_DIR": str(data), "MEMORY_PORT": str(port), "CACHE_MAX_SIZE": "0"})
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(data.parent / "server.log", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            if r.status_code == 200 and r.json().get("model") == "ready":
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not start")


def importer(data: Path, tree: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["MEMORY_DATA_DIR"] = str(data)
    return subprocess.Popen([sys.executable, "-m", "claude_memory", "import", "--projects-dir", str(tree)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def probe_semantic(url: str, n: int) -> list[float]:
    from fastmcp import Client

    out = []
    async with Client(url + "/mcp", timeout=120) as client:
        for i in range(n):
            t = time.perf_counter()
            await client.call_tool("semantic_search", {"query": QUERIES[i % len(QUERIES)] + f" {i}", "limit": 10})
            out.append(1000 * (time.perf_counter() - t))
    return out


def plan(calls: int, rng: random.Random) -> list[str]:
    mix = (["save"] * 10 + ["semantic_search"] * 20 + ["search_memories"] * 20 + ["hybrid_search"] * 20
           + ["get_memory"] * 10 + ["list_memories"] * 10 + ["get_stats"] * 10)
    return [rng.choice(mix) for _ in range(calls)]


async def mcp_clients(url: str, clients: int, ops: list[str], ids: list[int]) -> dict[str, Any]:
    from fastmcp import Client

    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, op in enumerate(ops):
        queue.put_nowait((i, op))
    times: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []

    async def worker(w: int) -> None:
        try:
            async with Client(url + "/mcp", timeout=300) as client:
                while True:
                    try:
                        i, op = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    args: dict[str, Any]
                    if op == "save":
                        name, args = "save_memory", {"content": f"Load test note {i} from client {w}: the queue "
                                                                f"worker {i % 17} drained batch {i}.", "force": True}
                    elif op in ("semantic_search", "search_memories", "hybrid_search"):
                        name, args = op, {"query": QUERIES[i % len(QUERIES)], "limit": 10}
                    elif op == "get_memory":
                        name, args = op, {"memory_id": ids[i % len(ids)]}
                    elif op == "list_memories":
                        name, args = op, {"limit": 20, "offset": (i * 7) % 200}
                    else:
                        name, args = op, {}
                    t = time.perf_counter()
                    try:
                        await client.call_tool(name, args)
                        times[name].append(1000 * (time.perf_counter() - t))
                    except Exception as exc:  # noqa: BLE001 — counted, the run goes on
                        errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"client {w}: {type(exc).__name__}: {str(exc)[:120]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    wall = time.perf_counter() - began
    return {"calls": len(ops), "seconds": round(wall, 1), "calls_per_s": round(len(ops) / wall, 1),
            "errors": len(errors), "error_samples": errors[:10],
            "per_tool": {k: {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for k, v in sorted(times.items())}}


async def rest_clients(url: str, clients: int, ops: list[str], ids: list[int]) -> dict[str, Any]:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, op in enumerate(ops):
        queue.put_nowait((i, op))
    times: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    modes = {"semantic_search": "semantic", "search_memories": "keyword", "hybrid_search": "hybrid"}

    async def worker(w: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:
            while True:
                try:
                    i, op = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                try:
                    if op == "save":
                        r = await http.post("/api/memories", json={"content": f"REST load note {i} from {w}: "
                                                                   f"the cron job {i % 13} rotated log {i}.", "force": True})
                    elif op in modes:
                        r = await http.post("/api/search", json={"query": QUERIES[i % len(QUERIES)], "mode": modes[op]})
                    elif op == "get_memory":
                        r = await http.get(f"/api/memories/{ids[i % len(ids)]}")
                    elif op == "list_memories":
                        r = await http.get("/api/memories", params={"limit": 20, "offset": (i * 7) % 200})
                    else:
                        r = await http.get("/api/stats")
                    if r.status_code >= 400:
                        errors.append(f"{op}: HTTP {r.status_code} {r.text[:100]}")
                    else:
                        times[op].append(1000 * (time.perf_counter() - t))
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{op}: {type(exc).__name__}: {str(exc)[:120]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    wall = time.perf_counter() - began
    return {"calls": len(ops), "seconds": round(wall, 1), "calls_per_s": round(len(ops) / wall, 1),
            "errors": len(errors), "error_samples": errors[:10],
            "per_tool": {k: {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for k, v in sorted(times.items())}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--probes", type=int, default=50)
    ap.add_argument("--seed-sessions", type=int, default=150)
    ap.add_argument("--import-sessions", type=int, default=150)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cm-load-"))
    data = tmp / "data"
    data.mkdir()
    seed_tree = tmp / "seed" / "projects"
    write_sessions(seed_tree, args.seed_sessions, seed=3)
    port = 20000 + os.getpid() % 20000
    server = start_server(data, port)
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"benchmark": "load", "machine": machine(), "clients": args.clients, "calls": args.calls}
    try:
        seeded = importer(data, seed_tree)
        seeded.wait(1800)
        ids = [m["id"] for m in httpx.get(url + "/api/memories", params={"limit": 200}, timeout=60).json()["memories"]]
        result["seeded_memories"] = httpx.get(url + "/api/stats", timeout=60).json()["total_memories"]
        quiet = asyncio.run(probe_semantic(url, args.probes))
        runs: list[dict[str, Any]] = []

        def under_import(label: str, fn: Any) -> Any:
            tree = tmp / label / "projects"
            write_sessions(tree, args.import_sessions, seed=len(runs) + 10)
            proc = importer(data, tree)
            time.sleep(3)  # the importer is past its start-up and embedding
            try:
                out = fn()
            finally:
                busy = proc.poll() is None
                proc.wait(1800)
            runs.append({"label": label, "import_still_running_at_end": busy})
            return out, busy

        loaded, busy = under_import("probe", lambda: asyncio.run(probe_semantic(url, args.probes)))
        result["semantic_search_mcp"] = {
            "quiet_p50_ms": pct(quiet, 50), "quiet_p95_ms": pct(quiet, 95),
            "under_import_p50_ms": pct(loaded, 50), "under_import_p95_ms": pct(loaded, 95),
            "ratio_p50": round(statistics.median(loaded) / statistics.median(quiet), 2),
            "import_running_throughout": busy}
        rng = random.Random(5)
        result["mcp"], busy = under_import("mcp", lambda: asyncio.run(
            mcp_clients(url, args.clients, plan(args.calls, rng), ids)))
        result["mcp"]["import_running_throughout"] = busy
        result["rest"], busy = under_import("rest", lambda: asyncio.run(
            rest_clients(url, args.clients, plan(args.calls, rng), ids)))
        result["rest"]["import_running_throughout"] = busy
        result["health_after"] = httpx.get(url + "/health", timeout=30).json()
    finally:
        server.terminate()
        server.wait(60)
    s = result["semantic_search_mcp"]
    print(f"seeded {result['seeded_memories']} memories")
    print(f"semantic_search over MCP: quiet p50 {s['quiet_p50_ms']} ms p95 {s['quiet_p95_ms']} ms; under import "
          f"p50 {s['under_import_p50_ms']} ms p95 {s['under_import_p95_ms']} ms; ratio {s['ratio_p50']}x")
    for kind in ("mcp", "rest"):
        r = result[kind]
        print(f"{kind}: {args.clients} clients, {r['calls']} calls in {r['seconds']} s ({r['calls_per_s']}/s), "
              f"errors {r['errors']} {r['error_samples'][:3] if r['errors'] else ''}")
        for tool, t in r["per_tool"].items():
            print(f"  {tool:16} n={t['n']:4}  p50 {t['p50_ms']} ms  p99 {t['p99_ms']} ms")
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
