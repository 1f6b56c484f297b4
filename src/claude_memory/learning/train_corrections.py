"""Train the correction classifier from a labelled JSONL set and write it as package data; k-fold
cross-validation for figures on messages the model did not see.

    python -m claude_memory.learning.train_corrections [--data FILE] [--out FILE]

Rows: {"text": …, "label": true|false, "context": what Claude had just done (optional)}. The hyper-
parameters (L2 strength, decision threshold) are chosen inside each training fold by an inner
cross-validation, so the outer figures never see the rows they are scored on."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .corrections import MODEL_FILE, Model, hand_features, train

L2_GRID = (1.0, 3.0)
THRESHOLD_GRID = tuple(round(0.5 + 0.05 * i, 2) for i in range(8))  # 0.50 … 0.85
TARGET_PRECISION = 0.9  # the threshold is the lowest whose inner precision reaches this


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("text"), str) or not isinstance(row.get("label"), bool):
            raise ValueError(f"{path}:{n}: each row needs a text and a boolean label")
        rows.append(row)
    return rows


def data_hash(rows: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r["text"], r.get("context"), r["label"]], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def featurize(rows: Sequence[dict[str, Any]], embed: Callable[[list[str]], np.ndarray]
              ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    texts = [" ".join(r["text"].split()) for r in rows]
    vectors = embed(texts)
    hands = np.asarray([hand_features(r["text"], r.get("context")) for r in rows], dtype=np.float64)
    labels = np.asarray([r["label"] for r in rows], dtype=bool)
    return texts, np.asarray(vectors, dtype=np.float64), hands, labels


def folds(n: int, k: int, labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """Stratified: each fold gets its share of positives and negatives."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for cls in (True, False):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            out[j % k].append(int(i))
    return [np.asarray(sorted(f)) for f in out]


def _pr(pred: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    tp = int((pred & labels).sum())
    fp = int((pred & ~labels).sum())
    fn = int((~pred & labels).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def _take(texts: list[str], idx: np.ndarray) -> list[str]:
    return [texts[i] for i in idx]


def choose(texts: list[str], vectors: np.ndarray, hands: np.ndarray, labels: np.ndarray, seed: int, k: int = 5
           ) -> tuple[float, float]:
    """(l2, threshold) by inner cross-validation on the training rows only."""
    best: tuple[float, float, float, float] | None = None  # (recall, precision, l2, threshold)
    for l2 in L2_GRID:
        probs = np.zeros(len(labels))
        for f in folds(len(labels), k, labels, seed + 1):
            train_idx = np.setdiff1d(np.arange(len(labels)), f)
            m = train(_take(texts, train_idx), vectors[train_idx], hands[train_idx], labels[train_idx], l2=l2)
            probs[f] = m.probabilities(_take(texts, f), vectors[f], hands[f])
        for t in THRESHOLD_GRID:
            p, r = _pr(probs >= t, labels)
            if p >= TARGET_PRECISION:
                cand = (r, p, l2, t)
                if best is None or cand[:2] > best[:2]:
                    best = cand
                break
    return (best[2], best[3]) if best else (L2_GRID[-1], THRESHOLD_GRID[-1])


def cross_validate(rows: Sequence[dict[str, Any]], embed: Callable[[list[str]], np.ndarray], k: int = 10,
                   seed: int = 7) -> dict[str, Any]:
    """Outer k-fold: every row is predicted by a model (and hyper-parameters) fitted without it."""
    texts, vectors, hands, labels = featurize(rows, embed)
    pred = np.zeros(len(rows), dtype=bool)
    probs = np.zeros(len(rows))
    chosen = []
    for f in folds(len(rows), k, labels, seed):
        train_idx = np.setdiff1d(np.arange(len(rows)), f)
        tr = _take(texts, train_idx)
        l2, threshold = choose(tr, vectors[train_idx], hands[train_idx], labels[train_idx], seed)
        m = train(tr, vectors[train_idx], hands[train_idx], labels[train_idx], l2=l2, threshold=threshold)
        probs[f] = m.probabilities(_take(texts, f), vectors[f], hands[f])
        pred[f] = probs[f] >= threshold
        chosen.append((l2, threshold))
    return {"predictions": pred, "probabilities": probs, "labels": labels, "chosen": chosen}


def fit(rows: Sequence[dict[str, Any]], embed: Callable[[list[str]], np.ndarray], embedding_model: str,
        cv: dict[str, Any] | None = None, seed: int = 7) -> Model:
    texts, vectors, hands, labels = featurize(rows, embed)
    l2, threshold = choose(texts, vectors, hands, labels, seed)
    meta: dict[str, Any] = {"rows": len(rows), "positives": int(labels.sum()), "data_hash": data_hash(rows),
                            "l2": l2}
    if cv is not None:
        p, r = _pr(cv["predictions"], cv["labels"])
        meta["cross_validated"] = {"folds": len(cv["chosen"]), "precision": round(p, 4), "recall": round(r, 4)}
    return train(texts, vectors, hands, labels, l2=l2, threshold=threshold, embedding_model=embedding_model,
                 meta=meta)


def default_embed() -> tuple[Callable[[list[str]], np.ndarray], str]:
    from ..embedding import Embedder
    from ..settings import DEFAULT_MODEL, Settings

    settings = Settings.from_env()
    embedder = Embedder(DEFAULT_MODEL, threads=2, backend=settings.embedding_backend,
                        cache_dir=settings.model_cache_dir, exact=True)
    return embedder.encode, DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[3]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=root / "tests" / "data" / "corrections.jsonl")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args(argv)
    rows = load_rows(args.data)
    embed, name = default_embed()
    cv = cross_validate(rows, embed)
    model = fit(rows, embed, name, cv)
    args.out.write_text(model.to_json() + "\n", encoding="utf-8")
    print(f"trained on {len(rows)} rows; cross-validated {model.meta['cross_validated']}; "
          f"l2={model.meta['l2']} threshold={model.threshold} → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
