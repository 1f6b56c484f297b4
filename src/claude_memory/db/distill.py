"""SQL for the LLM jobs: claiming sessions with SKIP LOCKED, failures, marking, hiding raw rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_FAILURES = 3


def claim(cur: Any, column: str, project: str | None, min_messages: int, skip: Sequence[str],
          force: bool = False) -> tuple[str, str | None, Any] | None:
    """Lock one session still to process (distill: not distilled, under the failure cap; behaviour: distilled,
    not yet processed) for the caller's transaction; other runs skip it."""
    if column == "distilled":
        where = "NOT distilled AND distill_failures < %s AND message_count >= %s"
        params: list[Any] = [MAX_FAILURES, min_messages]
    else:
        where = "distilled" + ("" if force else " AND NOT behavior_extracted")
        params = []
    cur.execute(
        f"SELECT session_id, project, last_message_at FROM imported_sessions WHERE {where}"
        " AND (%s::text IS NULL OR project = %s) AND NOT (session_id = ANY(%s))"
        " ORDER BY last_message_at NULLS LAST, session_id LIMIT 1 FOR UPDATE SKIP LOCKED",
        [*params, project, project, list(skip)],
    )
    row = cur.fetchone()
    return (row[0], row[1], row[2]) if row else None


def pending(cur: Any, column: str, project: str | None, min_messages: int, force: bool = False) -> list[str]:
    if column == "distilled":
        cur.execute("SELECT session_id FROM imported_sessions WHERE NOT distilled AND distill_failures < %s"
                    " AND message_count >= %s AND (%s::text IS NULL OR project = %s) ORDER BY 1",
                    (MAX_FAILURES, min_messages, project, project))
    else:
        cur.execute("SELECT session_id FROM imported_sessions WHERE distilled"
                    + ("" if force else " AND NOT behavior_extracted")
                    + " AND (%s::text IS NULL OR project = %s) ORDER BY 1", (project, project))
    return [r[0] for r in cur.fetchall()]


def transcript(cur: Any, session_id: str) -> list[tuple[str, str, str]]:
    """(role, kind, text) of the main-thread messages worth reading, in conversation order."""
    cur.execute(
        "SELECT role, kind, CASE WHEN kind = 'tool_use' THEN left(text, 300) ELSE text END FROM messages"
        " WHERE session_id = %s AND NOT is_sidechain AND kind IN ('text', 'tool_use', 'compact_summary')"
        " ORDER BY seq NULLS LAST, timestamp, id",
        (session_id,),
    )
    return [(r[0], r[1], r[2]) for r in cur.fetchall()]


def add_failure(cur: Any, session_id: str) -> int:
    cur.execute("UPDATE imported_sessions SET distill_failures = distill_failures + 1 WHERE session_id = %s"
                " RETURNING distill_failures", (session_id,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def reset_failures(cur: Any, session_id: str | None) -> int:
    cur.execute("UPDATE imported_sessions SET distill_failures = 0 WHERE distill_failures > 0"
                " AND (%s::text IS NULL OR session_id = %s)", (session_id, session_id))
    return int(cur.rowcount)


def mark(cur: Any, column: str, session_id: str) -> None:
    col, at = ("distilled", "distilled_at") if column == "distilled" else ("behavior_extracted", "behavior_at")
    cur.execute(f"UPDATE imported_sessions SET {col} = true, {at} = now() WHERE session_id = %s", (session_id,))


def hide_raw(cur: Any, session_id: str, replacement: int) -> int:
    """Supersede the session's raw imported memories (they stay stored; the archive keeps every word)."""
    cur.execute(
        "UPDATE memories SET superseded_by = %s, updated_at = now() WHERE session_id = %s"
        " AND superseded_by IS NULL AND deleted_at IS NULL AND NOT (tags && ARRAY['distilled', 'type:behavior',"
        " 'type:preference', 'type:pattern']::text[])",
        (replacement, session_id),
    )
    return int(cur.rowcount)


def nearest_distilled(cur: Any, vector: str, project: str | None) -> float | None:
    """Cosine similarity of the closest active distilled memory of the project (vector as pgvector text)."""
    cur.execute(
        "SELECT 1 - (v.embedding <=> %s::vector) FROM memory_vectors v JOIN memories m ON m.id = v.memory_id"
        " WHERE v.chunk_no = -1 AND m.deleted_at IS NULL AND m.superseded_by IS NULL"
        " AND m.tags @> ARRAY['distilled']::text[] AND coalesce(m.project, '') = coalesce(%s, '')"
        " ORDER BY v.embedding <=> %s::vector LIMIT 1",
        (vector, project, vector),
    )
    row = cur.fetchone()
    return float(row[0]) if row else None
