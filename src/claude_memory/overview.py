"""Read models for people (REST API and UI): counts and storage, status, projects, the timeline, imported
sessions with their archived transcripts, and a memory's related memories."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import __version__
from .db import distill as dq
from .db import memories as q
from .db import overview as oq
from .db import sessions as sq
from .db.memories import Filters
from .errors import InvalidInput, NotFound, Unavailable
from .inputs import bounded, opt_name
from .memory import MemoryService, preview

MAX_PAGE = 200
MAX_BUCKETS = 1000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Overview:
    """Everything the UI shows that is not a single memory's read or write."""

    def __init__(self, memories: MemoryService, min_messages: int, model_name: str, llm: dict[str, str]
                 ) -> None:
        self.memories = memories
        self.min_messages = min_messages
        self.model_name = model_name
        self.llm = llm

    @property
    def db(self) -> Any:
        return self.memories.db

    # --- counts ----------------------------------------------------------------------------------
    def stats(self, storage: bool = True) -> dict[str, Any]:
        """Memory counts by state, project and source, sessions by state and, measured, storage used."""
        with self.db.cursor() as cur:
            out = oq.stats(cur, self.min_messages)
            out["projects"] = len([p for p in out["by_project"] if p])
            if storage:
                out["storage"] = oq.storage(cur)
        return out

    def status(self) -> dict[str, Any]:
        """Server, database and model state, job times and session states. Never raises for a database
        that is down: that is what it reports."""
        embedder = self.memories.embedder
        model = {"name": self.model_name, "state": embedder.state}
        out: dict[str, Any] = {"version": __version__, "model": model, "llm": self.llm,
                               "database": {"reachable": False}, "last_import": None, "last_distill": None,
                               "last_behavior": None, "sessions": None, "memories": None}
        try:
            with self.db.cursor() as cur:
                times = oq.job_times(cur)
                sessions = oq.session_states(cur, self.min_messages)
                active = q.count(cur, Filters())
        except Unavailable as exc:
            out["database"]["error"] = str(exc)[:200]
            return out
        out["database"] = {"reachable": True}
        out.update({k: _iso(v) for k, v in times.items()})
        out["sessions"] = sessions
        out["memories"] = active
        return out

    def projects(self) -> dict[str, Any]:
        with self.db.cursor() as cur:
            rows = oq.projects(cur)
            active, deleted = oq.unassigned(cur)
        return {"projects": rows, "unassigned": {"memories": active, "deleted": deleted}}

    def timeline(self, project: Any = None, since: Any = None, before: Any = None, buckets: Any = None
                 ) -> dict[str, Any]:
        """Active memories per project per time bucket over [since, before) or the whole history."""
        n = bounded(buckets, "buckets", 100, 1, MAX_BUCKETS)
        flt = self.memories.filters(project, since, before)
        with self.db.cursor() as cur:
            lo, hi = oq.time_range(cur, flt)
            if lo is None or hi is None:
                return {"start": _iso(flt.since), "end": _iso(flt.before), "buckets": n, "bucket_seconds": 0.0,
                        "total": 0, "projects": []}
            start = flt.since or lo
            end = (flt.before - timedelta(microseconds=1)) if flt.before else hi
            if end <= start:
                end = start + timedelta(seconds=1)
            rows = oq.timeline(cur, flt, start, end, n)
        lanes: dict[str | None, list[int]] = {}
        for project_name, b, c in rows:
            lanes.setdefault(project_name, [0] * n)[b] += c
        ordered = sorted(lanes.items(), key=lambda kv: (-sum(kv[1]), kv[0] or ""))
        return {"start": start.isoformat(), "end": end.isoformat(), "buckets": n,
                "bucket_seconds": (end - start).total_seconds() / n,
                "total": sum(sum(c) for _, c in ordered),
                "projects": [{"project": p, "total": sum(c), "counts": c} for p, c in ordered]}

    # --- sessions --------------------------------------------------------------------------------
    def _session_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in row.items()}

    def sessions(self, project: Any = None, limit: Any = None, offset: Any = None) -> dict[str, Any]:
        lim = bounded(limit, "limit", 50, 1, MAX_PAGE)
        off = bounded(offset, "offset", 0, 0, 10_000_000)
        name = opt_name(project, "project")
        with self.db.cursor() as cur:
            total, rows = sq.list_sessions(cur, name, lim, off, self.min_messages, dq.MAX_FAILURES)
        return {"total": total, "limit": lim, "offset": off, "sessions": [self._session_row(r) for r in rows]}

    def session(self, session_id: Any) -> dict[str, Any]:
        sid = _session_id(session_id)
        with self.db.cursor() as cur:
            row = sq.get_session(cur, sid, self.min_messages, dq.MAX_FAILURES)
        if row is None:
            raise NotFound(f"no imported session with id {sid}")
        return self._session_row(row)

    def session_messages(self, session_id: Any, limit: Any = None, offset: Any = None, max_chars: Any = None
                         ) -> dict[str, Any]:
        """A page of the session's lossless archive, in conversation order, every kind included."""
        sid = self.session(session_id)["session_id"]
        lim = bounded(limit, "limit", 100, 1, MAX_PAGE)
        off = bounded(offset, "offset", 0, 0, 10_000_000)
        cut = bounded(max_chars, "max_chars", 20_000, 100, 1_000_000)
        with self.db.cursor() as cur:
            total, rows = sq.message_page(cur, sid, lim, off, cut)
        for r in rows:
            r["timestamp"] = _iso(r["timestamp"])
            r["truncated"] = r["length"] > len(r["text"])
        return {"session_id": sid, "total": total, "limit": lim, "offset": off, "messages": rows}

    def session_memories(self, session_id: Any, limit: Any = None, offset: Any = None) -> dict[str, Any]:
        """Every memory of the session, raw (active or superseded by distillation), distilled and learned."""
        sid = self.session(session_id)["session_id"]
        lim = bounded(limit, "limit", 50, 1, MAX_PAGE)
        off = bounded(offset, "offset", 0, 0, 10_000_000)
        flt = Filters(session_id=sid, status="any")
        with self.db.cursor() as cur:
            total, rows = q.list_page(cur, flt, lim, off, newest_first=False)
        return {"session_id": sid, "total": total, "limit": lim, "offset": off,
                "memories": rows}

    # --- one memory ------------------------------------------------------------------------------
    def related(self, memory_id: Any, limit: Any = None) -> dict[str, Any]:
        """Nearest active memories to this memory's stored vector (never re-embedded)."""
        row = self.memories.get(memory_id)
        lim = bounded(limit, "limit", 3, 1, 50)
        with self.db.cursor() as cur:
            scored = q.related(cur, row["id"], lim)
        rows = self.memories.get_many([i for i, _ in scored])
        return {"id": row["id"], "related": [
            {"id": i, "similarity": round(s, 4), "preview": preview(rows[i]["content"], 200),
             "project": rows[i]["project"], "tags": rows[i]["tags"], "created_at": rows[i]["created_at"]}
            for i, s in scored if i in rows]}


def _session_id(value: Any) -> str:
    sid = opt_name(value, "session_id", 200)
    if sid is None:
        raise InvalidInput("session_id must be a non-empty string")
    return sid
