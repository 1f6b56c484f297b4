"""Every SQL statement over `memories`, `memory_chunks` and `memory_vectors`. Values are always bound parameters;
the only composed SQL is a choice among the constant filter fragments below."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from psycopg2.extras import execute_values

from .pool import HNSW_EF_SEARCH

ACTIVE = "m.deleted_at IS NULL AND m.superseded_by IS NULL"
STATUS_SQL = {
    "active": ACTIVE,
    "deleted": "m.deleted_at IS NOT NULL",
    "superseded": "m.deleted_at IS NULL AND m.superseded_by IS NOT NULL",
    "undeleted": "m.deleted_at IS NULL",
    "any": "TRUE",
}
COLUMNS = (
    "m.id, m.content, m.tags, m.source, m.project, m.session_id, m.created_at, m.updated_at,"
    " m.deleted_at, m.superseded_by"
)


@dataclass
class Filters:
    """Row filters shared by list, search, export and bulk operations."""

    project: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    tag: str | None = None
    source: str | None = None
    status: str = "active"  # a key of STATUS_SQL
    session_id: str | None = None

    def sql(self) -> tuple[str, list[Any]]:
        parts: list[str] = [STATUS_SQL[self.status]]
        params: list[Any] = []
        if self.project is not None:
            parts.append("m.project = %s")
            params.append(self.project)
        if self.since is not None:
            parts.append("m.created_at >= %s")
            params.append(self.since)
        if self.before is not None:
            parts.append("m.created_at < %s")
            params.append(self.before)
        if self.tag is not None:
            parts.append("m.tags @> ARRAY[%s]::text[]")
            params.append(self.tag)
        if self.source is not None:
            parts.append("m.source = %s")
            params.append(self.source)
        if self.session_id is not None:
            parts.append("m.session_id = %s")
            params.append(self.session_id)
        return (" AND ".join(parts) or "TRUE"), params


@dataclass
class NewMemory:
    content: str
    content_hash: str
    embedding: np.ndarray
    chunks: list[np.ndarray] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    source: str | None = None
    project: str | None = None
    session_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_FORMATS: dict[int, str] = {}


def literal(vector: np.ndarray) -> str:
    """A vector as pgvector text. One %-format over the whole row (9 significant digits: exact for float32)
    is ~4x faster than pgvector's per-element conversion, which dominated bulk inserts."""
    values = np.asarray(vector, dtype=np.float32).ravel().tolist()
    fmt = _FORMATS.get(len(values))
    if fmt is None:
        fmt = _FORMATS[len(values)] = "[" + ",".join(["%.9g"] * len(values)) + "]"
    return fmt % tuple(values)


def row_to_dict(row: Sequence[Any]) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v is not None else None

    return {
        "id": row[0], "content": row[1], "tags": list(row[2] or []), "source": row[3], "project": row[4],
        "session_id": row[5], "created_at": iso(row[6]), "updated_at": iso(row[7]),
        "deleted_at": iso(row[8]), "superseded_by": row[9],
        "status": "deleted" if row[8] is not None else "superseded" if row[9] is not None else "active",
    }


def find_by_hash(cur: Any, project: str | None, content_hash: str) -> tuple[int, bool] | None:
    """(id, active) of the memory with this exact content in this project."""
    cur.execute(
        "SELECT id, deleted_at IS NULL AND superseded_by IS NULL FROM memories"
        " WHERE coalesce(project, '') = coalesce(%s, '') AND content_hash = %s",
        (project, content_hash),
    )
    row = cur.fetchone()
    return (row[0], row[1]) if row else None


def existing_hashes(cur: Any, project: str | None, hashes: Sequence[str]) -> set[str]:
    """The hashes among `hashes` already stored in this project (active or not)."""
    cur.execute(
        "SELECT content_hash FROM memories WHERE coalesce(project, '') = coalesce(%s, '')"
        " AND content_hash = ANY(%s)",
        (project, list(hashes)),
    )
    return {r[0] for r in cur.fetchall()}


def insert_many(cur: Any, items: Sequence[NewMemory]) -> list[int | None]:
    """Insert rows (exact duplicates skipped) and their chunk vectors; ids in input order, None if skipped."""
    if not items:
        return []
    rows = [
        (i, m.content, m.content_hash, m.tags, m.source, m.project, m.session_id,
         literal(m.embedding) if m.embedding is not None else None,
         m.created_at, m.updated_at)
        for i, m in enumerate(items)
    ]
    result = execute_values(
        cur,
        "INSERT INTO memories (content, content_hash, tags, source, project, session_id, embedding,"
        " created_at, updated_at)"
        " SELECT v.content, v.content_hash, v.tags::text[], v.source, v.project, v.session_id, v.embedding,"
        "  coalesce(v.created_at::timestamptz, now()),"
        "  coalesce(v.updated_at::timestamptz, v.created_at::timestamptz, now())"
        " FROM (VALUES %s) AS v(ord, content, content_hash, tags, source, project, session_id, embedding,"
        "  created_at, updated_at)"
        " ORDER BY v.ord"
        " ON CONFLICT ((coalesce(project, '')), content_hash) DO NOTHING"
        " RETURNING id, content_hash, coalesce(project, '')",
        rows,
        template="(%s, %s, %s, %s, %s, %s, %s, %s::vector, %s, %s)",
        fetch=True,
        page_size=500,
    )
    by_key = {(h, p): i for i, h, p in result}
    ids: list[int | None] = []
    chunk_rows: list[tuple[int, int, str]] = []
    for m in items:
        mid = by_key.pop((m.content_hash, m.project or ""), None)
        ids.append(mid)
        if mid is not None:
            chunk_rows.extend((mid, n, literal(vec)) for n, vec in enumerate(m.chunks))
    if chunk_rows:
        execute_values(
            cur, "INSERT INTO memory_chunks (memory_id, chunk_no, embedding) VALUES %s", chunk_rows,
            template="(%s, %s, %s::vector)", page_size=500,
        )
    return ids


