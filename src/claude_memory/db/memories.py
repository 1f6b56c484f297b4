"""Every SQL statement over `memories` and `memory_chunks`. Values are always bound parameters;
the only composed SQL is a choice among the constant filter fragments below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from psycopg2.extras import execute_values

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
        f"SELECT id, 1 - dist, content FROM (SELECT m.id, m.embedding <=> %s::vector AS dist, m.content"
        f" FROM memories m WHERE {where} ORDER BY m.embedding <=> %s::vector LIMIT %s) t ORDER BY dist",
        [v, *params, v, limit],
    )
    return [(r[0], float(r[1]), r[2]) for r in cur.fetchall()]


def semantic(cur: Any, vector: np.ndarray, flt: Filters, limit: int) -> list[tuple[int, float]]:
    """(id, similarity) by the best of a memory's own vector and its chunk vectors, HNSW on both."""
    where, params = flt.sql()
    v = literal(vector)
    cur.execute(
        f"""
        WITH whole AS MATERIALIZED (
            SELECT m.id, m.embedding <=> %s::vector AS dist FROM memories m
            WHERE {where} ORDER BY m.embedding <=> %s::vector LIMIT %s),
        parts AS MATERIALIZED (
            SELECT c.memory_id AS id, c.embedding <=> %s::vector AS dist
            FROM memory_chunks c JOIN memories m ON m.id = c.memory_id
            WHERE {where} ORDER BY c.embedding <=> %s::vector LIMIT %s)
        SELECT id, 1 - min(dist) AS sim FROM (SELECT * FROM whole UNION ALL SELECT * FROM parts) u
        GROUP BY id ORDER BY sim DESC LIMIT %s
        """,
        [v, *params, v, limit, v, *params, v, limit * 3, limit],
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]


def bm25(cur: Any, query: str, flt: Filters, limit: int, k1: float = 1.2, b: float = 0.75
         ) -> list[tuple[int, float]]:
    """(id, Okapi BM25 score) over PostgreSQL's english lexemes, idf and average length over the filtered
    memories. Filters the postings table carries (project, dates) read only postings (`bm25_postings`);
    others (tag, source) score the matching memories' tsvectors (`bm25_exact`). Both give the same scores."""
    if flt.status == "active" and flt.tag is None and flt.source is None and flt.session_id is None:
        return bm25_postings(cur, query, flt, limit, k1, b)
    return bm25_exact(cur, query, flt, limit, k1, b)


def bm25_postings(cur: Any, query: str, flt: Filters, limit: int, k1: float = 1.2, b: float = 0.75
                  ) -> list[tuple[int, float]]:
    """BM25 from `memory_terms` (index-only reads of the query's lexemes) and maintained corpus counters."""
    if flt.since is None and flt.before is None:
        cur.execute("SELECT coalesce(sum(docs), 0), coalesce(sum(total_len), 0) FROM memory_counts"
                    " WHERE %(p)s::text IS NULL OR project = coalesce(%(p)s, '')", {"p": flt.project})
    else:
        where, params = Filters(project=flt.project, since=flt.since, before=flt.before).sql()
        cur.execute(f"SELECT count(*), coalesce(sum(m.doc_len), 0) FROM memories m WHERE {where}", params)
    n, total = cur.fetchone()
    if not n:
        return []
    cur.execute(
        """
        WITH q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', %(q)s))) AS lexeme),
        p AS MATERIALIZED (
            SELECT t.memory_id, t.lexeme, t.tf, t.doc_len FROM q JOIN memory_terms t ON t.lexeme = q.lexeme
            WHERE t.active AND (%(p)s::text IS NULL OR t.project = %(p)s)
              AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
              AND (%(before)s::timestamptz IS NULL OR t.created_at < %(before)s)),
        df AS (SELECT lexeme, count(*) AS df FROM p GROUP BY lexeme),
        stats AS (SELECT %(n)s::bigint AS n, greatest(%(total)s::numeric / %(n)s::bigint, 1) AS avgdl)
        SELECT p.memory_id, sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                               * p.tf * (%(k1)s + 1) / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.doc_len / stats.avgdl)))
                            AS score
        FROM p JOIN df USING (lexeme) CROSS JOIN stats
        GROUP BY p.memory_id ORDER BY score DESC, p.memory_id LIMIT %(lim)s
        """,
        {"q": query, "p": flt.project, "since": flt.since, "before": flt.before, "n": int(n), "total": int(total),
         "k1": k1, "b": b, "lim": limit},
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]


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
        SELECT tf.id, sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                          * tf.tf * (%s + 1) / (tf.tf + %s * (1 - %s + %s * tf.doc_len / stats.avgdl))) AS score
        FROM tf JOIN df USING (lexeme) CROSS JOIN stats
        GROUP BY tf.id ORDER BY score DESC, tf.id LIMIT %s
        """,
        [query, query, *params, *params, k1, k1, b, b, limit],
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
          SELECT n.id, n.embedding <=> a.embedding AS dist FROM memories n
          WHERE {where2} AND n.id <> a.id ORDER BY n.embedding <=> a.embedding LIMIT %s) b
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
        """
        SELECT id, 1 - min(dist) FROM (
            SELECT m.id, m.embedding <=> %(v)s::vector AS dist FROM memories m WHERE m.id = ANY(%(ids)s)
            UNION ALL
            SELECT c.memory_id, c.embedding <=> %(v)s::vector FROM memory_chunks c
            WHERE c.memory_id = ANY(%(ids)s)) u
        GROUP BY id
        """,
        {"v": literal(vector), "ids": list(ids)},
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
        f"""
        SELECT id, prev_id, next_id FROM (
            SELECT m.id, lag(m.id) OVER w AS prev_id, lead(m.id) OVER w AS next_id FROM memories m
            WHERE {ACTIVE} AND m.session_id IN (
                SELECT s.session_id FROM memories s WHERE s.id = ANY(%s) AND s.session_id IS NOT NULL)
            WINDOW w AS (PARTITION BY m.session_id ORDER BY m.created_at, m.id)) t
        WHERE id = ANY(%s)
        """,
        (list(ids), list(ids)),
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
        f"SELECT m.id, 1 - (m.embedding <=> %s::vector) FROM memories m WHERE {ACTIVE} AND m.id <> %s"
        " ORDER BY m.embedding <=> %s::vector LIMIT %s",
        (row[0], memory_id, row[0], limit),
    )
    return [(r[0], float(r[1])) for r in cur.fetchall()]
