"""Import throughput on realistic Claude Code sessions.

    python bench/import.py --sessions N --out FILE

Writes N synthetic sessions (2.1.x shape: replies split over several lines, tool calls and results,
progress and snapshot records), then in one run and on one embedded PostgreSQL:
  1. `without_embedding`: the whole import (discover, parse, redact, bookkeeping, bulk writes) with no
     model and memory rows stored without vectors; `write_messages_per_s` is messages per second of time
     spent in the write transactions, `pipeline_messages_per_s` per second of the whole run;
  2. `model`: the embedding model alone on exactly the texts that import embedded, in the same batches;
  3. `with_vectors`: the same import with those vectors handed in ready (HNSW inserts included);
  4. `end_to_end`: the real import into an empty database, run --repeats times alternating with the
     model alone (the machine's speed drifts; alternating cancels it).
Targets: end-to-end embedded texts/s >= 0.9 x the model's own texts/s; >= 5,000 messages/s written
without embedding.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claude_memory.cache import SearchCache  # noqa: E402
from claude_memory.db.migrate import ensure_embedding_schema, migrate  # noqa: E402
from claude_memory.db.pool import Database  # noqa: E402
from claude_memory.importers.job import EMBED_BATCH, ImportOptions, run  # noqa: E402
from claude_memory.memory import Guard, MemoryService  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402
from transcripts import write_sessions  # noqa: E402


def fresh_service(base_dsn: str, memories: MemoryService) -> tuple[Database, MemoryService]:
    """An empty database on the same server, sharing the loaded model."""
    name = "bench_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(base_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    dsn = urlunsplit(urlsplit(base_dsn)._replace(path="/" + name))
    db = Database(dsn)
    migrate(db)
    db.enable_vectors()
    ensure_embedding_schema(db, memories.embedder.dimension, "all-MiniLM-L6-v2")
    return db, MemoryService(db, memories.embedder, Guard(0.95, 0.85), SearchCache(0, 1))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--repeats", type=int, default=2, help="end-to-end runs, alternated with model runs")
    ap.add_argument("--database-url", help="PostgreSQL to use (default: a throw-away embedded server)")
    args = ap.parse_args(argv)

    rt, _ = temp_runtime(args.database_url)
    tree = Path(tempfile.mkdtemp(prefix="cm-bench-import-")) / "projects"
    written = write_sessions(tree, args.sessions)
    print(f"{written['sessions']} sessions, {written['turns']} turns, {written['lines']} lines", flush=True)
    rt.embedder.encode(["warm up the model"])

    # 1. the import without embedding: memory rows carry no vector (no model, no HNSW insert)
    texts: list[str] = []

    def no_vectors(batch: Sequence[str]) -> list[tuple[Any, list[np.ndarray]]]:
        texts.extend(batch)
        return [(None, []) for _ in batch]

    db1, svc1 = fresh_service(rt.db.dsn, rt.memories)
    t0 = time.perf_counter()
    s1 = run(db1, svc1, ImportOptions(), claude_code_dir=tree, embed=no_vectors)
    db_only = time.perf_counter() - t0
    db1.close()
    write_rate = s1.messages / s1.write_seconds
    print(f"no embedding: {s1.messages} messages, {s1.memories} memories; pipeline {db_only:.2f}s"
          f" = {s1.messages / db_only:,.0f} messages/s; database writes {s1.write_seconds:.2f}s"
          f" = {write_rate:,.0f} messages/s", flush=True)

    # 2. the model alone on the same texts, in the batches the import used
    vectors: dict[str, tuple[np.ndarray, list[np.ndarray]]] = {}

    def model_pass() -> float:
        t0 = time.perf_counter()
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            vectors.update(zip(batch, rt.memories.embed_documents(batch), strict=True))
        return time.perf_counter() - t0

    model_times = [model_pass()]
    print(f"model:        {len(texts)} texts in {model_times[0]:.2f}s", flush=True)

    # 3. database writes with the real vectors ready (HNSW inserts included), still no model in the loop
    db3, svc3 = fresh_service(rt.db.dsn, rt.memories)
    s3 = run(db3, svc3, ImportOptions(), claude_code_dir=tree, embed=lambda b: [vectors[t] for t in b])
    db3.close()
    vec_rate = s3.messages / s3.write_seconds
    print(f"with vectors: database writes {s3.write_seconds:.2f}s = {vec_rate:,.0f} messages/s", flush=True)

    # 4. end to end, alternating with the model alone so that drift in machine speed (2 shared cores) cancels
    e2e_times: list[float] = []
    for rep in range(args.repeats):
        if rep:
            model_times.append(model_pass())
            print(f"model:        {len(texts)} texts in {model_times[-1]:.2f}s", flush=True)
        db2, svc2 = fresh_service(rt.db.dsn, rt.memories)
        t0 = time.perf_counter()
        s2 = run(db2, svc2, ImportOptions(), claude_code_dir=tree)
        e2e_times.append(time.perf_counter() - t0)
        db2.close()
        print(f"end to end:   {s2.messages} messages, {s2.memories} memories ({s2.embedded} embedded)"
              f" in {e2e_times[-1]:.2f}s", flush=True)
    model = sum(model_times)
    e2e = sum(e2e_times)
    model_rate = len(texts) * len(model_times) / model
    e2e_rate = s2.embedded * len(e2e_times) / e2e
    ratio = e2e_rate / model_rate
    print(f"model {model_rate:.1f} texts/s; end to end {e2e_rate:.1f} embedded texts/s,"
          f" {s2.messages * len(e2e_times) / e2e:.1f} messages/s")
    print(f"end-to-end / model = {ratio:.3f} (target >= 0.9); database writes without embedding"
          f" {write_rate:,.0f} messages/s (target >= 5000)")
    payload: dict[str, Any] = {
        "benchmark": "import", "machine": machine(), "torch_threads": rt.embedder.threads, **written,
        "without_embedding": {"pipeline_seconds": round(db_only, 3), "write_seconds": round(s1.write_seconds, 3),
                              "messages": s1.messages, "memories": s1.memories,
                              "pipeline_messages_per_s": round(s1.messages / db_only, 1),
                              "write_messages_per_s": round(write_rate, 1)},
        "model": {"seconds": [round(t, 3) for t in model_times], "texts": len(texts),
                  "texts_per_s": round(model_rate, 2)},
        "with_vectors": {"write_seconds": round(s3.write_seconds, 3), "write_messages_per_s": round(vec_rate, 1)},
        "end_to_end": {"seconds": [round(t, 3) for t in e2e_times], "messages": s2.messages,
                       "memories": s2.memories, "embedded": s2.embedded,
                       "messages_per_s": round(s2.messages * len(e2e_times) / e2e, 2),
                       "embedded_per_s": round(e2e_rate, 2), "write_seconds": round(s2.write_seconds, 3)},
        "ratio_end_to_end_to_model": round(ratio, 3),
    }
    write_json(args.out, payload)
    rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
