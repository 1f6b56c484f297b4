"""SQL for the signals job: pending sessions, tool-use aggregates over the archive, pattern memories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

_TOOL_USES = (
    " FROM messages m JOIN imported_sessions s ON s.session_id = m.session_id,"
    " jsonb_array_elements(CASE WHEN jsonb_typeof(m.blocks) = 'array' THEN m.blocks ELSE '[]'::jsonb END) b"
    " WHERE s.project = %s AND NOT m.is_sidechain AND b->>'type' = 'tool_use'"
)


def pending_sessions(cur: Any, project: str | None) -> list[tuple[str, str | None]]:
    cur.execute(
        "SELECT session_id, project FROM imported_sessions WHERE NOT signals_extracted"
        " AND (%s::text IS NULL OR project = %s) ORDER BY first_message_at NULLS LAST, session_id",
        (project, project),
    )
    return [(r[0], r[1]) for r in cur.fetchall()]


def mark_extracted(cur: Any, session_ids: Sequence[str]) -> None:
    cur.execute("UPDATE imported_sessions SET signals_extracted = true WHERE session_id = ANY(%s)",
                (list(session_ids),))


def tool_counts(cur: Any, project: str) -> list[tuple[str, int, int, datetime | None]]:
    """(tool, calls, sessions, last used) for a project's main-thread tool calls."""
    cur.execute(f"SELECT b->>'name', count(*), count(DISTINCT m.session_id), max(m.timestamp) {_TOOL_USES}"
                " GROUP BY 1 ORDER BY 2 DESC", (project,))
    return [(r[0] or "?", r[1], r[2], r[3]) for r in cur.fetchall()]


def commands(cur: Any, project: str) -> list[tuple[str, str, datetime | None]]:
    """(command line, session, time) of every shell command run in a project."""
    cur.execute(f"SELECT b->'input'->>'command', m.session_id, m.timestamp {_TOOL_USES}"
                " AND b->>'name' = 'Bash' AND jsonb_typeof(b->'input') = 'object'"
                " AND b->'input'->>'command' IS NOT NULL", (project,))
    return [(r[0], r[1], r[2]) for r in cur.fetchall()]


EDIT_TOOLS = ["Edit", "MultiEdit", "Write", "NotebookEdit"]


def touched_files(cur: Any, project: str) -> list[tuple[str, str, datetime | None]]:
    """(path, session, time) of every file a tool edited or wrote in a project."""
    cur.execute(f"SELECT coalesce(b->'input'->>'file_path', b->'input'->>'notebook_path'), m.session_id,"
                f" m.timestamp {_TOOL_USES} AND jsonb_typeof(b->'input') = 'object' AND b->>'name' = ANY(%s)"
                " AND coalesce(b->'input'->>'file_path', b->'input'->>'notebook_path') IS NOT NULL",
                (project, EDIT_TOOLS))
    return [(r[0], r[1], r[2]) for r in cur.fetchall()]


def correction_texts(cur: Any, project: str) -> list[str]:
    """Contents of the project's correction memories (active or not: what was corrected stays corrected)."""
    cur.execute("SELECT content FROM memories WHERE project = %s AND tags @> ARRAY['signal:correction']::text[]",
                (project,))
    return [str(r[0]) for r in cur.fetchall()]


def find_pattern(cur: Any, project: str, kind: str) -> tuple[int, str, bool] | None:
    """(id, content, active) of a project's pattern memory of this kind, deleted ones included."""
    cur.execute(
        "SELECT id, content, deleted_at IS NULL FROM memories WHERE project = %s"
        " AND tags @> ARRAY['type:pattern', 'source:signals', %s]::text[] ORDER BY id LIMIT 1",
        (project, f"pattern:{kind}"),
    )
    row = cur.fetchone()
    return (row[0], row[1], row[2]) if row else None


def set_evidence(cur: Any, memory_id: int, evidence: int, last_seen: datetime | None) -> None:
    cur.execute("UPDATE memories SET evidence = %s, last_seen = %s WHERE id = %s"
                " AND (evidence IS DISTINCT FROM %s OR last_seen IS DISTINCT FROM %s)",
                (evidence, last_seen, memory_id, evidence, last_seen))


def record_evidence(cur: Any, rows: Sequence[tuple[int, str, datetime | None]]) -> None:
    """(memory, session, when) seen; a session counts once per memory."""
    for memory_id, session_id, seen_at in rows:
        cur.execute("INSERT INTO signal_evidence (memory_id, session_id, seen_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT (memory_id, session_id) DO NOTHING", (memory_id, session_id, seen_at))


def supportable(cur: Any, project: str | None, tag: str) -> list[dict[str, Any]]:
    """Active memories of a project carrying `tag` with every session that supports them (their own
    session and the recorded evidence) and when they were last seen."""
    cur.execute(
        "SELECT m.id, m.content, m.created_at,"
        " array_remove(array_cat(ARRAY[m.session_id], coalesce(array_agg(e.session_id), '{}')), NULL),"
        " greatest(max(e.seen_at), m.created_at)"
        " FROM memories m LEFT JOIN signal_evidence e ON e.memory_id = m.id"
        " WHERE m.deleted_at IS NULL AND m.superseded_by IS NULL AND m.tags @> ARRAY[%s]::text[]"
        " AND coalesce(m.project, '') = coalesce(%s, '') GROUP BY m.id ORDER BY m.id",
        (tag, project))
    return [{"id": r[0], "content": r[1], "created_at": r[2], "sessions": set(r[3]), "last_seen": r[4]}
            for r in cur.fetchall()]


def set_support(cur: Any, memory_id: int, evidence: int, last_seen: datetime | None, group: int | None) -> None:
    cur.execute("UPDATE memories SET evidence = %s, last_seen = %s, signal_group = %s WHERE id = %s"
                " AND (evidence IS DISTINCT FROM %s OR last_seen IS DISTINCT FROM %s"
                " OR signal_group IS DISTINCT FROM %s)",
                (evidence, last_seen, group, memory_id, evidence, last_seen, group))


def learned(cur: Any, project: str | None) -> list[dict[str, Any]]:
    """Active preference, pattern and behaviour memories (global ones and, if given, the project's)."""
    cur.execute(
        "SELECT id, content, tags, project, source, created_at, updated_at, evidence, last_seen, signal_group"
        " FROM memories"
        " WHERE deleted_at IS NULL AND superseded_by IS NULL"
        " AND tags && ARRAY['type:preference', 'type:pattern', 'type:behavior']::text[]"
        " AND (project IS NULL OR %s::text IS NULL OR project = %s)",
        (project, project),
    )
    keys = ("id", "content", "tags", "project", "source", "created_at", "updated_at", "evidence", "last_seen",
            "signal_group")
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
