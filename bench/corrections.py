"""Score the correction detector on a labelled set of user messages.

    python bench/corrections.py [--data FILE] [--cv] [--out FILE]

FILE is JSONL: {"text": "...", "label": true|false} per line, optionally "context" (what Claude had just
done). Default: tests/data/corrections.jsonl, the development set the shipped classifier was trained on —
scored by 10-fold cross-validation (each message predicted by a model fitted without it, hyper-parameters
chosen inside the training folds). Any other file is held-out data: scored with the shipped model as is
(`--cv` cross-validates it instead). The last line printed is `precision=P recall=R`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from claude_memory.learning.corrections import Detector, shipped_model
from claude_memory.learning.train_corrections import _pr, cross_validate, data_hash, default_embed, load_rows

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "corrections.jsonl")
    ap.add_argument("--cv", action="store_true", help="cross-validate on FILE even if the model never saw it")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    rows = load_rows(args.data)
    model = shipped_model()
    embed, _ = default_embed()
    seen = data_hash(rows) == model.meta.get("data_hash")
    if args.cv or seen:
        mode = f"{args.folds}-fold cross-validation" + (" (the shipped model was trained on this file)" if seen else "")
        cv = cross_validate(rows, embed, k=args.folds)
        pred = cv["predictions"]
    else:
        mode = "held out: the shipped model, which never saw this file"
        pred = np.asarray(Detector(embed, model).detect([(r["text"], r.get("context")) for r in rows]))
    labels = np.asarray([r["label"] for r in rows], dtype=bool)
    tp = int((pred & labels).sum())
    fp = int((pred & ~labels).sum())
    fn = int((~pred & labels).sum())
    tn = int((~pred & ~labels).sum())
    precision, recall = _pr(pred, labels)
    print(f"{mode}")
    print(f"{len(rows)} messages: {tp} true positives, {fp} false positives, {fn} missed, {tn} true negatives")
    misses = [f"  line {n}: expected {bool(r['label'])}: {r['text'][:100]!r}"
              for n, (r, got) in enumerate(zip(rows, pred, strict=True), 1) if bool(got) != bool(r["label"])]
    print("\n".join(misses) or "  no mistakes")
    if args.out:
        Path(args.out).write_text(json.dumps({"benchmark": "corrections", "data": str(args.data), "mode": mode,
                                              "tp": tp, "fp": fp, "fn": fn, "tn": tn,
                                              "precision": round(precision, 4), "recall": round(recall, 4)},
                                             indent=2))
    print(f"precision={precision:.3f} recall={recall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