def replace_content(cur: Any, memory_id: int, content: str, content_hash: str, embedding: np.ndarray,
                    chunks: list[np.ndarray]) -> None:
    cur.execute(
        "UPDATE memories SET content = %s, content_hash = %s, embedding = %s, updated_at = now()"
        " WHERE id = %s",
        (content, content_hash, embedding, memory_id),
    )
    cur.execute("DELETE FROM memory_chunks WHERE memory_id = %s", (memory_id,))
    if chunks:
        execute_values(
            cur, "INSERT INTO memory_chunks (memory_id, chunk_no, embedding) VALUES %s",
            [(memory_id, n, v) for n, v in enumerate(chunks)], template="(%s, %s, %s::vector)",
        )


def set_tags(cur: Any, memory_id: int, tags: list[str]) -> None:
    cur.execute("UPDATE memories SET tags = %s, updated_at = now() WHERE id = %s", (tags, memory_id))


def get(cur: Any, memory_id: int) -> dict[str, Any] | None:
    cur.execute(f"SELECT {COLUMNS} FROM memories m WHERE m.id = %s", (memory_id,))
    row = cur.fetchone()
    return row_to_dict(row) if row else None


def get_many(cur: Any, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    cur.execute(f"SELECT {COLUMNS} FROM memories m WHERE m.id = ANY(%s)", (list(ids),))
    return {row[0]: row_to_dict(row) for row in cur.fetchall()}


def nearest(cur: Any, vector: np.ndarray, project: str | None, limit: int = 1,
            exclude_id: int | None = None) -> list[tuple[int, float, str]]:
    """Closest active memories (id, cosine similarity, content) by the memory vector."""
    where, params = Filters(project=project).sql()
    if exclude_id is not None:
        where += " AND m.id <> %s"
        params.append(exclude_id)
    v = literal(vector)
    cur.execute(
        f"SELECT id, 1 - dist, content FROM (SELECT m.id, v.embedding <=> %s::vector AS dist, m.content"
        f" FROM memory_vectors v JOIN memories m ON m.id = v.memory_id WHERE v.chunk_no = -1 AND {where}"
        f" ORDER BY v.embedding <=> %s::vector LIMIT %s) t ORDER BY dist",
        [v, *params, v, limit],
    )
    return [(r[0], float(r[1]), r[2]) for r in cur.fetchall()]


HNSW_EF_MAX = 1000  # pgvector's largest hnsw.ef_search
# A project this small (active memories) is scanned exactly rather than through the HNSW graph, where a
# filter on a few percent of the vectors makes the scan walk far past the nearest ones. At 100k memories
# (bench/search.py's corpus) an exact scan costs about 0.75 µs a vector; HNSW with a filter asking for 100
# rows 7-25 ms in projects of 3-12k memories, for 20 rows 4-5 ms: the break-even grows with the rows asked.
EXACT_BASE, EXACT_PER_ROW = 4000, 80


def semantic(cur: Any, vector: np.ndarray, flt: Filters, limit: int, per_result: int = 2, fill: bool = True,
             project_size: int | None = None) -> list[tuple[int, float]]:
    """(id, similarity) of the `limit` memories nearest to `vector` by the best of their vectors (a memory's
    own and its windows'), from one scan of `memory_vectors`: the nearest `limit × per_result` vectors
    grouped by memory, read again four times as deep when windows of the same memories leave fewer than
    `limit` (unless `fill` is off: candidates for hybrid search). The project filter is applied in the scan,
    exactly over the project's vectors when it is small (`project_size`: its active memories, looked up when
    not given); the other filters (active, dates, tags…) by joining the memory."""
    where, params = flt.sql()
    v = literal(vector)
    fetch = max(1, limit * per_result)
    exact = False
    if flt.project is not None:
        if project_size is None:
            cur.execute("SELECT coalesce(sum(docs), 0) FROM memory_counts WHERE project = %s", (flt.project,))
            project_size = int(cur.fetchone()[0])
        exact = project_size <= EXACT_BASE + EXACT_PER_ROW * fetch
    while True:
        if exact:  # every vector of the project, nearest first; then whether each memory passes the filter
            cur.execute(
                "SELECT set_config('max_parallel_workers_per_gather', '0', true);"
                f""" SELECT x.memory_id, x.dist, m.id IS NOT NULL FROM (
                        SELECT memory_id, dist FROM (
                            SELECT v.memory_id, v.embedding <=> %s::vector AS dist FROM memory_vectors v
                            WHERE v.project = %s OFFSET 0) a
                        ORDER BY dist LIMIT %s) x
                     LEFT JOIN memories m ON m.id = x.memory_id AND {where}""",
                [v, flt.project, fetch, *params],
            )
            fetched = cur.fetchall()
            rows = [(mid, dist) for mid, dist, ok in fetched if ok]
            more = len(fetched) == fetch
        else:
            ef = min(HNSW_EF_MAX, fetch)
            widen = ef > HNSW_EF_SEARCH  # a wider beam for this transaction rather than iterative rounds
            scan_project = "v.project = %s AND " if flt.project is not None else ""
            cur.execute(
                ("SELECT set_config('hnsw.ef_search', %s, true); " if widen else "")
                + f"""SELECT v.memory_id, v.embedding <=> %s::vector AS dist
                    FROM memory_vectors v JOIN memories m ON m.id = v.memory_id
                    WHERE {scan_project}{where} ORDER BY v.embedding <=> %s::vector LIMIT %s""",
                [*([str(ef)] if widen else []), v, *([flt.project] if scan_project else []), *params, v, fetch],
            )
            rows = cur.fetchall()
            more = len(rows) == fetch
        best: dict[int, float] = {}
        for mid, dist in rows:  # (iterative scans return rows nearly, not strictly, in order)
            best[mid] = min(float(dist), best.get(mid, 2.0))
        if not fill or len(best) >= limit or not more:
            break
        fetch *= 4
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:limit]
    return [(mid, 1 - dist) for mid, dist in ranked]


