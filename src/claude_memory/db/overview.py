"""SQL for the overview read models: counts, measured storage, projects, the timeline, job times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .memories import ACTIVE, Filters


def stats(cur: Any, min_messages: int = 1) -> dict[str, Any]:
    """Counts by state, project and kind of source (`claude-code/1a2b3c4d` counts as `claude-code`), each
    read from an index (no scan of the wide rows)."""
    cur.execute(
        f"SELECT coalesce(m.project, ''), split_part(coalesce(m.source, ''), '/', 1), count(*) FROM memories m"
        f" WHERE {ACTIVE} GROUP BY 1, 2"
    )
    by_project: dict[str, int] = {}
    by_source: dict[str, int] = {}
    active = 0
    for project, source, n in cur.fetchall():
        by_project[project] = by_project.get(project, 0) + int(n)
        by_source[source] = by_source.get(source, 0) + int(n)
        active += int(n)
    cur.execute("SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL")
    deleted = int(cur.fetchone()[0])
    cur.execute("SELECT count(*) FROM memories WHERE superseded_by IS NOT NULL AND deleted_at IS NULL")
    superseded = int(cur.fetchone()[0])
    return {
        "total_memories": active, "deleted": deleted, "superseded": superseded,
        "all_rows": active + deleted + superseded,
        "by_project": dict(sorted(by_project.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_source": dict(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        "sessions": session_states(cur, min_messages),
    }


def session_states(cur: Any, min_messages: int) -> dict[str, int]:
    """Imported sessions by distillation state: distilled, capped (3 failures), pending, and too short to
    be worth distilling (fewer than DISTILL_MIN_MESSAGES archived messages)."""
    cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE distilled),"
        " count(*) FILTER (WHERE NOT distilled AND distill_failures >= 3),"
        " count(*) FILTER (WHERE NOT distilled AND distill_failures < 3 AND message_count >= %s),"
        " count(*) FILTER (WHERE NOT distilled AND distill_failures < 3 AND message_count < %s)"
        " FROM imported_sessions",
        (min_messages, min_messages),
    )
    imported, distilled, capped, pending, short = cur.fetchone()
    return {"imported": int(imported), "distilled": int(distilled), "capped": int(capped),
            "pending": int(pending), "too_short": int(short)}


def storage(cur: Any) -> dict[str, int]:
    """Bytes on disk, measured by PostgreSQL: the whole database and the main tables with their indexes."""
    cur.execute(
        "SELECT pg_database_size(current_database()), pg_total_relation_size('memories'),"
        " pg_total_relation_size('memory_chunks'), pg_total_relation_size('messages'),"
        " pg_total_relation_size('imported_sessions')"
    )
    db, memories, chunks, messages, sessions = cur.fetchone()
    return {"database_bytes": int(db), "memories_bytes": int(memories), "chunks_bytes": int(chunks),
            "messages_bytes": int(messages), "sessions_bytes": int(sessions)}


def projects(cur: Any) -> list[dict[str, Any]]:
    """Every project known from memories, imported sessions or the projects table, with its counts."""
    cur.execute(
        f"""
        WITH act AS (
            SELECT m.project AS name, count(*) AS active, max(m.created_at) AS last_memory
            FROM memories m WHERE {ACTIVE} AND m.project IS NOT NULL GROUP BY m.project),
        del AS (
            SELECT project AS name, count(*) AS deleted FROM memories
            WHERE deleted_at IS NOT NULL AND project IS NOT NULL GROUP BY project),
        ses AS (
            SELECT project AS name, count(*) AS sessions, max(last_message_at) AS last_session
            FROM imported_sessions WHERE project IS NOT NULL GROUP BY project),
        names AS (SELECT name FROM act UNION SELECT name FROM del UNION SELECT name FROM ses
                  UNION SELECT name FROM projects)
        SELECT n.name, p.path, coalesce(act.active, 0), coalesce(del.deleted, 0), coalesce(ses.sessions, 0),
               greatest(act.last_memory, ses.last_session)
        FROM names n LEFT JOIN act USING (name) LEFT JOIN del USING (name) LEFT JOIN ses USING (name)
        LEFT JOIN projects p USING (name)
        ORDER BY coalesce(act.active, 0) DESC, n.name
        """
    )
    return [{"name": r[0], "path": r[1], "memories": int(r[2]), "deleted": int(r[3]), "sessions": int(r[4]),
             "last_activity": r[5].isoformat() if r[5] else None} for r in cur.fetchall()]


def unassigned(cur: Any) -> tuple[int, int]:
    """(active, deleted) memories without a project."""
    cur.execute(f"SELECT count(*) FROM memories m WHERE {ACTIVE} AND m.project IS NULL")
    a = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL AND project IS NULL")
    return int(a), int(cur.fetchone()[0])


def time_range(cur: Any, flt: Filters) -> tuple[datetime | None, datetime | None]:
    """The first and last created_at among the memories matching the filters."""
    where, params = flt.sql()
    cur.execute(f"SELECT min(m.created_at), max(m.created_at) FROM memories m WHERE {where}", params)
    lo, hi = cur.fetchone()
    return lo, hi


def timeline(cur: Any, flt: Filters, start: datetime, end: datetime, buckets: int
             ) -> list[tuple[str | None, int, int]]:
    """(project, bucket 0..buckets-1, count) over [start, end]; the last bucket includes `end`."""
    where, params = flt.sql()
    cur.execute(
        f"""
        SELECT m.project, least(width_bucket(date_part('epoch', m.created_at), date_part('epoch', %s::timestamptz),
                                             date_part('epoch', %s::timestamptz), %s), %s) - 1 AS b, count(*)
        FROM memories m WHERE {where} AND m.created_at >= %s AND m.created_at <= %s
        GROUP BY 1, 2
        """,
        [start, end, buckets, buckets, *params, start, end],
    )
    return [(r[0], int(r[1]), int(r[2])) for r in cur.fetchall()]


def job_times(cur: Any) -> dict[str, datetime | None]:
    """When an import last wrote, and when a session was last distilled or passed the behavioural pass."""
    cur.execute("SELECT (SELECT max(updated_at) FROM import_files),"
                " (SELECT max(imported_at) FROM imported_sessions),"
                " (SELECT max(distilled_at) FROM imported_sessions),"
                " (SELECT max(behavior_at) FROM imported_sessions)")
    files, sessions, distilled, behavior = cur.fetchone()
    last_import = max((t for t in (files, sessions) if t), default=None)
    return {"last_import": last_import, "last_distill": distilled, "last_behavior": behavior}
