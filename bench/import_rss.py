"""Peak resident memory of a real `claude-memory import` of a large transcript tree.

    python bench/import_rss.py [--gigabytes 1.0] [--out FILE]

Writes synthetic Claude Code sessions (bench/transcripts.py: replies split over several lines, tool calls
and results, progress and snapshot records) until the tree holds --gigabytes, then runs the CLI import into
a fresh embedded database with the default settings (ONNX embedding path, exported beforehand so the
one-time export is not counted) and samples the importer's VmHWM (peak RSS) from /proc until it exits.
Target: ≤ 600 MB.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, write_json  # noqa: E402
from transcripts import write_sessions  # noqa: E402


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.jsonl"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gigabytes", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=500, help="sessions written per round")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cm-rss-"))
    root = tmp / "projects"
    target = int(args.gigabytes * 1024 ** 3)
    began = time.perf_counter()
    rounds = 0
    while tree_size(root) < target if root.exists() else True:
        write_sessions(root / f"batch-{rounds:03d}", args.batch, seed=100 + rounds)
        rounds += 1
    size = tree_size(root)
    files = sum(1 for _ in root.rglob("*.jsonl"))
    written_s = time.perf_counter() - began
    data = tmp / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["MEMORY_DATA_DIR"] = str(data)
    from claude_memory.embedding import Embedder

    Embedder("all-MiniLM-L6-v2", backend="onnx", cache_dir=data / "models").model  # noqa: B018 — export once
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "claude_memory", "import", "--projects-dir", str(root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            m = re.search(r"VmHWM:\s+(\d+)", status.read_text())
            peak = max(peak, int(m.group(1)) if m else 0)
        except OSError:
            pass
        time.sleep(0.5)
    out = proc.stdout.read() if proc.stdout else ""
    seconds = time.perf_counter() - began
    result = {"benchmark": "import_rss", "machine": machine(), "tree_bytes": size, "files": files,
              "write_tree_seconds": round(written_s, 1), "import_seconds": round(seconds, 1),
              "importer_peak_rss_mb": round(peak / 1024, 1), "exit": proc.returncode, "summary": out.splitlines()}
    print(f"tree: {size / 1024 ** 3:.2f} GB in {files} files (written in {written_s:.0f} s)")
    print(f"import: exit {proc.returncode} in {seconds:.0f} s; importer peak RSS {peak / 1024:.0f} MB")
    print("\n".join(out.splitlines()[:8]))
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