Stats = tuple[dict[str, int], int, float, float, int]  # what keyword_stats returns


def bm25(cur: Any, query: str, flt: Filters, limit: int, k1: float = 1.2, b: float = 0.75,
         stats: Stats | None = None) -> tuple[list[tuple[int, float]], int]:
    """(id, Okapi BM25 score) over PostgreSQL's english lexemes, idf and average length over the filtered
    memories, and how many unfolded document-frequency deltas were summed. Filters the postings carry
    (project, dates) read the best postings only (`bm25_top`); others (tag, source, session, status) score
    the matching memories' tsvectors (`bm25_exact`). Both give the same scores."""
    if flt.status == "active" and flt.tag is None and flt.source is None and flt.session_id is None:
        return bm25_top(cur, query, flt, limit, k1, b, stats)
    return bm25_exact(cur, query, flt, limit, k1, b), 0


FOLD_AT = 2000  # document-frequency deltas a query may sum before it asks for them to be folded


@dataclass
class _Term:
    lexeme: str
    idf: float
    batch: int
    last: tuple[float, int] | None = None   # (w, memory_id) of the last posting read: the keyset
    top: float | None = None                # the first (best) posting's weight
    done: bool = False

    def bound(self, factor: float, k1: float) -> float:
        """The most an unread posting of this term can add to a score."""
        if self.done:
            return 0.0
        return self.idf * (self.last[0] if self.last else k1 + 1) * factor


def keyword_stats(cur: Any, query: str, flt: Filters) -> Stats | None:
    """The query's lexemes with their document frequencies, the corpus size and average length under the
    filter, the postings' reference length and how many unfolded deltas were summed. Counters (one
    statement, so one snapshot of counters and deltas), except under a date filter, which has none."""
    if flt.since is None and flt.before is None:
        cur.execute(
            """
            WITH q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %(q)s))) AS lexeme),
            d AS (SELECT q.lexeme,
                         coalesce((SELECT sum(f.df) FROM memory_df f WHERE f.lexeme = q.lexeme
                                   AND (%(p)s::text IS NULL OR f.project = %(p)s)), 0)
                         + coalesce((SELECT sum(x.delta) FROM memory_df_delta x WHERE x.lexeme = q.lexeme
                                     AND (%(p)s::text IS NULL OR x.project = %(p)s)), 0) AS df,
                         (SELECT count(*) FROM memory_df_delta x WHERE x.lexeme = q.lexeme) AS pending
                  FROM q)
            SELECT (SELECT coalesce(sum(docs), 0) FROM memory_counts
                    WHERE %(p)s::text IS NULL OR project = %(p)s),
                   (SELECT coalesce(sum(total_len), 0) FROM memory_counts
                    WHERE %(p)s::text IS NULL OR project = %(p)s),
                   (SELECT avgdl FROM keyword_params),
                   coalesce((SELECT json_object_agg(lexeme, df) FROM d WHERE df > 0), '{}'),
                   (SELECT coalesce(sum(pending), 0) FROM d)
            """,
            {"q": query, "p": flt.project},
        )
        n, total, ref, dfs, pending = cur.fetchone()
    else:
        where, params = Filters(project=flt.project, since=flt.since, before=flt.before).sql()
        cur.execute(
            f"""
            WITH q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme)
            SELECT (SELECT count(*) FROM memories m WHERE {where}),
                   (SELECT coalesce(sum(m.doc_len), 0) FROM memories m WHERE {where}),
                   (SELECT avgdl FROM keyword_params),
                   coalesce((SELECT json_object_agg(lexeme, df) FROM (
                       SELECT q.lexeme, (SELECT count(*) FROM memory_terms t WHERE t.lexeme = q.lexeme AND t.active
                                         AND (%s::text IS NULL OR t.project = %s)
                                         AND (%s::timestamptz IS NULL OR t.created_at >= %s)
                                         AND (%s::timestamptz IS NULL OR t.created_at < %s)) AS df
                       FROM q) d WHERE df > 0), '{{}}'),
                   0
            """,
            [query, *params, *params, flt.project, flt.project, flt.since, flt.since, flt.before, flt.before],
        )
        n, total, ref, dfs, pending = cur.fetchone()
    if not n or not dfs:
        return None
    return {k: int(v) for k, v in dfs.items()}, int(n), max(float(total) / int(n), 1.0), float(ref), int(pending)


