"""Semantic, keyword (BM25) and hybrid search over the memory service, behind the search cache."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg2

from .db import memories as q
from .db.memories import Filters
from .errors import InvalidInput, Unavailable
from .inputs import clean_text, fraction
from .memory import MAX_LIMIT, MemoryService, bounded

log = logging.getLogger(__name__)

RESULT_CHARS = 1500
# Share of the best neighbouring turn's score a memory inherits (see `with_context`); measured on LoCoMo
# turn-level retrieval: 0 → 0.68 fraction@10, 0.3 → 0.74 (docs/benchmarks.md).
CONTEXT_WEIGHT = 0.3
MAX_QUERY_CHARS = 10_000
# BM25 candidates of a hybrid search (at least 3 × its limit); the semantic candidates (`Searcher.candidates`)
# get their exact BM25 too. On LoCoMo's turns: 100 BM25 candidates and semantic-only ones at 0 gave 0.737
# fraction@10, 30 with exact BM25 for all 0.739, at half the BM25 cost (docs/benchmarks.md).
KEYWORD_CANDIDATES = 30
# Vector candidates of a hybrid search (at least 3 × its limit). On LoCoMo's turns (fraction@5 / @10): 100 gave
# 0.6389 / 0.7391, 80 0.6404 / 0.7388, 60 0.6390 / 0.7372, 40 0.6357 / 0.7362; sessions 0.8968 / 0.9547 for all
# four; 80 costs about a fifth less than 100 (docs/benchmarks.md).
VECTOR_CANDIDATES = 80


def _query(query: Any) -> str:
    return clean_text(query, "query", MAX_QUERY_CHARS)


def _weight(value: Any, name: str, default: float) -> float:
    return fraction(value, name, default)


class Searcher:
    """The three searches the MCP tools and REST API expose."""

    def __init__(self, memories: MemoryService, candidates: int = VECTOR_CANDIDATES) -> None:
        self.memories = memories
        self.candidates = candidates
        self._folding = threading.Lock()

    @property
    def cache(self) -> Any:
        return self.memories.cache

    def _results(self, scored: list[tuple[int, float]], key: str, extra: dict[int, dict[str, float]] | None = None
                 ) -> list[dict[str, Any]]:
        rows = self.memories.get_many([i for i, _ in scored])
        out = []
        for mid, score in scored:
            r = rows.get(mid)
            if r is None:
                continue
            content = r["content"]
            item = {"id": mid, key: round(score, 4), "content": content[:RESULT_CHARS],
                    "truncated": len(content) > RESULT_CHARS, "tags": r["tags"], "project": r["project"],
                    "source": r["source"], "created_at": r["created_at"]}
            if extra and mid in extra:
                item.update({k: round(v, 4) for k, v in extra[mid].items()})
            out.append(item)
        return out

    def semantic(self, query: Any, limit: Any = 10, min_similarity: Any = 0.0, project: Any = None,
                 since: Any = None, before: Any = None) -> dict[str, Any]:
        text = _query(query)
        lim = bounded(limit, "limit", 10, 1, MAX_LIMIT)
        floor = _weight(min_similarity, "min_similarity", 0.0)
        flt = self.memories.filters(project, since, before)
        key = ("semantic", text, lim, floor, flt.project, flt.since, flt.before)
        return self.cache.get_or_compute(key, lambda: self._semantic(text, lim, floor, flt))

    def _semantic(self, text: str, lim: int, floor: float, flt: Filters) -> dict[str, Any]:
        vec = self.memories.embedder.encode_one(text)
        with self.memories.db.cursor() as cur:
            scored = [(i, s) for i, s in q.semantic(cur, vec, flt, lim) if s >= floor]
        return {"query": text, "results": self._results(scored, "similarity")}

    def keyword(self, query: Any, limit: Any = 10, project: Any = None, since: Any = None,
                before: Any = None) -> dict[str, Any]:
        text = _query(query)
        lim = bounded(limit, "limit", 10, 1, MAX_LIMIT)
        flt = self.memories.filters(project, since, before)
        key = ("keyword", text, lim, flt.project, flt.since, flt.before)
        return self.cache.get_or_compute(key, lambda: {
            "query": text, "results": self._results(self.keyword_scores(text, lim, flt), "score")})

    def keyword_scores(self, text: str, lim: int, flt: Filters) -> list[tuple[int, float]]:
        with self.memories.db.cursor() as cur:
            scored, pending = q.bm25(cur, text, flt, lim)
            if not scored:
                scored = q.substring(cur, text, flt, lim)
        self._fold_soon(pending)
        return scored

    def _fold_soon(self, pending: int) -> None:
        """Writes leave document-frequency deltas that every keyword search sums; past a few thousand of
        them, fold them into the counters in the background (one fold at a time per process)."""
        if pending < q.FOLD_AT or not self._folding.acquire(blocking=False):
            return

        def fold() -> None:
            try:
                with self.memories.db.cursor() as cur:
                    q.fold_df(cur)
            except (psycopg2.Error, Unavailable) as exc:
                log.warning("could not fold keyword counters: %s", exc)
            finally:
                self._folding.release()

        threading.Thread(target=fold, name="fold-keyword-counts", daemon=True).start()

    def hybrid(self, query: Any, limit: Any = 10, keyword_weight: Any = None, semantic_weight: Any = None,
               project: Any = None, since: Any = None, before: Any = None) -> dict[str, Any]:
        text = _query(query)
        lim = bounded(limit, "limit", 10, 1, MAX_LIMIT)
        kw = _weight(keyword_weight, "keyword_weight", 0.5)
        sw = _weight(semantic_weight, "semantic_weight", 0.5)
        if kw + sw <= 0:
            raise InvalidInput("keyword_weight and semantic_weight cannot both be 0")
        flt = self.memories.filters(project, since, before)
        key = ("hybrid", text, lim, kw, sw, flt.project, flt.since, flt.before)
        return self.cache.get_or_compute(key, lambda: self._hybrid(text, lim, kw, sw, flt))

    def _hybrid(self, text: str, lim: int, kw: float, sw: float, flt: Filters) -> dict[str, Any]:
        vec = self.memories.embedder.encode_one(text)
        top, extra = self.hybrid_scores(text, vec, lim, kw, sw, flt)
        return {"query": text, "results": self._results(top, "score", extra)}

    def hybrid_scores(self, text: str, vec: Any, lim: int, kw: float, sw: float, flt: Filters
                      ) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
        """Fused (id, score) for an already embedded query, with each leg's raw score."""
        n = max(self.candidates, lim * 3)
        with self.memories.db.cursor() as cur:
            stats = q.keyword_stats(cur, text, flt)  # one read of the counters for both BM25 calls
            scored, pending = q.bm25(cur, text, flt, max(KEYWORD_CANDIDATES, lim * 3), stats=stats) if stats else ([], 0)
            bm = dict(scored)
            # candidates: the memories of the nearest n vectors of any kind (a memory with several of them is
            # one candidate, at the similarity of its nearest), then both scores for each candidate: the
            # keyword candidates' similarities (the best of their vectors), the vector candidates' BM25
            sem = dict(q.semantic(cur, vec, flt, n, per_result=1, fill=False,
                                  project_size=stats[1] if stats and not flt.since and not flt.before else None))
            sem.update(q.similarities(cur, vec, [i for i in bm if i not in sem]))
            if stats:
                bm.update(q.bm25_of(cur, text, flt, [i for i in sem if i not in bm], stats=stats))
            fused = fuse(bm, sem, kw, sw)
            neighbours = q.session_neighbours(cur, reachable(fused, lim, CONTEXT_WEIGHT)) if fused else {}
        self._fold_soon(pending)
        top = with_context(fused, neighbours, CONTEXT_WEIGHT)[:lim]
        return top, {i: {"keyword_score": bm.get(i, 0.0), "similarity": sem.get(i, 0.0)} for i, _ in top}


