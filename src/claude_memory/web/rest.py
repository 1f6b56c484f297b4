"""REST API handlers: each one parses (done by `endpoints`), calls a service, and shapes the reply.
The route table at the bottom is also what the OpenAPI document is generated from."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from starlette.routing import Route

from ..export import export_chunks
from ..importers.job import ImportOptions
from ..importers.job import run as run_import
from ..inputs import opt_name
from ..learning.context import resolve_project, startup_context
from ..learning.preferences import preferences
from ..runtime import Runtime
from . import schemas as s
from .endpoints import Call, Endpoint, Stream, openapi
from .endpoints import routes as starlette_routes

MAX_IMPORT_BYTES = 64 * 1024 * 1024  # larger exports: `claude-memory import --memories-json FILE`
IMPORT_LOCK_WAIT = 30.0


class Handlers:
    """The endpoint bodies, over one runtime's services."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.mem = rt.memories
        self.search = rt.searcher
        self.overview = rt.overview

    # --- server ----------------------------------------------------------------------------------
    def health(self, c: Call) -> Any:
        try:
            with self.rt.db.cursor() as cur:
                cur.execute("SELECT 1")
        except Exception as exc:  # any database failure means degraded, never a 500
            return {"status": "degraded", "database": "unreachable", "error": str(exc)[:200]}, 503
        return {"status": "ok", "model": "ready" if self.rt.embedder.ready else "loading"}

    def invalidate_cache(self, c: Call) -> Any:
        size = len(self.rt.cache)
        self.rt.cache.clear()
        return {"status": "ok", "cleared": size}

    def get_status(self, c: Call) -> Any:
        return self.overview.status()

    def get_stats(self, c: Call) -> Any:
        return self.overview.stats()

    def list_projects(self, c: Call) -> Any:
        return self.overview.projects()

    def list_tags(self, c: Call) -> Any:
        return self.mem.list_tags()

    def get_timeline(self, c: Call) -> Any:
        q = c.query
        return self.overview.timeline(q.project, q.since, q.before, q.buckets)

    # --- memories --------------------------------------------------------------------------------
    def list_memories(self, c: Call) -> Any:
        q = c.query
        return self.mem.list(q.limit, q.offset, q.tag, q.project, q.since, q.before, q.source, q.status,
                             max_limit=200)

    def bulk_delete(self, c: Call) -> Any:
        q = c.query
        return self.mem.bulk_delete(q.tag, q.project, q.source, q.dry_run, everything=q.all)

    def purge_trash(self, c: Call) -> Any:
        return self.mem.purge_trash(c.body.confirm)

    def create_memory(self, c: Call) -> Any:
        b = c.body
        result = self.mem.save(b.content, b.tags, b.source, b.project, b.force)
        return result, 201 if result.get("saved") else 200

    def get_memory(self, c: Call) -> Any:
        return self.mem.get(c.path.id)

    def update_memory(self, c: Call) -> Any:
        b = c.body
        return self.mem.update(c.path.id, b.content, b.tags, b.force)

    def delete_memory(self, c: Call) -> Any:
        return self.mem.delete(c.path.id)

    def restore_memory(self, c: Call) -> Any:
        return self.mem.restore(c.path.id)

    def purge_memory(self, c: Call) -> Any:
        return self.mem.purge(c.path.id)

    def related_memories(self, c: Call) -> Any:
        return self.overview.related(c.path.id, c.query.limit)

    # --- search ----------------------------------------------------------------------------------
    def recall(self, c: Call) -> Any:
        b = c.body
        return self.search.semantic(b.query, b.limit, b.threshold, b.project) | {"mode": "semantic"}

    def search_memories(self, c: Call) -> Any:
        b = c.body
        if b.mode == "semantic":
            out = self.search.semantic(b.query, b.limit, b.min_similarity, b.project, b.since, b.before)
        elif b.mode == "keyword":
            out = self.search.keyword(b.query, b.limit, b.project, b.since, b.before)
        else:
            out = self.search.hybrid(b.query, b.limit, b.keyword_weight, b.semantic_weight, b.project, b.since,
                                     b.before)
        return out | {"mode": b.mode}

    def find_duplicates(self, c: Call) -> Any:
        q = c.query
        return self.mem.find_duplicates(q.threshold, q.limit, q.project, q.scan_limit)

    # --- export / import -------------------------------------------------------------------------
    def export_memories(self, c: Call) -> Any:
        q = c.query
        chunks = export_chunks(self.mem, q.project, q.tag, q.since, q.before, q.format)
        if q.format == "json":
            return Stream(chunks, "application/json", "claude-memory-export.json")
        return Stream(chunks, "text/markdown; charset=utf-8", "claude-memory-export.md")

    def import_export(self, c: Call) -> Any:
        """The uploaded export goes through the same import job as `claude-memory import --memories-json`."""
        assert c.raw is not None
        fd, name = tempfile.mkstemp(prefix="claude-memory-import-", suffix=".json")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(c.raw)
            summary = run_import(self.rt.db, self.mem, ImportOptions(), memories_json=path,
                                 lock_wait=IMPORT_LOCK_WAIT)
        finally:
            path.unlink(missing_ok=True)
        d = summary.as_dict()
        d["errors"] = [e.replace(str(path), "upload") for e in d["errors"]]
        return d

    # --- sessions --------------------------------------------------------------------------------
    def list_sessions(self, c: Call) -> Any:
        q = c.query
        return self.overview.sessions(q.project, q.limit, q.offset)

    def get_session(self, c: Call) -> Any:
        return self.overview.session(c.path.session_id)

    def session_messages(self, c: Call) -> Any:
        q = c.query
        return self.overview.session_messages(c.path.session_id, q.limit, q.offset, q.max_chars)

    def session_memories(self, c: Call) -> Any:
        q = c.query
        return self.overview.session_memories(c.path.session_id, q.limit, q.offset)

    # --- learning --------------------------------------------------------------------------------
    def get_context(self, c: Call) -> Any:
        given = opt_name(c.query.project, "project")
        budget = self.rt.settings.startup_context_bytes
        text = startup_context(self.mem, given, budget)
        return {"project": given, "resolved_project": resolve_project(self.mem, given), "context": text,
                "bytes": len(text.encode("utf-8")), "budget": budget}

    def get_preferences(self, c: Call) -> Any:
        given = opt_name(c.query.project, "project")
        return preferences(self.mem, resolve_project(self.mem, given))