def bm25_top(cur: Any, query: str, flt: Filters, limit: int, k1: float = 1.2, b: float = 0.75,
             stats: Stats | None = None) -> tuple[list[tuple[int, float]], int]:
    """The exact BM25 top `limit` (the same ids and scores as `bm25_exact`) without scoring every matching
    memory. First the best postings of every lexeme (highest weight first) and the exact scores of the
    likeliest memories among them: that ends the search when no unread posting can lift a memory into the
    top (a threshold algorithm), and otherwise gives a k-th score to prune with (MaxScore, `_maxscore`).
    Returns the scores and the number of unfolded document-frequency deltas the statistics summed. `stats`:
    this query's `keyword_stats` when the caller has them already."""
    stats = stats or keyword_stats(cur, query, flt)
    if stats is None:
        return [], 0
    dfs, n, avgdl, ref, pending = stats
    factor = max(1.0, avgdl / ref) * (1 + 1e-6)  # bounds a true weight by its stored one (see migration 009)
    first = max(64, 2 * limit)
    terms = {t: _Term(t, math.log(1 + (n - df + 0.5) / (df + 0.5)), first) for t, df in sorted(dfs.items())}
    lexemes = list(terms)

    def weight(tf: int, dl: int) -> float:
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    def upper(c: dict[str, float], bounds: dict[str, float]) -> float:
        return sum(c.values()) + sum(bounds.values()) - sum(bounds[t] for t in c)

    known: dict[int, dict[str, float]] = {}   # memory → contribution of each term seen for it
    exact: dict[int, float] = {}              # memories whose every term is known
    rounds = TA_ROUNDS if len(terms) <= TA_MAX_TERMS else 0  # a pasted page: straight to one SQL statement
    for rnd in range(rounds + 1):
        bounds = {t: x.bound(factor, k1) for t, x in terms.items()}
        kth = _kth(known, exact, limit)
        if rnd and (sum(bounds.values()) <= kth or all(x.done for x in terms.values())):
            # no unread posting can lift a memory into the top: settle the candidates that still could
            open_ids = [i for i, c in known.items() if i not in exact and upper(c, bounds) >= kth]
            if open_ids:
                _resolve(cur, open_ids, lexemes, terms, weight, known, exact)
            return sorted(exact.items(), key=lambda kv: (-round(kv[1], TIE_DIGITS), kv[0]))[:limit], pending
        if rnd == rounds:
            break
        top = max(bounds.values())  # read the terms that hold the most of the remaining bound
        _read(cur, [x for t, x in terms.items() if not x.done and bounds[t] >= top / 2], flt,
              weight, known)
        # settle the likeliest candidates, so the k-th score rises and reading can stop
        bounds = {t: x.bound(factor, k1) for t, x in terms.items()}
        ub = {i: upper(c, bounds) for i, c in known.items() if i not in exact}
        best = heapq.nlargest(max(2 * limit, 32), ub, key=ub.__getitem__)
        if best:
            _resolve(cur, best, lexemes, terms, weight, known, exact)
    # Many terms of middling frequency (a question in plain words): score in SQL only the memories that hold
    # a term no top memory can do without (MaxScore). Terms whose bounds together stay under the k-th score
    # found so far cannot place a memory alone; they only add to the candidates' scores.
    kth = _kth(known, exact, limit)
    ranked = sorted(terms.values(), key=lambda x: x.idf * (x.top or k1 + 1))
    optional: list[_Term] = []
    rest = 0.0
    for x in ranked:
        cap = x.idf * (x.top or k1 + 1) * factor
        if rest + cap >= kth:
            break
        optional.append(x)
        rest += cap
    needed = [x for x in ranked if x not in optional]
    joined: list[_Term] = []
    if optional and sum(dfs[x.lexeme] for x in optional) <= JOIN_RATIO * sum(dfs[x.lexeme] for x in needed):
        joined, optional, rest = optional, [], 0.0
    return _maxscore(cur, needed, joined, optional, rest, kth, flt, limit, k1, b, avgdl), pending


TA_ROUNDS = 1  # threshold rounds before MaxScore; one is best (docs/benchmarks.md: 1, 2, 3 measured)
TA_MAX_TERMS = 24
TIE_DIGITS = 9  # scores equal to 9 decimals are ties, ordered by id (sums in another order differ in the last bit)


