"""SQL for the import bookkeeping: files read, projects, imported sessions and the messages archive."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg2.errors
from psycopg2.extras import Json


# --- files ---------------------------------------------------------------------------------------
def file_states(cur: Any, paths: Sequence[str]) -> dict[str, tuple[int, int, int, int]]:
    """path → (size, mtime_ns, bytes_read, lines_read) for the files already read."""
    cur.execute("SELECT path, size, mtime_ns, bytes_read, lines_read FROM import_files WHERE path = ANY(%s)",
                (list(paths),))
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in cur.fetchall()}


def save_file_state(cur: Any, path: str, session_id: str | None, size: int, mtime_ns: int, bytes_read: int,
                    lines_read: int) -> None:
    cur.execute(
        "INSERT INTO import_files (path, session_id, size, mtime_ns, bytes_read, lines_read)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (path) DO UPDATE SET session_id = coalesce(import_files.session_id, EXCLUDED.session_id),"
        "  size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, bytes_read = EXCLUDED.bytes_read,"
        "  lines_read = EXCLUDED.lines_read, updated_at = now()",
        (path, session_id, size, mtime_ns, bytes_read, lines_read),
    )


def file_paths_under(cur: Any, prefix: str) -> list[str]:
    """Paths of files already read that lie under the folder `prefix` (which ends with a separator)."""
    cur.execute("SELECT path FROM import_files WHERE starts_with(path, %s) ORDER BY path", (prefix,))
    return [str(r[0]) for r in cur.fetchall()]


def forget_file(cur: Any, path: str) -> None:
    """Drop a vanished file's read state (bookkeeping only; its memories are soft-deleted by the caller)."""
    cur.execute("DELETE FROM import_files WHERE path = %s", (path,))


# --- projects ------------------------------------------------------------------------------------
def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[\\/]+", path) if s and not s.endswith(":")]


def known_project(cur: Any, cwd: str) -> str | None:
    """The project whose root is `cwd` or the nearest folder above it, if any is known."""
    cwd = cwd.rstrip("/\\") or cwd
    cur.execute("SELECT path, name FROM projects")
    inside = [(len(p), n) for p, n in cur.fetchall() if cwd == p or cwd.startswith((p + "/", p + "\\"))]
    return str(max(inside)[1]) if inside else None


def project_for_cwd(cur: Any, cwd: str) -> str:
    """The readable, unique project name for a working directory: an already known project containing it,
    else a new project named by the shortest unique tail of the path (`app`, then `work/app`)."""
    cwd = cwd.rstrip("/\\") or cwd
    known = known_project(cur, cwd)
    if known:
        return known
    segs = _segments(cwd) or [cwd]
    candidates = ["/".join(segs[-n:]) for n in range(1, len(segs) + 1)] + [cwd]
    for name in candidates:
        cur.execute("INSERT INTO projects (path, name) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING name",
                    (cwd, name))
        if cur.fetchone():
            return name
        cur.execute("SELECT name FROM projects WHERE path = %s", (cwd,))
        found = cur.fetchone()
        if found:  # another import registered this path meanwhile
            return str(found[0])
    raise RuntimeError(f"no unique project name for {cwd}")