def endpoints(h: Handlers) -> list[Endpoint]:
    """Every REST route (and /health, /cache/invalidate) with its models."""
    E = Endpoint
    mid = s.MemoryPath
    sid = s.SessionPath
    return [
        E("GET", "/health", h.health, "Liveness and database reachability", "server", s.Health,
          description="Open without a token. 503 when the database is unreachable."),
        E("POST", "/cache/invalidate", h.invalidate_cache, "Clear the search cache", "server", s.Cleared),
        E("GET", "/api/status", h.get_status, "Server, database and model state, job times", "server",
          s.ServerStatus),
        E("GET", "/api/stats", h.get_stats, "Counts and measured storage", "overview", s.Stats),
        E("GET", "/api/projects", h.list_projects, "Projects with memory and session counts", "overview",
          s.Projects),
        E("GET", "/api/tags", h.list_tags, "Tags of active memories with counts", "overview", s.TagCounts),
        E("GET", "/api/timeline", h.get_timeline, "Memories per project per time bucket", "overview",
          s.Timeline, query=s.TimelineQuery),
        E("GET", "/api/memories", h.list_memories, "A page of memories, newest first", "memories",
          s.MemoryPage, query=s.ListQuery),
        E("DELETE", "/api/memories", h.bulk_delete, "Bulk soft delete (dry run unless dry_run=false)",
          "memories", s.BulkDeleteResult, query=s.BulkDeleteQuery),
        E("POST", "/api/memories", h.create_memory, "Save a memory behind the write guard", "memories",
          s.SaveResult, body=s.CreateMemory, status=201,
          description="201 when saved; 200 with status noop or duplicate when the guard refused it."),
        E("GET", "/api/memories/{id}", h.get_memory, "One memory", "memories", s.Memory, path_model=mid),
        E("PATCH", "/api/memories/{id}", h.update_memory, "Change content and/or tags", "memories",
          s.UpdateResult, path_model=mid, body=s.UpdateMemory, errors=(409,)),
        E("DELETE", "/api/memories/{id}", h.delete_memory, "Soft delete", "memories", s.DeleteResult,
          path_model=mid),
        E("POST", "/api/memories/{id}/restore", h.restore_memory, "Undo a soft delete", "memories",
          s.RestoreResult, path_model=mid),
        E("POST", "/api/memories/{id}/purge", h.purge_memory, "Permanently delete a soft-deleted memory",
          "memories", s.PurgeResult, path_model=mid, errors=(409,)),
        E("POST", "/api/trash/purge", h.purge_trash, "Permanently delete every soft-deleted memory", "memories",
          s.TrashPurged, body=s.PurgeTrash),
        E("GET", "/api/memories/{id}/related", h.related_memories, "Nearest memories to its stored vector",
          "memories", s.Related, path_model=mid, query=s.RelatedQuery),
        E("POST", "/api/recall", h.recall, "Semantic search above a similarity threshold", "search",
          s.SearchResults, body=s.Recall),
        E("POST", "/api/search", h.search_memories, "Search: semantic, keyword (BM25) or hybrid", "search",
          s.SearchResults, body=s.Search),
        E("GET", "/api/duplicates", h.find_duplicates, "Near-duplicate pairs", "memories", s.Duplicates,
          query=s.DuplicatesQuery),
        E("GET", "/api/export", h.export_memories, "Download an export (streamed)", "export", None,
          query=s.ExportQuery, media={"application/json": s.ExportDocument, "text/markdown": None}),
        E("POST", "/api/import", h.import_export, "Import an export file", "export", s.ImportResult,
          raw_body=MAX_IMPORT_BYTES, errors=(409,), media={"request": s.ExportDocument},
          description=f"At most {MAX_IMPORT_BYTES // (1024 * 1024)} MB; larger files:"
                      " `claude-memory import --memories-json FILE`."),
        E("GET", "/api/sessions", h.list_sessions, "Imported sessions, newest first", "sessions",
          s.SessionPage, query=s.SessionsQuery),
        E("GET", "/api/sessions/{session_id}", h.get_session, "One imported session", "sessions", s.Session,
          path_model=sid),
        E("GET", "/api/sessions/{session_id}/messages", h.session_messages,
          "A session's archived transcript, in order", "sessions", s.MessagePage, path_model=sid,
          query=s.MessagesQuery),
        E("GET", "/api/sessions/{session_id}/memories", h.session_memories, "The memories of a session",
          "sessions", s.SessionMemories, path_model=sid, query=s.Page),
        E("GET", "/api/context", h.get_context, "Exactly what startup_context and the SessionStart hook give",
          "learning", s.Context, query=s.ProjectQuery),
        E("GET", "/api/preferences", h.get_preferences, "Preferences in three tiers", "learning",
          s.Preferences, query=s.ProjectQuery),
    ]


def _table(h: Handlers, doc: dict[str, Any]) -> list[Endpoint]:
    def openapi_document(c: Call) -> Any:
        return doc

    return endpoints(h) + [Endpoint("GET", "/api/openapi.json", openapi_document, "This OpenAPI 3.1 document",
                                    "server", s.OpenAPIDocument)]


def document() -> dict[str, Any]:
    """The OpenAPI document, built without a runtime (`claude-memory openapi`, the UI's generated types)."""
    doc: dict[str, Any] = {}
    doc.update(openapi(_table(Handlers.__new__(Handlers), doc)))
    return doc


def routes(rt: Runtime) -> list[Route]:
    """Starlette routes for every endpoint, including the OpenAPI document generated from them."""
    doc: dict[str, Any] = {}
    table = _table(Handlers(rt), doc)
    doc.update(openapi(table))
    return starlette_routes(table)