def _kth(known: dict[int, dict[str, float]], exact: dict[int, float], limit: int) -> float:
    """A lower bound of the k-th best score: the k-th best of the scores known so far (partial sums are
    lower bounds of their memories' scores)."""
    lows = heapq.nlargest(limit, (exact.get(i, sum(c.values())) for i, c in known.items()))
    # less a hair: the same sum in another order (or in SQL) can come out one bit lower
    return lows[-1] * (1 - 1e-9) if len(lows) >= limit else -1.0


# Optional terms' postings are either probed for each candidate (one index descent, about 5 µs) or read in
# full alongside the needed terms' (about 0.45 µs a posting, and no probes). Read in full when the optional
# terms hold at most this many times the needed terms' postings: on bench/search.py's 100k corpus, ratios
# 2-8 cut hybrid p50 by about 12% and keyword p95 by 20%; chosen on half the queries and checked on the
# other half (docs/benchmarks.md).
JOIN_RATIO = 4.0


def _maxscore(cur: Any, needed: list[_Term], joined: list[_Term], optional: list[_Term], rest: float, kth: float,
              flt: Filters, limit: int, k1: float, b: float, avgdl: float) -> list[tuple[int, float]]:
    """BM25 over every posting of the needed terms; the optional terms' postings are read only for the
    memories that can still reach the k-th score with them. The joined terms' postings are read in full, but
    only add to the scores of memories that hold a needed term."""
    cur.execute(
        """
        WITH need AS (SELECT * FROM unnest(%(nl)s::text[], %(ni)s::float8[], %(ng)s::bool[]) AS s(lexeme, idf, gen)),
        opt AS (SELECT * FROM unnest(%(ol)s::text[], %(oi)s::float8[]) AS s(lexeme, idf)),
        part AS MATERIALIZED (
            SELECT t.memory_id, sum(need.idf * t.tf * (%(k1)s::float8 + 1)
                                   / (t.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * t.doc_len
                                                              / %(avgdl)s::float8))) AS score
            FROM need JOIN memory_terms t ON t.lexeme = need.lexeme
            WHERE t.active AND (%(p)s::text IS NULL OR t.project = %(p)s)
              AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
              AND (%(before)s::timestamptz IS NULL OR t.created_at < %(before)s)
            GROUP BY t.memory_id HAVING bool_or(need.gen) AND sum(need.idf * t.tf * (%(k1)s::float8 + 1)
                                   / (t.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * t.doc_len
                                                              / %(avgdl)s::float8))) + %(rest)s::float8
                                    >= %(kth)s::float8),
        seed AS (
            SELECT c.memory_id, c.score + coalesce((
                SELECT sum(opt.idf * t.tf * (%(k1)s::float8 + 1)
                           / (t.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * t.doc_len
                                                      / %(avgdl)s::float8)))
                FROM memory_terms t JOIN opt ON opt.lexeme = t.lexeme
                WHERE t.memory_id = c.memory_id AND t.lexeme = ANY(%(ol)s::text[])), 0) AS score
            FROM (SELECT * FROM part ORDER BY score DESC LIMIT %(seed)s) c),
        bar AS (SELECT greatest(%(kth)s::float8, coalesce((
            SELECT score FROM seed ORDER BY score DESC OFFSET %(lim)s - 1 LIMIT 1), %(kth)s::float8)) AS v)
        SELECT f.memory_id, f.score FROM (
            SELECT c.memory_id, c.score + coalesce((
                SELECT sum(opt.idf * t.tf * (%(k1)s::float8 + 1)
                           / (t.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * t.doc_len
                                                      / %(avgdl)s::float8)))
                FROM memory_terms t JOIN opt ON opt.lexeme = t.lexeme
                WHERE t.memory_id = c.memory_id AND t.lexeme = ANY(%(ol)s::text[])), 0) AS score
            FROM part c, bar WHERE c.score + %(rest)s::float8 >= bar.v) f
        ORDER BY round(f.score::numeric, %(tie)s) DESC, f.memory_id LIMIT %(lim)s
        """,
        {"nl": [x.lexeme for x in needed + joined], "ni": [x.idf for x in needed + joined],
         "ng": [True] * len(needed) + [False] * len(joined), "ol": [x.lexeme for x in optional],
         "oi": [x.idf for x in optional], "k1": k1, "b": b, "avgdl": avgdl, "p": flt.project,
         "since": flt.since, "before": flt.before, "rest": rest * (1 + 1e-9), "kth": kth, "lim": limit,
         "seed": 4 * limit, "tie": TIE_DIGITS},
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]