def project_for_folder(cur: Any, folder: str, escape: Callable[[str], str]) -> str | None:
    """The known project whose root, escaped the way Claude Code names its project folders, is `folder`;
    else the project of a session whose transcript lies in that folder."""
    cur.execute("SELECT path, name FROM projects ORDER BY length(path) DESC")
    for path, name in cur.fetchall():
        if escape(path) == folder:
            return str(name)
    cur.execute("SELECT s.project FROM import_files f JOIN imported_sessions s USING (session_id)"
                " WHERE f.path LIKE %s AND s.project IS NOT NULL ORDER BY f.updated_at DESC LIMIT 1",
                ("%/" + folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%",))
    row = cur.fetchone()
    return str(row[0]) if row else None


def project_paths(cur: Any) -> dict[str, str]:
    cur.execute("SELECT name, path FROM projects")
    return {r[0]: r[1] for r in cur.fetchall()}


# --- sessions ------------------------------------------------------------------------------------
def upsert_session(cur: Any, *, session_id: str, project: str | None, cwd: str | None, git_branch: str | None,
                   title: str | None, fallback_title: str | None, source_path: str, first_at: datetime | None,
                   last_at: datetime | None, added: int) -> bool:
    """Create or grow an imported session; returns True when it is new."""
    cur.execute(
        "INSERT INTO imported_sessions (session_id, project, cwd, git_branch, title, source_path,"
        " first_message_at, last_message_at, message_count)"
        " VALUES (%(sid)s, %(project)s, %(cwd)s, %(branch)s, coalesce(%(title)s, %(fallback)s), %(path)s,"
        "  %(first)s, %(last)s, %(added)s)"
        " ON CONFLICT (session_id) DO UPDATE SET"
        "  project = coalesce(imported_sessions.project, EXCLUDED.project),"
        "  cwd = coalesce(imported_sessions.cwd, EXCLUDED.cwd),"
        "  git_branch = coalesce(imported_sessions.git_branch, EXCLUDED.git_branch),"
        "  title = coalesce(%(title)s, imported_sessions.title, %(fallback)s),"
        "  source_path = coalesce(imported_sessions.source_path, EXCLUDED.source_path),"
        "  first_message_at = least(imported_sessions.first_message_at, EXCLUDED.first_message_at),"
        "  last_message_at = greatest(imported_sessions.last_message_at, EXCLUDED.last_message_at),"
        "  message_count = imported_sessions.message_count + EXCLUDED.message_count"
        " RETURNING (xmax = 0)",
        {"sid": session_id, "project": project, "cwd": cwd, "branch": git_branch, "title": title,
         "fallback": fallback_title, "path": source_path, "first": first_at, "last": last_at, "added": added},
    )
    return bool(cur.fetchone()[0])


def known_sessions(cur: Any, session_ids: Sequence[str]) -> set[str]:
    cur.execute("SELECT session_id FROM imported_sessions WHERE session_id = ANY(%s)", (list(session_ids),))
    return {r[0] for r in cur.fetchall()}


def refresh_session_reads(cur: Any, session_ids: Iterable[str]) -> None:
    """bytes/lines read for each session = the sum over the files attributed to it."""
    cur.execute(
        "UPDATE imported_sessions s SET bytes_read = f.b, lines_read = f.l"
        " FROM (SELECT session_id, sum(bytes_read) AS b, sum(lines_read) AS l FROM import_files"
        "       WHERE session_id = ANY(%s) GROUP BY session_id) f"
        " WHERE s.session_id = f.session_id",
        (list(session_ids),),
    )


# --- messages ------------------------------------------------------------------------------------
def existing_uuids(cur: Any, uuids: Sequence[str]) -> set[str]:
    cur.execute("SELECT uuid FROM messages WHERE uuid = ANY(%s)", (list(uuids),))
    return {r[0] for r in cur.fetchall()}


def existing_replies(cur: Any, session_id: str, message_ids: Sequence[str]) -> dict[str, str]:
    """message.id → uuid of the archived message holding that API reply."""
    cur.execute("SELECT message_id, uuid FROM messages WHERE session_id = %s AND message_id = ANY(%s)",
                (session_id, list(message_ids)))
    return {r[0]: r[1] for r in cur.fetchall()}


def append_to_message(cur: Any, uuid: str, text: str, blocks: list[dict[str, Any]], kind: str) -> None:
    """Later lines of an API reply whose first lines an earlier run archived, combined as if read at once:
    prose wins the text column (non-prose parts live on in blocks), renderings are joined line by line."""
    cur.execute(
        "UPDATE messages SET text = CASE WHEN text = '' THEN %(t)s WHEN %(t)s = '' THEN text"
        "  WHEN kind = 'text' AND %(k)s = 'text' THEN text || E'\\n\\n' || %(t)s"
        "  WHEN %(k)s = 'text' THEN %(t)s WHEN kind = 'text' THEN text ELSE text || E'\\n' || %(t)s END,"
        " blocks = coalesce(blocks, '[]'::jsonb) || %(b)s::jsonb,"
        " kind = CASE WHEN %(k)s = 'text' THEN 'text' ELSE kind END WHERE uuid = %(u)s",
        {"t": text, "k": kind, "b": Json(blocks), "u": uuid},
    )


def max_seq(cur: Any, session_id: str) -> int:
    cur.execute("SELECT coalesce(max(seq), 0) FROM messages WHERE session_id = %s", (session_id,))
    return int(cur.fetchone()[0])


_MESSAGE_COLUMNS = ("session_id, uuid, parent_uuid, role, kind, text, timestamp, is_sidechain, message_id, seq,"
                    " blocks, source")


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_row(r: tuple[Any, ...]) -> str:
    """One messages row in COPY text format (NUL, which PostgreSQL text cannot hold, was removed upstream)."""
    sid, uid, parent, role, kind, text, ts, side, mid, seq, blocks, source = r
    return "\t".join((
        _esc(sid), _esc(uid), "\\N" if parent is None else _esc(parent), _esc(role), _esc(kind), _esc(text),
        "\\N" if ts is None else ts.isoformat(), "t" if side else "f", "\\N" if mid is None else _esc(mid),
        "\\N" if seq is None else str(int(seq)),
        _esc(json.dumps(blocks, ensure_ascii=False, default=str)) if blocks else "\\N",
        "\\N" if source is None else _esc(source),
    ))


def insert_messages(cur: Any, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """Rows of (session_id, uuid, parent_uuid, role, kind, text, timestamp, is_sidechain, message_id, seq,
    blocks, source); uuids already archived are skipped. Returns the uuids inserted.

    COPY straight into the table (several times faster than a multi-row INSERT for transcripts, which are
    mostly long tool output); if a uuid turns out to be archived already, the COPY is rolled back to a
    savepoint and the rows go through a staging table and INSERT … ON CONFLICT DO NOTHING instead."""
    if not rows:
        return set()
    data = "\n".join(map(_copy_row, rows)) + "\n"
    cur.execute("SAVEPOINT copy_messages")
    try:
        cur.copy_expert(f"COPY messages ({_MESSAGE_COLUMNS}) FROM STDIN", io.StringIO(data))
        cur.execute("RELEASE SAVEPOINT copy_messages")
        return {r[1] for r in rows}
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT copy_messages")
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS messages_in (session_id text, uuid text, parent_uuid text, role text,"
        " kind text, text text, timestamp timestamptz, is_sidechain boolean, message_id text, seq integer,"
        " blocks jsonb, source text) ON COMMIT DELETE ROWS"
    )
    cur.copy_expert(f"COPY messages_in ({_MESSAGE_COLUMNS}) FROM STDIN", io.StringIO(data))
    cur.execute(
        f"INSERT INTO messages ({_MESSAGE_COLUMNS}) SELECT DISTINCT ON (uuid) {_MESSAGE_COLUMNS} FROM messages_in"
        " ORDER BY uuid, seq ON CONFLICT (uuid) DO NOTHING RETURNING uuid"
    )
    found = {r[0] for r in cur.fetchall()}
    cur.execute("TRUNCATE messages_in")
    return found


def session_messages(cur: Any, session_id: str) -> list[dict[str, Any]]:
    """The archived transcript of a session in conversation order."""
    cur.execute(
        "SELECT uuid, parent_uuid, role, kind, text, timestamp, is_sidechain, blocks FROM messages"
        " WHERE session_id = %s ORDER BY seq NULLS LAST, timestamp, id",
        (session_id,),
    )
    keys = ("uuid", "parent_uuid", "role", "kind", "text", "timestamp", "is_sidechain", "blocks")
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


# --- browsing (REST) -----------------------------------------------------------------------------
_STATE = ("CASE WHEN s.distilled THEN 'distilled' WHEN s.distill_failures >= %(cap)s THEN 'capped'"
          " WHEN s.message_count >= %(min)s THEN 'pending' ELSE 'too_short' END")
_SESSION_KEYS = ("session_id", "project", "title", "cwd", "git_branch", "first_message_at", "last_message_at",
                 "message_count", "imported_at", "distill_state", "distill_failures", "distilled_at",
                 "signals_extracted", "behavior_extracted", "memories")


def list_sessions(cur: Any, project: str | None, limit: int, offset: int, min_messages: int, cap: int
                  ) -> tuple[int, list[dict[str, Any]]]:
    """A page of imported sessions, newest first, with their distillation state and memory count."""
    args = {"p": project, "lim": limit, "off": offset, "min": min_messages, "cap": cap}
    cur.execute("SELECT count(*) FROM imported_sessions s WHERE %(p)s::text IS NULL OR s.project = %(p)s", args)
    total = int(cur.fetchone()[0])
    cur.execute(
        "SELECT s.session_id, s.project, s.title, s.cwd, s.git_branch, s.first_message_at, s.last_message_at,"
        f" s.message_count, s.imported_at, {_STATE}, s.distill_failures, s.distilled_at, s.signals_extracted,"
        " s.behavior_extracted, (SELECT count(*) FROM memories m WHERE m.session_id = s.session_id)"
        " FROM imported_sessions s WHERE %(p)s::text IS NULL OR s.project = %(p)s"
        " ORDER BY s.last_message_at DESC NULLS LAST, s.session_id LIMIT %(lim)s OFFSET %(off)s",
        args,
    )
    return total, [dict(zip(_SESSION_KEYS, r, strict=True)) for r in cur.fetchall()]


def get_session(cur: Any, session_id: str, min_messages: int, cap: int) -> dict[str, Any] | None:
    cur.execute(
        "SELECT s.session_id, s.project, s.title, s.cwd, s.git_branch, s.first_message_at, s.last_message_at,"
        f" s.message_count, s.imported_at, {_STATE}, s.distill_failures, s.distilled_at, s.signals_extracted,"
        " s.behavior_extracted, (SELECT count(*) FROM memories m WHERE m.session_id = s.session_id)"
        " FROM imported_sessions s WHERE s.session_id = %(sid)s",
        {"sid": session_id, "min": min_messages, "cap": cap},
    )
    row = cur.fetchone()
    return dict(zip(_SESSION_KEYS, row, strict=True)) if row else None


def message_page(cur: Any, session_id: str, limit: int, offset: int, max_chars: int
                 ) -> tuple[int, list[dict[str, Any]]]:
    """A page of a session's archived transcript in conversation order; text cut at `max_chars` for
    display (the archive keeps every word; `length` is the full length)."""
    cur.execute("SELECT count(*) FROM messages WHERE session_id = %s", (session_id,))
    total = int(cur.fetchone()[0])
    cur.execute(
        "SELECT uuid, parent_uuid, role, kind, left(text, %s), length(text), timestamp, is_sidechain, seq"
        " FROM messages WHERE session_id = %s ORDER BY seq NULLS LAST, timestamp, id LIMIT %s OFFSET %s",
        (max_chars, session_id, limit, offset),
    )
    keys = ("uuid", "parent_uuid", "role", "kind", "text", "length", "timestamp", "is_sidechain", "seq")
    return total, [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


# --- where the work stopped ----------------------------------------------------------------------
def newest_sessions(cur: Any, project: str | None, limit: int) -> list[dict[str, Any]]:
    """The project's most recent main sessions (with at least one message), newest first."""
    cur.execute(
        "SELECT session_id, title, cwd, first_message_at, last_message_at FROM imported_sessions"
        " WHERE coalesce(project, '') = coalesce(%s, '') AND message_count > 0"
        " ORDER BY last_message_at DESC NULLS LAST, session_id LIMIT %s", (project, limit))
    keys = ("session_id", "title", "cwd", "first_message_at", "last_message_at")
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


def user_prompts(cur: Any, session_id: str, newest: bool, limit: int) -> list[str]:
    """The user's own prompts in a session, slash commands included (no command output, tool results,
    expanded skill prompts or sub-agent traffic)."""
    cur.execute(
        "SELECT text FROM messages WHERE session_id = %s AND role = 'user' AND NOT is_sidechain AND text <> ''"
        " AND (kind = 'text' OR (kind = 'command' AND text LIKE '%%<command-name>%%'))"
        f" ORDER BY seq {'DESC' if newest else 'ASC'} NULLS LAST, id {'DESC' if newest else 'ASC'} LIMIT %s",
        (session_id, limit))
    return [str(r[0]) for r in cur.fetchall()]


def changed_files(cur: Any, session_id: str, tools: Sequence[str], limit: int) -> list[str]:
    """Files the session's edit tools wrote, most recently changed first."""
    cur.execute(
        "SELECT f FROM (SELECT coalesce(b->'input'->>'file_path', b->'input'->>'notebook_path') f,"
        " max(m.seq) s FROM messages m,"
        " jsonb_array_elements(CASE WHEN jsonb_typeof(m.blocks) = 'array' THEN m.blocks ELSE '[]'::jsonb END) b"
        " WHERE m.session_id = %s AND m.role = 'assistant' AND NOT m.is_sidechain AND b->>'type' = 'tool_use'"
        " AND b->>'name' = ANY(%s) AND jsonb_typeof(b->'input') = 'object' GROUP BY 1) x"
        " WHERE f IS NOT NULL ORDER BY s DESC NULLS LAST LIMIT %s", (session_id, list(tools), limit))
    return [str(r[0]) for r in cur.fetchall()]


def last_todos(cur: Any, session_id: str) -> list[dict[str, Any]]:
    """The items of the session's last TodoWrite list (main thread)."""
    cur.execute(
        "SELECT b->'input'->'todos' FROM messages m,"
        " jsonb_array_elements(CASE WHEN jsonb_typeof(m.blocks) = 'array' THEN m.blocks ELSE '[]'::jsonb END) b"
        " WHERE m.session_id = %s AND m.role = 'assistant' AND NOT m.is_sidechain AND b->>'type' = 'tool_use'"
        " AND b->>'name' = 'TodoWrite' AND jsonb_typeof(b->'input'->'todos') = 'array'"
        " ORDER BY m.seq DESC NULLS LAST, m.id DESC LIMIT 1", (session_id,))
    row = cur.fetchone()
    return [t for t in row[0] if isinstance(t, dict)] if row else []


def distilled_of(cur: Any, session_ids: Sequence[str]) -> dict[str, list[str]]:
    """session → contents of its active distilled memories, oldest first."""
    cur.execute(
        "SELECT session_id, content FROM memories WHERE session_id = ANY(%s) AND deleted_at IS NULL"
        " AND tags @> ARRAY['distilled']::text[] ORDER BY created_at, id", (list(session_ids),))
    out: dict[str, list[str]] = {}
    for sid, content in cur.fetchall():
        out.setdefault(sid, []).append(content)
    return out
