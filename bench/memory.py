"""Resident memory of a quiet `claude-memory serve` and of its embedded PostgreSQL.

    python bench/memory.py [--searches 50] [--out FILE]

Starts the server as a user would (embedded database in a fresh data folder, default settings: the ONNX
embedding path, exported beforehand into MODEL_CACHE_DIR so the export's own torch import is not counted),
waits until the model is ready, and reads memory after start and after N searches over REST (a third of
each mode). Server: RSS of its process. PostgreSQL: proportional set size (PSS) summed over the postmaster
and its backends, so shared buffers count once. Also runs with EMBEDDING_BACKEND=torch for comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]

from common import machine, write_json  # noqa: E402


def _kb(pid: int, field: str, file: str = "status") -> int:
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return 0
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def _postgres_pids(postmaster: int) -> list[int]:
    out = [postmaster]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                out.append(int(d.name))
    return out


def measure(backend: str, searches: int, cache: Path) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="cm-mem-"))
    port = 20000 + os.getpid() % 20000
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MEMORY_DATA_DIR": str(data), "MEMORY_PORT": str(port), "EMBEDDING_BACKEND": backend,
                "MODEL_CACHE_DIR": str(cache)})
    proc = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                r = httpx.get(url + "/health", timeout=5)
                if r.status_code == 200 and r.json().get("model") == "ready":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        httpx.post(url + "/api/memories", json={"content": "The nightly export runs at two in the morning."},
                   timeout=60)
        time.sleep(1)
        postmaster = int((data / "pgdata" / "postmaster.pid").read_text().split()[0])

        def snapshot() -> dict[str, float]:
            pg = sum(_kb(p, "Pss", "smaps_rollup") for p in _postgres_pids(postmaster)) / 1024
            return {"server_rss_mb": round(_kb(proc.pid, "VmRSS") / 1024, 1), "postgres_pss_mb": round(pg, 1)}

        started = snapshot()
        modes = ["semantic", "keyword", "hybrid"]
        for i in range(searches):
            httpx.post(url + "/api/search", json={"query": f"when does the export run {i}", "mode": modes[i % 3]},
                       timeout=60)
        after = snapshot()
    finally:
        proc.terminate()
        proc.wait(60)
    total = round(started["server_rss_mb"] + started["postgres_pss_mb"], 1)
    return {"backend": backend, "after_start": started, "after_searches": after, "quiet_start_total_mb": total}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--searches", type=int, default=50)
    ap.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("MODEL_CACHE_DIR") or
                                                           tempfile.mkdtemp(prefix="cm-onnx-")))
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from claude_memory.embedding import Embedder

    Embedder("all-MiniLM-L6-v2", backend="onnx", cache_dir=args.cache_dir).model  # noqa: B018 — export once
    results = [measure(b, args.searches, args.cache_dir) for b in ("auto", "torch")]
    for r in results:
        print(f"{r['backend']:5}: after start server {r['after_start']['server_rss_mb']} MB + PostgreSQL "
              f"{r['after_start']['postgres_pss_mb']} MB = {r['quiet_start_total_mb']} MB; after {args.searches} "
              f"searches server {r['after_searches']['server_rss_mb']} MB, PostgreSQL "
              f"{r['after_searches']['postgres_pss_mb']} MB")
    write_json(args.out, {"benchmark": "memory", "machine": machine(), "searches": args.searches,
                          "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