def _read(cur: Any, step: list[_Term], flt: Filters, weight: Any, known: dict[int, dict[str, float]]) -> None:
    """The next batch of postings of each term in `step`, best weight first, under the filter."""
    cur.execute(
        """
        SELECT s.lexeme, x.memory_id, x.w, x.tf, x.doc_len
        FROM unnest(%(lex)s::text[], %(w)s::real[], %(id)s::bigint[], %(lim)s::int[]) AS s(lexeme, w, id, lim)
        CROSS JOIN LATERAL (
            SELECT t.memory_id, t.w, t.tf, t.doc_len FROM memory_terms t
            WHERE t.lexeme = s.lexeme AND t.active AND (%(p)s::text IS NULL OR t.project = %(p)s)
              AND (s.w IS NULL OR (t.w, t.memory_id) < (s.w, s.id))
              AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
              AND (%(before)s::timestamptz IS NULL OR t.created_at < %(before)s)
            ORDER BY t.w DESC, t.memory_id DESC LIMIT s.lim) x
        """,
        {"lex": [x.lexeme for x in step], "w": [x.last[0] if x.last else None for x in step],
         "id": [x.last[1] if x.last else None for x in step], "lim": [x.batch for x in step],
         "p": flt.project, "since": flt.since, "before": flt.before},
    )
    got: dict[str, int] = {}
    by = {x.lexeme: x for x in step}
    for lexeme, mid, w, tf, dl in cur.fetchall():
        term = by[lexeme]
        known.setdefault(mid, {})[lexeme] = term.idf * weight(tf, dl)
        term.last = (float(w), mid)
        if term.top is None:
            term.top = float(w)
        got[lexeme] = got.get(lexeme, 0) + 1
    for x in step:
        if got.get(x.lexeme, 0) < x.batch:
            x.done = True
        x.batch = min(x.batch * 4, 16384)


def _resolve(cur: Any, ids: list[int], lexemes: list[str], terms: dict[str, _Term], weight: Any,
             known: dict[int, dict[str, float]], exact: dict[int, float]) -> None:
    """Exact scores of these memories: every query term's posting in each (random access)."""
    cur.execute("SELECT memory_id, lexeme, tf, doc_len FROM memory_terms WHERE memory_id = ANY(%s)"
                " AND lexeme = ANY(%s)", (ids, lexemes))
    for mid, lexeme, tf, dl in cur.fetchall():
        known[mid][lexeme] = terms[lexeme].idf * weight(tf, dl)
    for mid in ids:
        exact[mid] = math.fsum(known[mid][t] for t in sorted(known[mid]))


def bm25_of(cur: Any, query: str, flt: Filters, ids: Sequence[int], k1: float = 1.2, b: float = 0.75,
            stats: Stats | None = None) -> dict[int, float]:
    """Exact BM25 (as `bm25_top` scores it, under the same project/date statistics) of the given memories,
    from their postings of the query's lexemes; memories holding none are left out. `ids`: active memories
    (the search's candidates), so the lookup stays on the (memory, lexeme) index."""
    if not ids:
        return {}
    stats = stats or keyword_stats(cur, query, flt)
    if stats is None:
        return {}
    dfs, n, avgdl, _, _ = stats
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in dfs.items()}
    cur.execute("SELECT memory_id, lexeme, tf, doc_len FROM memory_terms WHERE memory_id = ANY(%s)"
                " AND lexeme = ANY(%s)", (list(ids), sorted(idf)))
    parts: dict[int, dict[str, float]] = {}
    for mid, lexeme, tf, dl in cur.fetchall():
        parts.setdefault(mid, {})[lexeme] = idf[lexeme] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    return {mid: math.fsum(c[t] for t in sorted(c)) for mid, c in parts.items()}


def fold_df(cur: Any) -> int:
    """Move the pending document-frequency deltas into the counters; 0 when another fold is running."""
    cur.execute("SELECT memory_df_fold()")
    return int(cur.fetchone()[0])


def bm25_exact(cur: Any, query: str, flt: Filters, limit: int, k1: float = 1.2, b: float = 0.75
               ) -> list[tuple[int, float]]:
    """BM25 over the tsvectors of every filtered memory holding a query term; document frequencies come from
    those candidates, corpus statistics from a scan of the filtered memories."""
    where, params = flt.sql()
    cur.execute(
        f"""
        WITH q AS (SELECT tsvector_to_array(to_tsvector('english', %s)) AS lex,
                          regexp_replace(plainto_tsquery('english', %s)::text, ' (&|<->|<[0-9]+>) ', ' | ', 'g') AS orq),
        cand AS MATERIALIZED (
            SELECT m.id, m.doc_len, m.fts FROM memories m, q
            WHERE q.orq <> '' AND m.fts @@ q.orq::tsquery AND {where}),
        tf AS (
            SELECT c.id, c.doc_len, u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf
            FROM cand c, q, unnest(c.fts) u WHERE u.lexeme = ANY(q.lex)),
        df AS (SELECT lexeme, count(*) AS df FROM tf GROUP BY lexeme),
        stats AS (SELECT count(*) AS n, greatest(avg(m.doc_len), 1) AS avgdl FROM memories m WHERE {where})
        SELECT id, score FROM (
            SELECT tf.id, sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                              * tf.tf * (%s + 1) / (tf.tf + %s * (1 - %s + %s * tf.doc_len / stats.avgdl))) AS score
            FROM tf JOIN df USING (lexeme) CROSS JOIN stats GROUP BY tf.id) s
        ORDER BY round(score::numeric, %s) DESC, id LIMIT %s
        """,
        [query, query, *params, *params, k1, k1, b, b, TIE_DIGITS, limit],
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]