def fuse(bm: dict[int, float], sem: dict[int, float], kw: float, sw: float) -> list[tuple[int, float]]:
    """Scores on one scale: BM25 divided by the best BM25, similarity min-max scaled over the candidates."""
    top_bm = max(bm.values(), default=0.0) or 1.0
    lo, hi = (min(sem.values()), max(sem.values())) if len(sem) > 1 else (0.0, 1.0)
    span = (hi - lo) or 1.0
    ids = set(bm) | set(sem)
    scores = {i: kw * bm.get(i, 0.0) / top_bm + sw * (sem.get(i, lo) - lo) / span for i in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def reachable(scored: list[tuple[int, float]], lim: int, weight: float) -> list[int]:
    """The memories that can still be in the top `lim` once `with_context` has added neighbours' shares:
    a memory gains at most `weight` × the best score, and the `lim`-th score can only rise, so only those
    whose score plus that gain reaches the `lim`-th score need their neighbours looked up."""
    if len(scored) <= lim:
        return [i for i, _ in scored]
    bar = scored[lim - 1][1] - weight * max(0.0, scored[0][1])
    return [i for i, s in scored if s >= bar - 1e-12]


def with_context(scored: list[tuple[int, float]], neighbours: dict[int, tuple[int | None, int | None]],
                 weight: float) -> list[tuple[int, float]]:
    """Conversation turns are read in context: a memory gains `weight` × the score of its best adjacent
    memory in the same session (the question before an answer, the answer after a question)."""
    base = dict(scored)
    out = {i: s + weight * max((base.get(n, 0.0) for n in neighbours.get(i, ()) if n is not None), default=0.0)
           for i, s in scored}
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))
