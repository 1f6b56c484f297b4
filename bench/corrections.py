"""Score the correction detector on a labelled set of user messages.

    python bench/corrections.py [--data FILE] [--out FILE]

FILE is JSONL: {"text": "...", "label": true|false} per line, optionally "context" (what Claude had just
done). Default: tests/data/corrections.jsonl. The last line printed is `precision=P recall=R`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from claude_memory.corrections import is_correction

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "corrections.jsonl")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    tp = fp = fn = tn = 0
    misses: list[str] = []
    for n, line in enumerate(args.data.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        got = is_correction(row["text"], row.get("context"))
        want = bool(row["label"])
        tp += got and want
        fp += got and not want
        fn += want and not got
        tn += not got and not want
        if got != want:
            misses.append(f"  line {n}: expected {want}: {row['text'][:100]!r}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"{tp + fp + fn + tn} messages: {tp} true positives, {fp} false positives, {fn} missed, {tn} true negatives")
    print("\n".join(misses) or "  no mistakes")
    if args.out:
        Path(args.out).write_text(json.dumps({"benchmark": "corrections", "data": str(args.data), "tp": tp,
                                              "fp": fp, "fn": fn, "tn": tn, "precision": round(precision, 4),
                                              "recall": round(recall, 4)}, indent=2))
    print(f"precision={precision:.3f} recall={recall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