def substring(cur: Any, pattern: str, flt: Filters, limit: int) -> list[tuple[int, float]]:
    """Fallback for queries with no searchable words (symbols, code fragments): escaped ILIKE."""
    where, params = flt.sql()
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    cur.execute(
        f"SELECT m.id FROM memories m WHERE {where} AND m.content ILIKE %s ESCAPE '\\'"
        f" ORDER BY m.created_at DESC LIMIT %s",
        [*params, f"%{escaped}%", limit],
    )
    return [(r[0], 1.0) for r in cur.fetchall()]


def list_page(cur: Any, flt: Filters, limit: int, offset: int, newest_first: bool = True
              ) -> tuple[int, list[dict[str, Any]]]:
    """A page in time order with the total. The page's ids are found first (an index-only scan where the
    filters allow it, so a deep OFFSET skips index entries, not rows), then only those rows are read."""
    where, params = flt.sql()
    cur.execute(f"SELECT count(*) FROM memories m WHERE {where}", params)
    total = cur.fetchone()[0]
    order = "DESC" if newest_first else "ASC"
    cur.execute(
        f"SELECT {COLUMNS} FROM memories m JOIN (SELECT m.id FROM memories m WHERE {where}"
        f" ORDER BY m.created_at {order}, m.id {order} LIMIT %s OFFSET %s) page ON page.id = m.id"
        f" ORDER BY m.created_at {order}, m.id {order}",
        [*params, limit, offset],
    )
    return total, [row_to_dict(r) for r in cur.fetchall()]


def set_deleted(cur: Any, memory_id: int, deleted: bool) -> None:
    cur.execute(
        "UPDATE memories SET deleted_at = CASE WHEN %s THEN now() ELSE NULL END, updated_at = now()"
        " WHERE id = %s",
        (deleted, memory_id),
    )


def file_version(cur: Any, source: str, project: str | None, when: datetime) -> list[tuple[int, str, bool]]:
    """(id, content hash, deleted) of the memories a text import made from one version of a file: its
    source and the file's modification time (to the millisecond) as their time."""
    cur.execute("SELECT id, content_hash, deleted_at IS NOT NULL FROM memories WHERE source = %s"
                " AND coalesce(project, '') = coalesce(%s, '') AND tags @> ARRAY['text-import']::text[]"
                " AND created_at BETWEEN %s - interval '1 millisecond' AND %s + interval '1 millisecond'",
                (source, project, when, when))
    return [(int(r[0]), str(r[1]), bool(r[2])) for r in cur.fetchall()]


def hashes_with_source(cur: Any, source: str, project: str | None, hashes: Sequence[str]
                       ) -> list[tuple[int, str, bool]]:
    """(id, hash, deleted) of memories with this source whose content hash is among `hashes`."""
    cur.execute("SELECT id, content_hash, deleted_at IS NOT NULL FROM memories WHERE source = %s"
                " AND coalesce(project, '') = coalesce(%s, '') AND content_hash = ANY(%s)",
                (source, project, list(hashes)))
    return [(int(r[0]), str(r[1]), bool(r[2])) for r in cur.fetchall()]


def retime(cur: Any, ids: Sequence[int], when: datetime) -> None:
    """Chunks carried over to a new version of their file take that version's time."""
    cur.execute("UPDATE memories SET created_at = %s, deleted_at = NULL, updated_at = now() WHERE id = ANY(%s)",
                (when, list(ids)))


def active_by_source(cur: Any, sources: Sequence[str]) -> dict[str, int]:
    """source → id of the newest active memory with that exact source."""
    cur.execute("SELECT DISTINCT ON (source) source, id FROM memories"
                " WHERE source = ANY(%s) AND deleted_at IS NULL ORDER BY source, id DESC", (list(sources),))
    return {r[0]: int(r[1]) for r in cur.fetchall()}


def active_with_source_prefix(cur: Any, prefix: str) -> list[tuple[int, str]]:
    """(id, source) of active memories whose source starts with `prefix`."""
    cur.execute("SELECT id, source FROM memories WHERE deleted_at IS NULL AND starts_with(source, %s)"
                " ORDER BY id", (prefix,))
    return [(int(r[0]), str(r[1])) for r in cur.fetchall()]


def unsupersede(cur: Any, memory_id: int) -> None:
    cur.execute("UPDATE memories SET superseded_by = NULL, updated_at = now() WHERE id = %s", (memory_id,))


def purge(cur: Any, memory_id: int) -> bool:
    cur.execute("DELETE FROM memories WHERE id = %s AND deleted_at IS NOT NULL", (memory_id,))
    return bool(cur.rowcount)


def purge_deleted(cur: Any) -> int:
    cur.execute("DELETE FROM memories WHERE deleted_at IS NOT NULL")
    return int(cur.rowcount)


def bulk_matches(cur: Any, flt: Filters, sample: int) -> tuple[int, list[dict[str, Any]]]:
    return list_page(cur, flt, sample, 0)


def bulk_soft_delete(cur: Any, flt: Filters) -> int:
    where, params = flt.sql()
    cur.execute(
        f"UPDATE memories m SET deleted_at = now(), updated_at = now() WHERE {where}", params
    )
    return int(cur.rowcount)


