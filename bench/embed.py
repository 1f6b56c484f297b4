"""Embedding speed and agreement: the ONNX Runtime int8 path against the PyTorch path, same texts.

    python bench/embed.py [--sessions 60] [--repeats 3] [--out FILE]

The texts are exactly those the import benchmark embeds (bench/transcripts.py sessions, parsed and turned
into memories by the importer's own rules, windows included). Each repeat embeds all of them with the
PyTorch path, then with the ONNX path, then the ONNX fp32 file (the one the correction classifier uses),
alternating so the machine's drift falls on all of them; texts/s is the median over repeats. Agreement is
the cosine between the two paths' vectors per text (mean and minimum). Also: the ONNX path's load time
(export excluded: it runs once per machine and is reported separately) and resident memory after loading.
Runs offline: the model comes from the installed package, nothing is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claude_memory.embedding import Embedder  # noqa: E402
from claude_memory.importers import claude_code  # noqa: E402
from claude_memory.importers import model as k  # noqa: E402
from common import machine, write_json  # noqa: E402
from transcripts import write_sessions  # noqa: E402


def texts_of(sessions: int) -> list[str]:
    """What the importer would embed for these synthetic sessions: main-thread prose of ≥ 50 characters."""
    root = Path(tempfile.mkdtemp(prefix="cm-embed-")) / "projects"
    write_sessions(root, sessions)
    out = []
    for f in claude_code.discover(root):
        for s in claude_code.parse_file(f.path, default_session=f.default_session).sessions.values():
            out += [m.text.strip() for m in s.messages if m.kind in k.MEMORY_KINDS and m.role in ("user", "assistant")
                    and not m.is_sidechain and len(m.text.strip()) >= 50]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.mkdtemp(prefix="cm-onnx-")))
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    texts = texts_of(args.sessions)
    began = time.perf_counter()
    fast = Embedder("all-MiniLM-L6-v2", threads=args.threads, backend="onnx", cache_dir=args.cache_dir)
    fast.model  # noqa: B018 — export (first use on this machine) and load
    first_use = time.perf_counter() - began
    began = time.perf_counter()
    fast = Embedder("all-MiniLM-L6-v2", threads=args.threads, backend="onnx", cache_dir=args.cache_dir)
    fast.model  # noqa: B018
    load_s = time.perf_counter() - began
    # VmHWM, not ru_maxrss: the latter carries the parent's peak across fork and exec
    probe = ("import re, sys; from pathlib import Path; from claude_memory.embedding import Embedder;"
             "e = Embedder('all-MiniLM-L6-v2', threads=2, backend='onnx', cache_dir=Path(sys.argv[1]));"
             "e.encode(['a first text to embed'] * 64); e.encode_one('a query');"
             "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
             "print(int(hwm) / 1024, 'torch' in sys.modules)")
    peak, torch_loaded = subprocess.run([sys.executable, "-c", probe, str(args.cache_dir)], capture_output=True,
                                        text=True, check=True).stdout.split()
    rss_onnx_mb = float(peak)
    exact = Embedder("all-MiniLM-L6-v2", threads=args.threads, backend="onnx", cache_dir=args.cache_dir, exact=True)
    torch_path = Embedder("all-MiniLM-L6-v2", threads=args.threads, backend="torch")
    exact.model, torch_path.model  # noqa: B018
    rates: dict[str, list[float]] = {"torch": [], "onnx_int8": [], "onnx_fp32": []}
    vectors = {}
    for _ in range(args.repeats):
        for name, emb in (("torch", torch_path), ("onnx_int8", fast), ("onnx_fp32", exact)):
            t = time.perf_counter()
            vectors[name] = emb.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - t))
    median = {n: statistics.median(r) for n, r in rates.items()}
    cos = (vectors["torch"] * vectors["onnx_int8"]).sum(axis=1)
    cos32 = (vectors["torch"] * vectors["onnx_fp32"]).sum(axis=1)
    result = {
        "benchmark": "embed", "machine": machine(), "texts": len(texts), "mean_chars": round(sum(map(len, texts)) / max(len(texts), 1)),
        "threads": args.threads, "repeats": args.repeats,
        "texts_per_s": {n: round(v, 1) for n, v in median.items()},
        "speedup_int8": round(median["onnx_int8"] / median["torch"], 2),
        "speedup_fp32": round(median["onnx_fp32"] / median["torch"], 2),
        "cosine_int8": {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5)},
        "cosine_fp32": {"mean": round(float(cos32.mean()), 6), "min": round(float(cos32.min()), 6)},
        "onnx_first_use_s": round(first_use, 1), "onnx_load_s": round(load_s, 2),
        "onnx_process_peak_rss_mb": round(rss_onnx_mb), "onnx_process_imported_torch": torch_loaded == "True",
    }
    for n in rates:
        print(f"{n:10} {median[n]:7.1f} texts/s  (runs: {', '.join(f'{r:.0f}' for r in rates[n])})")
    print(f"speedup int8 {result['speedup_int8']}x, fp32 {result['speedup_fp32']}x; cosine to PyTorch: int8 "
          f"mean {result['cosine_int8']['mean']} min {result['cosine_int8']['min']}, fp32 mean "
          f"{result['cosine_fp32']['mean']}")
    print(f"ONNX: first use (export + load) {first_use:.1f} s, later loads {load_s:.2f} s, "
          f"a process embedding with it peaks at {rss_onnx_mb:.0f} MB (torch imported: {torch_loaded})")
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