def duplicate_pairs(cur: Any, project: str | None, threshold: float, scan_limit: int, neighbours: int = 3
                    ) -> list[tuple[int, int, float]]:
    """Near-duplicate pairs: each of the newest `scan_limit` memories probes the HNSW index."""
    where, params = Filters(project=project).sql()
    where2 = where.replace("m.", "n.")
    cur.execute(
        f"""
        SELECT a.id, b.id, 1 - b.dist FROM
          (SELECT m.id, m.embedding FROM memories m WHERE {where} ORDER BY m.created_at DESC LIMIT %s) a
        CROSS JOIN LATERAL (
          SELECT n.id, v.embedding <=> a.embedding AS dist FROM memory_vectors v JOIN memories n ON n.id = v.memory_id
          WHERE v.chunk_no = -1 AND {where2} AND n.id <> a.id ORDER BY v.embedding <=> a.embedding LIMIT %s) b
        WHERE 1 - b.dist >= %s
        """,
        [*params, scan_limit, *params, neighbours, threshold],
    )
    return [(r[0], r[1], float(r[2])) for r in cur.fetchall()]


def tag_counts(cur: Any) -> list[tuple[str, int]]:
    cur.execute(
        f"SELECT t, count(*) FROM memories m, unnest(m.tags) t WHERE {ACTIVE}"
        " GROUP BY t ORDER BY count(*) DESC, t"
    )
    return [(r[0], int(r[1])) for r in cur.fetchall()]


def similarities(cur: Any, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
    """Exact cosine similarity of the given memories to `vector` (best of memory and chunk vectors)."""
    if not ids:
        return {}
    cur.execute(
        "SELECT memory_id, 1 - min(embedding <=> %s::vector) FROM memory_vectors WHERE memory_id = ANY(%s)"
        " GROUP BY memory_id",
        (literal(vector), list(ids)),
    )
    return {r[0]: float(r[1]) for r in cur.fetchall()}


def newest_with_tag(cur: Any, tag: str | None, project: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest active memories carrying `tag` (any when None), optionally in one project."""
    return list_page(cur, Filters(project=project, tag=tag), limit, 0)[1]


def project_for_path(cur: Any, path: str) -> str | None:
    """The project whose recorded cwd is `path` or the nearest folder above it."""
    cur.execute(
        "SELECT project FROM imported_sessions WHERE %s = cwd OR %s LIKE replace(replace(replace(cwd,"
        " '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '/%%' ORDER BY length(cwd) DESC LIMIT 1",
        (path, path),
    )
    row = cur.fetchone()
    return row[0] if row else None


def session_neighbours(cur: Any, ids: Sequence[int]) -> dict[int, tuple[int | None, int | None]]:
    """For memories that belong to a session: the active memories just before and after them in it."""
    if not ids:
        return {}
    cur.execute(
        """
        SELECT c.id,
               (SELECT p.id FROM memories p WHERE p.session_id = c.session_id
                  AND p.deleted_at IS NULL AND p.superseded_by IS NULL
                  AND (p.created_at, p.id) < (c.created_at, c.id) ORDER BY p.created_at DESC, p.id DESC LIMIT 1),
               (SELECT n.id FROM memories n WHERE n.session_id = c.session_id
                  AND n.deleted_at IS NULL AND n.superseded_by IS NULL
                  AND (n.created_at, n.id) > (c.created_at, c.id) ORDER BY n.created_at, n.id LIMIT 1)
        FROM memories c WHERE c.id = ANY(%s) AND c.session_id IS NOT NULL
          AND c.deleted_at IS NULL AND c.superseded_by IS NULL
        """,
        (list(ids),),
    )
    return {r[0]: (r[1], r[2]) for r in cur.fetchall()}


def page_after(cur: Any, flt: Filters, after: tuple[datetime, int] | None, limit: int
               ) -> list[tuple[dict[str, Any], tuple[datetime, int]]]:
    """Oldest first, the next `limit` rows after the (created_at, id) key: exports read the whole store
    in short transactions this way, without OFFSET and without holding a connection between pages."""
    where, params = flt.sql()
    if after is not None:
        where += " AND (m.created_at, m.id) > (%s, %s)"
        params += [after[0], after[1]]
    cur.execute(
        f"SELECT {COLUMNS}, m.created_at FROM memories m WHERE {where} ORDER BY m.created_at, m.id LIMIT %s",
        [*params, limit],
    )
    return [(row_to_dict(r), (r[10], r[0])) for r in cur.fetchall()]


def count(cur: Any, flt: Filters) -> int:
    where, params = flt.sql()
    cur.execute(f"SELECT count(*) FROM memories m WHERE {where}", params)
    return int(cur.fetchone()[0])


def related(cur: Any, memory_id: int, limit: int) -> list[tuple[int, float]]:
    """Active memories nearest to this memory's stored vector (never re-embedded), nearest first."""
    cur.execute("SELECT embedding::text FROM memories WHERE id = %s AND embedding IS NOT NULL", (memory_id,))
    row = cur.fetchone()
    if row is None:
        return []
    cur.execute(
        f"SELECT m.id, 1 - (v.embedding <=> %s::vector) FROM memory_vectors v JOIN memories m ON m.id = v.memory_id"
        f" WHERE v.chunk_no = -1 AND {ACTIVE} AND m.id <> %s ORDER BY v.embedding <=> %s::vector LIMIT %s",
        (row[0], memory_id, row[0], limit),
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]
